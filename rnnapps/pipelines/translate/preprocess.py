"""The translation preprocessor: source and target tokenizers, the training examples they make of sentence
pairs, and the in-graph mapping that the SavedModel runs (raw source strings -> source ids, generated ids ->
translations). Training and serving both read the source through `source_tokenizer.tokenize`, so a source
sentence is the same ids in both. The two lengths come from the recipe, which resolves what data.max_length
means: `TranslateRecipe.max_source_length` truncates what is translated, `TranslateRecipe.max_pair_length`
(data.max_pair_length, or data.max_length for 0) drops long training pairs."""

from __future__ import annotations

import logging
import pathlib
from typing import Any

import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps import decoding, tokenizers
from rnnapps.pipelines import base
from rnnapps.pipelines.translate import data
from rnnapps.pipelines.translate import recipe as recipes

log = logging.getLogger(__name__)


class TranslatePreprocessor(base.Preprocessor):
    """Tokenizers of both sides and the two lengths of a translation recipe.

    With `shared_tokenizer` one tokenizer serves both sides; it is still stored under both names ("source"
    and "target"), as bundles have always held it.

    Args:
        source_tokenizer, target_tokenizer: the two sides' tokenizers (may be one object).
        max_source_length: source tokens kept when translating (longer inputs are truncated); keyword-only,
            like max_pair_length, so the two ints cannot be swapped. `TranslateRecipe.max_source_length`.
        max_pair_length: training pairs with a longer source, or a target (+ END) longer than this, are dropped.
            `TranslateRecipe.max_pair_length`.
    """

    metadata: dict[str, Any] = {}

    def __init__(self, source_tokenizer: tokenizers.Tokenizer, target_tokenizer: tokenizers.Tokenizer, *,
                 max_source_length: int, max_pair_length: int):
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_length = max_source_length
        self.max_pair_length = max_pair_length
        self.tokenizers = {"source": source_tokenizer, "target": target_tokenizer}

    @classmethod
    def fit(cls, recipe: recipes.TranslateRecipe, splits: data.TranslationSplits,
            run_dir: pathlib.Path) -> TranslatePreprocessor:
        """Fit both tokenizers on the training pairs (one on both sides' text with shared_tokenizer), or load
        them from the recipe's tokenizer paths or an interrupted run in `run_dir`."""
        if recipe.shared_tokenizer:
            source_tokenizer = target_tokenizer = tokenizers.fitted_tokenizer(
                recipe.source_tokenizer, splits.train.sources + splits.train.targets,
                run_dir / "tokenizers" / "shared")
        else:
            source_tokenizer = tokenizers.fitted_tokenizer(recipe.source_tokenizer, splits.train.sources,
                                                     run_dir / "tokenizers" / "source")
            target_tokenizer = tokenizers.fitted_tokenizer(recipe.target_tokenizer, splits.train.targets,
                                                     run_dir / "tokenizers" / "target")
        return cls.from_tokenizers(recipe, source_tokenizer, target_tokenizer)

    @classmethod
    def from_bundle(cls, recipe: recipes.TranslateRecipe, loaded: bundles.Bundle) -> TranslatePreprocessor:
        return cls.from_tokenizers(recipe, loaded.tokenizers["source"], loaded.tokenizers["target"])

    @classmethod
    def from_tokenizers(cls, recipe: recipes.TranslateRecipe, source_tokenizer: tokenizers.Tokenizer,
                        target_tokenizer: tokenizers.Tokenizer) -> TranslatePreprocessor:
        """The preprocessor of `recipe` around tokenizers fitted or loaded elsewhere."""
        return cls(source_tokenizer, target_tokenizer, max_source_length=recipe.max_source_length,
                   max_pair_length=recipe.max_pair_length)

    # ------------------------------------------------------------------ training

    def training_examples(self, pairs: data.SentencePairs) -> tuple[tf.RaggedTensor, tf.RaggedTensor,
                                                                     tf.RaggedTensor, int]:
        """Token ids for teacher forcing, dropping pairs that are too long (see `max_pair_length`) or empty.

        Args:
            pairs: sentence pairs (a training or validation split).

        Returns:
            (source ids, START + target ids, target ids + END), int32 ragged [kept, (tokens)] each, and the
            number of pairs dropped.
        """
        source = self.source_tokenizer.tokenize(tf.constant(pairs.sources, tf.string))
        target = self.target_tokenizer.tokenize(tf.constant(pairs.targets, tf.string))
        source_lengths, target_lengths = source.row_lengths(), target.row_lengths()
        longest = self.max_pair_length
        # `target < longest`: the decoder reads START + target and predicts target + END, one token more.
        keep = (source_lengths > 0) & (source_lengths <= longest) & (target_lengths > 0) & (target_lengths < longest)
        source, target = tf.ragged.boolean_mask(source, keep), tf.ragged.boolean_mask(target, keep)
        rows = target.nrows()
        start = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tokenizers.START_ID))
        end = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tokenizers.END_ID))
        dropped = len(pairs) - int(tf.reduce_sum(tf.cast(keep, tf.int32)))
        return source, tf.concat([start, target], axis=1), tf.concat([target, end], axis=1), dropped

    # ------------------------------------------------------------------ serving (in graph)

    def encode_sources(self, text: tf.Tensor) -> tf.Tensor:
        """Raw source strings [batch] -> int32 ids [batch, time <= max_source_length], right-padded with PAD."""
        return tokenizers.encode_batch(self.source_tokenizer, text, self.max_source_length)

    def translations(self, decoded: decoding.Decoded, with_attention: bool = False) -> dict[str, tf.Tensor]:
        """A decoding result -> the serving outputs.

        Args:
            decoded: `rnnapps.decoding.decode`'s result for a batch.
            with_attention: also return the ids and the attention weights.

        Returns:
            {"translation": string [batch], "score": float32 [batch]} and, with attention,
            {"ids": int32 [batch, max_output_length], "attention": float32 [batch, max_output_length, source]}.
        """
        return decoded.outputs("translation", self.target_tokenizer.detokenize(decoded.ids), with_attention)

    # ------------------------------------------------------------------ eager helpers (plots)

    def source_tokens(self, text: str) -> list[str]:
        """The source tokens the model reads for one sentence (truncated like `encode_sources`)."""
        ids = self.source_tokenizer.tokenize_python(text)[0][: self.max_source_length]
        return self.source_tokenizer.id_to_token(ids)

    def target_tokens(self, ids: list[int]) -> list[str]:
        """Readable target tokens of generated ids, padding left out."""
        return self.target_tokenizer.id_to_token([i for i in ids if i != tokenizers.PAD_ID])
