"""The captioning preprocessor: the caption tokenizer, captions -> training targets, image bytes -> pixels
(in graph, for serving), the frozen encoder whose features a cached run trains on, and ids -> caption text."""

from __future__ import annotations

import pathlib

import numpy as np
import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps import tokenizers
from rnnapps.datasets import images
from rnnapps.errors import UserError
from rnnapps.layers import image_encoder
from rnnapps.pipelines import base
from rnnapps.pipelines.caption import data, features
from rnnapps.pipelines.caption import model as caption_model
from rnnapps.pipelines.caption import recipe as caption_recipe

TOKENIZER = "caption"  # the tokenizer's name in the bundle


class CaptionPreprocessor(base.Preprocessor):
    """Raw captioning input -> model inputs, and generated ids -> captions.

    Args:
        tokenizer: the caption tokenizer.
        image_size: side images are resized to.
        max_caption_length: training captions of this many tokens or more are left out
            (`data.max_caption_length`).
        feature_encoder: with cached features (a frozen encoder), the encoder that computes them; the
            pipeline puts it in front of the decoder trained on them. None otherwise, and in a loaded bundle,
            whose model holds its encoder.
    """

    def __init__(self, tokenizer: tokenizers.Tokenizer, image_size: int, max_caption_length: int,
                 feature_encoder: image_encoder.ImageEncoder | None = None):
        self.tokenizer = tokenizer
        self.tokenizers = {TOKENIZER: tokenizer}
        self.metadata = {}
        self.image_size = image_size
        self.max_caption_length = max_caption_length
        self.feature_encoder = feature_encoder

    @classmethod
    def fit(cls, recipe: caption_recipe.CaptionRecipe, splits: data.CaptionSplits,
            run_dir: pathlib.Path) -> CaptionPreprocessor:
        """Fit the word tokenizer on the training captions (or reload it); with cached features, also build
        the frozen image encoder that computes them."""
        tokenizer = tokenizers.fitted_tokenizer(recipe.tokenizer, splits.train.pairs()[1], run_dir / "tokenizer")
        # Built right after the tokenizer, as before: a randomly initialised backbone then draws the same
        # weights in a resumed run, and the cached features (keyed by its settings) still match it.
        encoder = caption_model.build_encoder(recipe) if recipe.cached else None
        return cls(tokenizer, recipe.encoder.image_size, recipe.data.max_caption_length, encoder)

    @classmethod
    def from_bundle(cls, recipe: caption_recipe.CaptionRecipe, loaded: bundles.Bundle) -> CaptionPreprocessor:
        return cls(loaded.tokenizers[TOKENIZER], recipe.encoder.image_size, recipe.data.max_caption_length)

    # ------------------------------------------------------------------ training

    def training_targets(self, captions: list[str], split: str) -> tuple[np.ndarray, tf.RaggedTensor,
                                                                          tf.RaggedTensor]:
        """Teacher-forcing pairs of the captions that train: the decoder reads START + ids and predicts
        ids + END. Empty captions and captions of `max_caption_length` tokens or more are left out.

        Args:
            captions: one caption per (image, caption) pair.
            split: the split's name, for the error.

        Returns:
            (kept: bool [pairs], decoder inputs int32 ragged [kept, tokens + 1], targets likewise).

        Raises:
            UserError: no caption of the split is left.
        """
        ids = self.tokenizer.tokenize(tf.constant(captions, tf.string))
        lengths = ids.row_lengths()
        kept = ((lengths > 0) & (lengths < self.max_caption_length)).numpy()
        ids = tf.ragged.boolean_mask(ids, kept)
        if not kept.any():
            raise UserError(f"no {split} captions are left; raise data.max_caption_length "
                            f"(now {self.max_caption_length}) or check the data")
        rows = ids.nrows()
        start = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tokenizers.START_ID))
        end = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tokenizers.END_ID))
        return kept, tf.concat([start, ids], axis=1), tf.concat([ids, end], axis=1)

    # ------------------------------------------------------------------ use

    def load_pixels(self, sources: list[str | bytes], names: list[str] | None = None) -> np.ndarray:
        """Image paths or bytes -> float32 [count, size, size, 3] in [0, 1], checked one by one in Python
        (a bad image is a `UserError` naming it); the same pixels as `decode_images`."""
        return features.load_pixels(sources, self.image_size, names)

    def decode_images(self, image_bytes: tf.Tensor) -> tf.Tensor:
        """Encoded images string [batch] -> float32 [batch, size, size, 3] in [0, 1], in graph; an empty
        string (no image: its caption is "") gives black pixels instead of a decoding error."""
        size = self.image_size

        def decode(encoded):
            return tf.cond(tf.strings.length(encoded) > 0, lambda: images.decode_and_resize(encoded, size),
                           lambda: tf.zeros([size, size, 3], tf.float32))

        return tf.map_fn(decode, image_bytes, fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32))

    def captions(self, ids: tf.Tensor) -> tf.Tensor:
        """Generated ids int32 [batch, length] (END and PAD dropped) -> caption strings [batch], in graph."""
        return self.tokenizer.detokenize(ids)

    def words(self, ids: list[int]) -> list[str]:
        """One generated caption's ids (PAD dropped) -> its tokens, END shown as "<end>"."""
        ids = [i for i in ids if i != tokenizers.PAD_ID]
        return [token if i != tokenizers.END_ID else "<end>" for i, token in zip(ids, self.tokenizer.id_to_token(ids))]
