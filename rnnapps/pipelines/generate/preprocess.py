"""The generation preprocessor: the tokenizer ("text" in the bundle: characters, or the musical tokens of ABC
notation), text -> ids for the training windows and for scoring, prompts -> ids in graph (the serving module's
input), ids -> text."""

from __future__ import annotations

import logging
import pathlib

import numpy as np
import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps import tokenizers
from rnnapps.datasets import batching
from rnnapps.pipelines import base
from rnnapps.pipelines.generate import data
from rnnapps.pipelines.generate import recipe as recipes

log = logging.getLogger(__name__)

MAX_PROMPT_LENGTH = 20_000  # prompt characters read (the end of a longer prompt)
_ENCODE_PIECE = 4096  # characters tokenized per piece: string ops on one huge string are slow


def encode_text(tokenizer: tokenizers.Tokenizer, text: str) -> np.ndarray:
    """Token ids of a whole text as one int32 array [tokens] (tokenized in pieces cut after line breaks,
    which no token spans, so the pieces join exactly)."""
    pieces = list(tokenizers.pieces_at_line_breaks(text, _ENCODE_PIECE))
    if not pieces:
        return np.zeros((0,), np.int32)
    return tokenizer.tokenize(tf.constant(pieces)).flat_values.numpy().astype(np.int32)


def empty_prompt(tokenizer: tokenizers.Tokenizer) -> str:
    """What an empty prompt is read as: a line break if the text has them (a fresh line), otherwise its most
    common character."""
    vocabulary = tokenizer.tokens()
    if "\n" in vocabulary:
        return "\n"
    return vocabulary[len(tokenizers.RESERVED_TOKENS)] if tokenizer.vocab_size > len(tokenizers.RESERVED_TOKENS) \
        else " "


class GeneratePreprocessor(base.Preprocessor):
    """Text <-> ids for the language model, the same in training, scoring and the SavedModel.

    Args:
        tokenizer: the character or ABC tokenizer fitted on the training text.
        max_prompt_length: prompt tokens read (the end of a longer prompt).

    Example:
        preprocessor = GeneratePreprocessor(tokenizer)
        ids = preprocessor.encode_text("ROMEO:\\n")               # int32 [7]
        prompt_ids = preprocessor.encode_prompts(tf.constant(["", "ROMEO:"]))  # int32 [2, 6]
    """

    def __init__(self, tokenizer: tokenizers.Tokenizer, max_prompt_length: int = MAX_PROMPT_LENGTH):
        self.tokenizer = tokenizer
        self.max_prompt_length = max_prompt_length
        self.empty_prompt = empty_prompt(tokenizer)

    @property
    def tokenizers(self) -> dict[str, tokenizers.Tokenizer]:
        """{"text": the tokenizer}, as stored in the bundle."""
        return {"text": self.tokenizer}

    @property
    def unit(self) -> str:
        """What a token is, for messages: "characters" or "tokens" (musical ones)."""
        return "characters" if self.tokenizer.kind == "char" else "tokens"

    @property
    def vocab_size(self) -> int:
        """Token ids the model scores (reserved ids included)."""
        return self.tokenizer.vocab_size

    @classmethod
    def fit(cls, recipe: recipes.GenerateRecipe, splits: data.TextSplits, run_dir: pathlib.Path
            ) -> GeneratePreprocessor:
        """The vocabulary of the training text (or the recipe's / an interrupted run's)."""
        tokenizer = tokenizers.fitted_tokenizer(recipe.tokenizer, [splits.train], run_dir / "tokenizer")
        preprocessor = cls(tokenizer)
        log.info("vocabulary: %d %s (reserved ids included)", tokenizer.vocab_size, preprocessor.unit)
        return preprocessor

    @classmethod
    def from_bundle(cls, recipe: recipes.GenerateRecipe, loaded: bundles.Bundle) -> GeneratePreprocessor:
        return cls(loaded.tokenizers["text"])

    # ------------------------------------------------------------------ training and scoring

    def encode_text(self, text: str) -> np.ndarray:
        """A whole text -> int32 ids [tokens] (unseen characters or tokens read as unknown)."""
        return encode_text(self.tokenizer, text)

    def batches(self, ids: np.ndarray, config: recipes.LanguageModelConfig, batch_size: int, *, training: bool,
                seed: int) -> tf.data.Dataset:
        """(inputs, next-token targets) batches, each int32 [batch, config.sequence_length], cut from a stream.

        Args:
            ids: int array [tokens], a whole text (see `encode_text`).
            config: the recipe's model section (window length; stateful training).
            batch_size: windows (stateful: contiguous streams) per batch.
            training: training batches (shuffled windows at random offsets, or contiguous streams when
                stateful) rather than validation batches (fixed windows in order).
            seed: shuffle and offset seed.
        """
        if training and config.stateful:
            return batching.contiguous_streams(ids, config.sequence_length, batch_size)
        return batching.language_model_windows(ids, config.sequence_length, batch_size, shuffle=training, seed=seed)

    # ------------------------------------------------------------------ serving (in graph)

    def encode_prompts(self, prompts: tf.Tensor) -> tf.Tensor:
        """Prompts -> the ids the model reads before sampling: an empty prompt is read as `empty_prompt` (the
        model needs one token to start from) and a long prompt keeps its last `max_prompt_length` tokens.

        Args:
            prompts: string [batch].

        Returns:
            int32 [batch, time], right-padded with PAD_ID; every row holds at least one token.
        """
        read = tf.where(tf.strings.length(prompts) > 0, prompts, self.empty_prompt)
        return tokenizers.encode_batch(self.tokenizer, read, self.max_prompt_length, keep="end")

    def decode(self, ids: tf.Tensor) -> tf.Tensor:
        """Generated ids int32 [batch, time] -> string [batch]."""
        return self.tokenizer.detokenize(ids)

    def token_lengths(self, text: str | None = None) -> np.ndarray:
        """Characters each token stands for: of `text`, int64 [tokens] aligned with `encode_text(text)` (unknown
        tokens with their own length); without a text, of each id, int64 [vocab_size] (1 for the reserved ids)."""
        if text is not None:
            pieces = list(tokenizers.pieces_at_line_breaks(text, _ENCODE_PIECE)) or [""]
            split = self.tokenizer.split(tf.constant(pieces)).flat_values
            return tf.strings.length(split, unit="UTF8_CHAR").numpy().astype(np.int64)
        tokens = self.tokenizer.tokens()
        reserved = len(tokenizers.RESERVED_TOKENS)
        return np.array([1 if index < reserved else len(token) for index, token in enumerate(tokens)], np.int64)

    def unknown_tokens(self, prompts: list[str]) -> list[str]:
        """The tokens (characters, for a character model) of `prompts` that the vocabulary lacks (read as
        unknown), sorted."""
        known = set(self.tokenizer.tokens())
        found = self.tokenizer.split(tokenizers.as_string_tensor(prompts)).flat_values.numpy() if prompts else []
        return sorted({token.decode("utf-8") for token in found} - known)
