"""Word tokenizer: normalise, split punctuation off, split on whitespace, look words up."""

from __future__ import annotations

import tensorflow as tf

from rnnapps.tokenizers import base, vocabulary


@base.register
class WordTokenizer(vocabulary.VocabularyTokenizer):
    """Words and punctuation marks as tokens.

    Normalisation (in graph, the same at fit and at inference): invalid UTF-8 replaced, HTML line
    breaks turned into spaces, optional Unicode lowercasing, every character that is neither a
    letter, a digit, whitespace nor an apostrophe becomes a token of its own.

    Args:
        vocabulary: tokens, position = id; must start with `base.RESERVED_TOKENS`.
        lowercase: fold case before lookup (default True).

    Example:
        >>> tokenizer = WordTokenizer(["<pad>", "<unk>", "<s>", "</s>", "good", "!"])
        >>> tokenizer.tokenize_python("Good!")
        [[4, 5]]
    """

    kind = "word"

    def __init__(self, vocabulary: list[str], lowercase: bool = True, name: str | None = None):
        super().__init__(vocabulary, lowercase=lowercase, name=name)

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        texts = base.sanitize_utf8(texts)
        texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
        if self.lowercase:
            texts = tf.strings.lower(texts, encoding="utf-8")
        texts = tf.strings.regex_replace(texts, r"([^\pL\pN\s'])", r" \1 ")
        return tf.strings.split(texts)

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        # Undo the space the splitter put before closing punctuation.
        return tf.strings.regex_replace(text, r" ([.,!?;:)\]}])", r"\1")
