"""The sentiment preprocessor: the text tokenizer ("text" in the bundle) and the label names (metadata
"label_names"); texts -> truncated ids for the training batches and in the SavedModel, probabilities -> labels."""

from __future__ import annotations

import logging
import pathlib
from typing import Any

import numpy as np
import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps import sections, tokenizers
from rnnapps.datasets import batching
from rnnapps.errors import UserError
from rnnapps.pipelines import base
from rnnapps.pipelines.sentiment import data
from rnnapps.pipelines.sentiment import recipe as recipes
from rnnapps.pretraining import pretrain

log = logging.getLogger(__name__)


class SentimentPreprocessor(base.Preprocessor):
    """Texts <-> model inputs and outputs, the same in training, scoring and the SavedModel: a text keeps
    `max_length` tokens, from its start or its end (`truncation`), wherever it is read.

    Args:
        tokenizer: the tokenizer fitted on the training texts.
        label_names: class names, position = class id.
        max_length: tokens kept per text (the recipe's data.max_length).
        truncation: keep the "start" or the "end" of a longer text (data.truncation).

    Example:
        preprocessor = SentimentPreprocessor(tokenizer, ["neg", "pos"], max_length=400, truncation="end")
        ids = preprocessor.encode_batch(tf.constant(["great film!", ""]))  # int32 [2, time]
        outputs = preprocessor.decode(model(ids))                          # {"label": [b"pos", b"neg"], ...}
    """

    def __init__(self, tokenizer: tokenizers.Tokenizer, label_names: list[str], max_length: int, truncation: str):
        self.tokenizer = tokenizer
        self.label_names = list(label_names)
        self.max_length = max_length
        self.truncation = truncation

    @property
    def tokenizers(self) -> dict[str, tokenizers.Tokenizer]:
        """{"text": the tokenizer}, as stored in the bundle."""
        return {"text": self.tokenizer}

    @property
    def metadata(self) -> dict[str, Any]:
        """{"label_names": [...]}, as stored in the bundle's metadata."""
        return {"label_names": list(self.label_names)}

    @property
    def vocab_size(self) -> int:
        """Token ids the embedding reads (reserved ids included)."""
        return self.tokenizer.vocab_size

    @property
    def num_classes(self) -> int:
        """Labels the classifier scores."""
        return len(self.label_names)

    @classmethod
    def fit(cls, recipe: recipes.SentimentRecipe, splits: data.ClassificationSplits, run_dir: pathlib.Path
            ) -> SentimentPreprocessor:
        """The tokenizer fitted on the training texts (or the recipe's / an interrupted run's / the pretrained
        encoder's, pretraining it first in run_dir/pretraining when the recipe asks) and the label names the
        data reader settled on."""
        if recipe.pretraining.enabled:
            # A model started from a pretrained encoder reads with the tokenizer it was pretrained with.
            tokenizer = pretrain.pretrained_encoder(recipe, splits.train.texts, run_dir / pretrain.RUN_FOLDER).tokenizer
        else:
            tokenizer = tokenizers.fitted_tokenizer(recipe.tokenizer, splits.train.texts, run_dir / "tokenizer")
        return cls(tokenizer, splits.label_names, recipe.data.max_length, recipe.data.truncation)

    @classmethod
    def from_bundle(cls, recipe: recipes.SentimentRecipe, loaded: bundles.Bundle) -> SentimentPreprocessor:
        return cls(loaded.tokenizers["text"], loaded.metadata["label_names"], recipe.data.max_length,
                   recipe.data.truncation)

    # ------------------------------------------------------------------ training

    def encode_texts(self, texts: list[str]) -> tf.RaggedTensor:
        """Texts -> truncated token ids, int32 ragged [texts, (tokens)] (unpadded, for length bucketing)."""
        return batching.truncate(self.tokenizer.tokenize(tf.constant(texts, tf.string)), self.max_length,
                                 self.truncation)

    def label_ids(self, labels: list[str]) -> np.ndarray:
        """Label names -> class ids, int32 [labels].

        Raises:
            UserError: a label is not one of `label_names` (only evaluation data can have one: the training
                data's labels are checked when it is read).
        """
        index = {name: i for i, name in enumerate(self.label_names)}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise UserError(f"the evaluation data has label {unknown[0]!r}; this model knows {self.label_names}")
        return np.asarray([index[label] for label in labels], dtype=np.int32)

    def batches(self, examples: data.LabelledTexts, config: sections.TrainingConfig, *, shuffle: bool,
                seed: int) -> tf.data.Dataset:
        """(ids int32 [batch, time], class ids int32 [batch]) batches, right-padded with PAD_ID.

        Args:
            examples: labelled texts (labels among `label_names`).
            config: the recipe's training section (batch size, bucketing, shuffle buffer).
            shuffle: reshuffle every epoch (training batches).
            seed: shuffle seed.
        """
        return batching.recipe_batches(self.encode_texts(examples.texts), self.label_ids(examples.labels), config,
                                       shuffle=shuffle, seed=seed)

    # ------------------------------------------------------------------ serving (in graph)

    def encode_batch(self, texts: tf.Tensor) -> tf.Tensor:
        """Raw strings [batch] -> int32 ids [batch, time], truncated as in training, right-padded with PAD_ID
        (time >= 1 even when every text is empty)."""
        return tokenizers.encode_batch(self.tokenizer, texts, self.max_length, self.truncation)

    def decode(self, probabilities: tf.Tensor) -> dict[str, tf.Tensor]:
        """Class probabilities float32 [batch, classes] -> the serving outputs.

        Returns:
            {"label": string [batch], "probability": float32 [batch] (of that label),
             "probabilities": float32 [batch, classes], "label_id": int32 [batch]}.
        """
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {
            "label": tf.gather(tf.constant(self.label_names, dtype=tf.string), label_id),
            "probability": tf.reduce_max(probabilities, axis=-1),
            "probabilities": probabilities,
            "label_id": label_id,
        }
