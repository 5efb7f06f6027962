"""Tokenizers with an explicit vocabulary (char, abc, word): split text into token strings, look them up.

Subclasses define how text is split (`split`) and how token strings are joined back (`join`); fitting,
lookup, saving and loading are shared here.
"""

from __future__ import annotations

import collections
import json
import pathlib
from collections.abc import Iterable
from typing import Any

import tensorflow as tf

from rnnapps.tokenizers import base

VOCABULARY_FILE = "vocabulary.json"
_FIT_BATCH = 1024


class VocabularyTokenizer(base.Tokenizer):
    """Token strings <-> ids through a fixed vocabulary; unknown tokens map to `base.UNK_ID`.

    Args:
        vocabulary: tokens, position = id; must start with `base.RESERVED_TOKENS`.
        lowercase: fold case (Unicode-aware) before splitting.
    """

    def __init__(self, vocabulary: list[str], lowercase: bool = False, name: str | None = None):
        super().__init__(name=name)
        if tuple(vocabulary[: len(base.RESERVED_TOKENS)]) != base.RESERVED_TOKENS:
            raise ValueError(f"a vocabulary must start with {base.RESERVED_TOKENS}")
        self.vocabulary = list(vocabulary)
        self.lowercase = lowercase
        self._table = base.vocabulary_table(self.vocabulary, f"{self.kind}_to_id")
        self._tokens = tf.constant(self.vocabulary, dtype=tf.string)

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Normalise and split strings into token strings.

        Args:
            texts: string tensor [batch].

        Returns:
            string ragged tensor [batch, (tokens)].
        """
        raise NotImplementedError

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        """Join token strings [batch, (tokens)] back into strings [batch]."""
        raise NotImplementedError

    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return tf.cast(tf.ragged.map_flat_values(self._table.lookup, self.split(texts)), tf.int32)

    def detokenize(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
        ids = base.strip_special_ids(ids)
        return self.join(tf.ragged.map_flat_values(tf.gather, self._tokens, ids))

    def id_to_token(self, ids: Iterable[int]) -> list[str]:
        return [self.vocabulary[i] if 0 <= i < len(self.vocabulary) else "<unk>" for i in ids]

    @classmethod
    def fit_texts(cls, texts: Iterable[str]) -> Iterable[str]:
        """The strings counted when fitting; subclasses may cut long texts into pieces."""
        return texts

    @classmethod
    def fit(cls, texts: Iterable[str], config: Any) -> VocabularyTokenizer:
        # Splitting a batch per tf call keeps normalisation identical to inference and avoids a
        # Python loop per token.
        splitter = cls(list(base.RESERVED_TOKENS), lowercase=config.lowercase)
        counts: collections.Counter[bytes] = collections.Counter()
        for batch in base.batched(cls.fit_texts(texts), _FIT_BATCH):
            tokens, _, batch_counts = tf.unique_with_counts(splitter.split(tf.constant(batch)).flat_values)
            counts.update(dict(zip(tokens.numpy(), batch_counts.numpy().tolist())))
        decoded = {token.decode("utf-8"): count for token, count in counts.items()}
        return cls(base.counted_vocabulary(decoded, config.vocab_size, config.min_frequency),
                   lowercase=config.lowercase)

    def _settings(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase}

    def _save_assets(self, directory: pathlib.Path) -> None:
        # JSON, not one token per line: a character vocabulary holds "\n" and " ".
        (directory / VOCABULARY_FILE).write_text(json.dumps(list(self.vocabulary), ensure_ascii=False),
                                                 encoding="utf-8")

    @classmethod
    def _from_assets(cls, directory: pathlib.Path, settings: dict[str, Any]) -> VocabularyTokenizer:
        vocabulary = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        return cls(vocabulary, **settings)
