"""Character tokenizer: every Unicode character (spaces and newlines included) is a token."""

from __future__ import annotations

import collections
import json
import pathlib
from typing import Any, Iterable, Iterator

import tensorflow as tf

from rnnapps.tokenizers import base

VOCABULARY_FILE = "vocabulary.json"
# Fitting cuts long texts (a whole book) into pieces and counts a batch of pieces per tf call:
# tf ops on one huge string are slow, and a Python loop per character is slower still.
_FIT_PIECE_CHARS = 1024
_FIT_BATCH = 1024


@base.register
class CharTokenizer(base.Tokenizer):
    """Unicode characters as tokens, for character-level language models.

    Normalisation (in graph, the same at fit and at inference): invalid UTF-8 replaced by U+FFFD,
    optional Unicode lowercasing. Characters outside the vocabulary map to `base.UNK_ID`.

    Example:
        >>> tokenizer = CharTokenizer(["<pad>", "<unk>", "<s>", "</s>", "a", "b"])
        >>> tokenizer.tokenize_python("abc")
        [[4, 5, 1]]
    """

    kind = "char"

    def __init__(self, vocabulary: list[str], lowercase: bool = False, name: str | None = None):
        """Args:
            vocabulary: tokens, position = id; must start with `base.RESERVED_TOKENS`.
            lowercase: fold case before lookup.
        """
        super().__init__(name=name)
        if tuple(vocabulary[: len(base.RESERVED_TOKENS)]) != base.RESERVED_TOKENS:
            raise ValueError(f"a vocabulary must start with {base.RESERVED_TOKENS}")
        self.vocabulary = list(vocabulary)
        self.lowercase = lowercase
        self._table = base.vocabulary_table(self.vocabulary, "char_to_id")
        self._tokens = tf.constant(self.vocabulary, dtype=tf.string)

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Normalise and split strings into characters.

        Args:
            texts: string tensor [batch].

        Returns:
            string ragged tensor [batch, (characters)], one UTF-8 character per element.
        """
        texts = base.sanitize_utf8(texts)
        if self.lowercase:
            texts = tf.strings.lower(texts, encoding="utf-8")
        return tf.strings.unicode_split(texts, "UTF-8")

    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        characters = self.split(texts)
        return tf.cast(tf.ragged.map_flat_values(self._table.lookup, characters), tf.int32)

    def detokenize(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
        ids = base.strip_special_ids(ids)
        characters = tf.ragged.map_flat_values(tf.gather, self._tokens, ids)
        return tf.strings.reduce_join(characters, axis=-1)

    def id_to_token(self, ids: Iterable[int]) -> list[str]:
        return [self.vocabulary[i] if 0 <= i < len(self.vocabulary) else "<unk>" for i in ids]

    @classmethod
    def fit(cls, texts: Iterable[str], config: Any) -> "CharTokenizer":
        splitter = cls(list(base.RESERVED_TOKENS), lowercase=config.lowercase)
        counts: collections.Counter[bytes] = collections.Counter()
        for batch in _batches(_pieces(texts), _FIT_BATCH):
            characters, _, batch_counts = tf.unique_with_counts(splitter.split(tf.constant(batch)).flat_values)
            counts.update(dict(zip(characters.numpy(), batch_counts.numpy().tolist())))
        decoded = {character.decode("utf-8"): count for character, count in counts.items()}
        vocabulary = base.counted_vocabulary(decoded, config.vocab_size, config.min_frequency)
        return cls(vocabulary, lowercase=config.lowercase)

    def _settings(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase}

    def _save_assets(self, directory: pathlib.Path) -> None:
        # JSON, not one token per line: the vocabulary holds "\n" and " ".
        (directory / VOCABULARY_FILE).write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def _from_assets(cls, directory: pathlib.Path, settings: dict[str, Any]) -> "CharTokenizer":
        vocabulary = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        return cls(vocabulary, **settings)


def _pieces(texts: Iterable[str]) -> Iterator[str]:
    """Cut each text into slices of at most `_FIT_PIECE_CHARS` characters (counts are unchanged)."""
    for text in texts:
        for start in range(0, len(text), _FIT_PIECE_CHARS):
            yield text[start : start + _FIT_PIECE_CHARS]


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Group `items` into lists of `size` (the last one shorter)."""
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
