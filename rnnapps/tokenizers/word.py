"""Word tokenizer: normalise, split punctuation off, split on whitespace, look words up."""

from __future__ import annotations

import collections
import json
import pathlib
from typing import Any, Iterable

import tensorflow as tf

from rnnapps.tokenizers import base

VOCABULARY_FILE = "vocabulary.json"
_FIT_BATCH = 2048


@base.register
class WordTokenizer(base.Tokenizer):
    """Words and punctuation marks as tokens.

    Normalisation (in graph, the same at fit and at inference): invalid UTF-8 replaced, HTML line
    breaks turned into spaces, optional Unicode lowercasing, every character that is neither a
    letter, a digit, whitespace nor an apostrophe becomes a token of its own.

    Example:
        >>> tokenizer = WordTokenizer(["<pad>", "<unk>", "<s>", "</s>", "good", "!"])
        >>> tokenizer.tokenize_python("Good!")
        [[4, 5]]
    """

    kind = "word"

    def __init__(self, vocabulary: list[str], lowercase: bool = True, name: str | None = None):
        """Args:
            vocabulary: tokens, position = id; must start with `base.RESERVED_TOKENS`.
            lowercase: fold case before lookup.
        """
        super().__init__(name=name)
        if tuple(vocabulary[: len(base.RESERVED_TOKENS)]) != base.RESERVED_TOKENS:
            raise ValueError(f"a vocabulary must start with {base.RESERVED_TOKENS}")
        self.vocabulary = list(vocabulary)
        self.lowercase = lowercase
        self._table = base.vocabulary_table(self.vocabulary, "word_to_id")
        self._tokens = tf.constant(self.vocabulary, dtype=tf.string)

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Normalise and split strings into word strings.

        Args:
            texts: string tensor [batch].

        Returns:
            string ragged tensor [batch, (words)].
        """
        texts = base.sanitize_utf8(texts)
        texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
        if self.lowercase:
            texts = tf.strings.lower(texts, encoding="utf-8")
        texts = tf.strings.regex_replace(texts, r"([^\pL\pN\s'])", r" \1 ")
        return tf.strings.split(texts)

    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        words = self.split(texts)
        return tf.cast(tf.ragged.map_flat_values(self._table.lookup, words), tf.int32)

    def detokenize(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
        ids = base.strip_special_ids(ids)
        words = tf.ragged.map_flat_values(tf.gather, self._tokens, ids)
        text = tf.strings.reduce_join(words, axis=-1, separator=" ")
        # Undo the space the splitter put before closing punctuation.
        return tf.strings.regex_replace(text, r" ([.,!?;:)\]}])", r"\1")

    def id_to_token(self, ids: Iterable[int]) -> list[str]:
        return [self.vocabulary[i] if 0 <= i < len(self.vocabulary) else "<unk>" for i in ids]

    @classmethod
    def fit(cls, texts: Iterable[str], config: Any) -> "WordTokenizer":
        splitter = cls(list(base.RESERVED_TOKENS), lowercase=config.lowercase)
        counts: collections.Counter[str] = collections.Counter()
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) == _FIT_BATCH:
                counts.update(splitter.split(tf.constant(batch)).flat_values.numpy())
                batch = []
        if batch:
            counts.update(splitter.split(tf.constant(batch)).flat_values.numpy())
        decoded = {word.decode("utf-8"): count for word, count in counts.items()}
        vocabulary = base.counted_vocabulary(decoded, config.vocab_size, config.min_frequency)
        return cls(vocabulary, lowercase=config.lowercase)

    def _settings(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase}

    def _save_assets(self, directory: pathlib.Path) -> None:
        (directory / VOCABULARY_FILE).write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def _from_assets(cls, directory: pathlib.Path, settings: dict[str, Any]) -> "WordTokenizer":
        vocabulary = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        return cls(vocabulary, **settings)
