"""The sentiment recipe: data, tokenizer, embedding, the recurrent `[encoder]`, the classifier `[head]` and
training. No section was renamed when the tasks became packages, so there are no `renamed_keys`."""

from __future__ import annotations

import dataclasses
from typing import Literal

from rnnapps import config as recipes
from rnnapps.errors import UserError
from rnnapps.pipelines.sentiment import data
from rnnapps.pretraining import config as pretraining


@dataclasses.dataclass(frozen=True)
class ClassifierHeadConfig:
    """How the recurrent outputs become class probabilities (the `[head]` section).

    Attributes:
        pooling: "last" (final state), "max", "mean", "max_mean" or "attention" over all steps.
        hidden_units: a ReLU layer before the softmax (0 = none).
        dropout_rate: dropout before the output layer(s).
    """

    pooling: Literal["last", "max", "mean", "max_mean", "attention"] = "max"
    hidden_units: int = 0
    dropout_rate: float = 0.3


@dataclasses.dataclass(frozen=True)
class AdversarialConfig:
    """Adversarial training on the embedded words (the `[adversarial]` section; `rnnapps.adversarial`).

    Attributes:
        epsilon: how far each training review's embedded words are moved (L2 norm over the whole review)
            in the direction that raises its loss most; the step trains on the clean and the moved review.
            0 = off. A step makes two passes (1.4-1.5x the time on IMDB on a 2-core CPU). TensorFlow and
            JAX backends.
    """

    epsilon: float = 0.0


@dataclasses.dataclass(frozen=True)
class SentimentRecipe:
    """A sentiment recipe: data, tokenizer, embedding, encoder, head, training and (optional) pretraining
    sections."""

    task: str = "sentiment"
    seed: int = 42
    data: data.TextClassificationDataConfig = dataclasses.field(default_factory=data.TextClassificationDataConfig)
    tokenizer: recipes.TokenizerConfig = dataclasses.field(default_factory=recipes.TokenizerConfig)
    embedding: recipes.EmbeddingConfig = dataclasses.field(default_factory=recipes.EmbeddingConfig)
    encoder: recipes.RecurrentConfig = dataclasses.field(default_factory=recipes.RecurrentConfig)
    head: ClassifierHeadConfig = dataclasses.field(default_factory=ClassifierHeadConfig)
    training: recipes.TrainingConfig = dataclasses.field(default_factory=recipes.TrainingConfig)
    pretraining: pretraining.PretrainingConfig = dataclasses.field(default_factory=pretraining.PretrainingConfig)
    adversarial: AdversarialConfig = dataclasses.field(default_factory=AdversarialConfig)

    def validate(self) -> None:
        """Raise `UserError` for values out of range."""
        where = "recipe"
        recipes.check_range(where, "data.max_length", self.data.max_length, 1)
        recipes.check_range(where, "data.validation_fraction", self.data.validation_fraction, 0, 0.9)
        recipes.check_range(where, "data.test_fraction", self.data.test_fraction, 0, 0.9)
        recipes.check_range(where, "tokenizer.vocab_size", self.tokenizer.vocab_size, 5)
        recipes.check_range(where, "embedding.dim", self.embedding.dim, 1)
        recipes.check_range(where, "encoder.units", self.encoder.units, 1)
        recipes.check_range(where, "encoder.num_layers", self.encoder.num_layers, 1, 16)
        for key in ("embedding.dropout_rate", "encoder.dropout_rate", "encoder.recurrent_dropout_rate",
                    "head.dropout_rate"):
            section, name = key.split(".")
            recipes.check_range(where, key, getattr(getattr(self, section), name), 0, 0.95)
        recipes.check_range(where, "training.epochs", self.training.epochs, 1)
        recipes.check_range(where, "training.batch_size", self.training.batch_size, 1)
        recipes.check_range(where, "training.learning_rate", self.training.learning_rate, 1e-8, 10)
        recipes.check_range(where, "adversarial.epsilon", self.adversarial.epsilon, 0)
        self.pretraining.validate(where)
        if self.pretraining.enabled:
            for key, value in (("tokenizer.path", self.tokenizer.path),
                               ("embedding.pretrained_path", self.embedding.pretrained_path)):
                if value:
                    raise UserError(f"{where}: {key} = {value!r} and [pretraining] both say where the model starts; "
                                    "the pretrained encoder brings its own tokenizer and embedding: clear one of them")
