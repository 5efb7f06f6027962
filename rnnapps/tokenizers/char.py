"""Character tokenizer: every Unicode character (spaces and newlines included) is a token."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import tensorflow as tf

from rnnapps.tokenizers import base, vocabulary

# Fitting cuts long texts (a whole book) into pieces: tf ops on one huge string are slow.
_FIT_PIECE_CHARS = 1024


@base.register
class CharTokenizer(vocabulary.VocabularyTokenizer):
    """Unicode characters as tokens, for character-level language models.

    Normalisation (in graph, the same at fit and at inference): invalid UTF-8 replaced by U+FFFD,
    optional Unicode lowercasing. Characters outside the vocabulary map to `base.UNK_ID`.

    Args:
        vocabulary: tokens, position = id; must start with `base.RESERVED_TOKENS`.
        lowercase: fold case before lookup (default False: character models usually keep case).

    Example:
        >>> tokenizer = CharTokenizer(["<pad>", "<unk>", "<s>", "</s>", "a", "b"])
        >>> tokenizer.tokenize_python("abc")
        [[4, 5, 1]]
    """

    kind = "char"

    def normalise(self, texts: tf.Tensor) -> tf.Tensor:
        """Strings [batch] as they are split: invalid UTF-8 replaced, lowercased if the tokenizer folds case."""
        texts = base.sanitize_utf8(texts)
        return tf.strings.lower(texts, encoding="utf-8") if self.lowercase else texts

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return tf.strings.unicode_split(self.normalise(texts), "UTF-8")

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        return tf.strings.reduce_join(tokens, axis=-1)

    @classmethod
    def fit_texts(cls, texts: Iterable[str]) -> Iterator[str]:
        for text in texts:
            yield from base.pieces_at_line_breaks(text, _FIT_PIECE_CHARS)
