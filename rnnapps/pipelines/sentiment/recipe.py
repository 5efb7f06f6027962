"""The sentiment recipe: data, tokenizer, embedding, the recurrent `[encoder]`, the classifier `[head]` and
training. No section was renamed when the tasks became packages, so there are no `renamed_keys`."""

from __future__ import annotations

import dataclasses
from typing import Literal

from rnnapps import sections
from rnnapps.errors import UserError
from rnnapps.pipelines.sentiment import data
from rnnapps.pretraining import config as pretraining


@dataclasses.dataclass(frozen=True)
class ClassifierHeadConfig(sections.Section):
    """How the recurrent outputs become class probabilities (the `[head]` section).

    Attributes:
        pooling: "last" (final state), "max", "mean", "max_mean" or "attention" over all steps.
        hidden_units: a ReLU layer before the softmax (0 = none).
        dropout_rate: dropout before the output layer(s).
    """

    pooling: Literal["last", "max", "mean", "max_mean", "attention"] = "max"
    hidden_units: int = 0
    dropout_rate: float = 0.3

    def validate(self, name: str) -> None:
        sections.check_range(sections.WHERE, f"{name}.hidden_units", self.hidden_units, 0)
        sections.check_dropout(sections.WHERE, f"{name}.dropout_rate", self.dropout_rate)


@dataclasses.dataclass(frozen=True)
class AdversarialConfig(sections.Section):
    """Adversarial training on the embedded words (the `[adversarial]` section; `rnnapps.adversarial`).

    Attributes:
        epsilon: how far each training review's embedded words are moved (L2 norm over the whole review)
            in the direction that raises its loss most; the step trains on the clean and the moved review.
            0 = off. A step makes two passes (1.4-1.5x the time on IMDB on a 2-core CPU). TensorFlow and
            JAX backends.
    """

    epsilon: float = 0.0

    def validate(self, name: str) -> None:
        sections.check_range(sections.WHERE, f"{name}.epsilon", self.epsilon, 0)


@dataclasses.dataclass(frozen=True)
class SentimentRecipe:
    """A sentiment recipe: data, tokenizer, embedding, encoder, head, training and (optional) pretraining
    sections."""

    task: str = "sentiment"
    seed: int = 42
    data: data.TextClassificationDataConfig = dataclasses.field(default_factory=data.TextClassificationDataConfig)
    tokenizer: sections.TokenizerConfig = dataclasses.field(default_factory=sections.TokenizerConfig)
    embedding: sections.EmbeddingConfig = dataclasses.field(default_factory=sections.EmbeddingConfig)
    encoder: sections.RecurrentConfig = dataclasses.field(default_factory=sections.RecurrentConfig)
    head: ClassifierHeadConfig = dataclasses.field(default_factory=ClassifierHeadConfig)
    training: sections.TrainingConfig = dataclasses.field(default_factory=sections.TrainingConfig)
    pretraining: pretraining.PretrainingConfig = dataclasses.field(default_factory=pretraining.PretrainingConfig)
    adversarial: AdversarialConfig = dataclasses.field(default_factory=AdversarialConfig)

    def validate(self) -> None:
        """Raise `UserError` for data settings out of range or sections that contradict each other (each section
        checks its own ranges: `rnnapps.sections`)."""
        where = sections.WHERE
        sections.check_range(where, "data.max_length", self.data.max_length, 1)
        sections.check_range(where, "data.validation_fraction", self.data.validation_fraction, 0, 0.9)
        sections.check_range(where, "data.test_fraction", self.data.test_fraction, 0, 0.9)
        if self.pretraining.enabled:
            for key, value in (("tokenizer.path", self.tokenizer.path),
                               ("embedding.pretrained_path", self.embedding.pretrained_path)):
                if value:
                    raise UserError(f"{where}: {key} = {value!r} and [pretraining] both say where the model starts; "
                                    "the pretrained encoder brings its own tokenizer and embedding: clear one of them")
