"""ABC tokenizer: music in ABC notation read as musical tokens, as folk-rnn reads it (Sturm et al. 2016).

A token is one musical thing: a field line ("M:6/8", "K:D"), an inline field ("[M:3/4]"), a note or rest
with its accidental, octave marks and length ("^c'2", "z/"), a bar line or repeat ("|", "|:", ":|2", "|]"),
a numbered ending ("[2"), a tuplet ("(3"), a decoration ("!trill!"), broken rhythm (">"), a chord symbol
('"Em"'); every other character (spaces, line breaks, brackets, ties, "~") is a token of its own. Tokens
cover the text exactly, so detokenizing joins them back without separators.

A note and its length are one token, so a model counts a bar's time in a few tokens (a reel's bar is 8 notes,
about 10 tokens, where it is 12-20 characters). The pattern is plain RE2 syntax that Python's `re` reads the
same way (`PATTERN`), so the Python measures count the tokens the SavedModel reads.
"""

from __future__ import annotations

import re

import tensorflow as tf

from rnnapps.tokenizers import base, char

_ALTERNATIVES = (
    r"^[A-Za-z]:[^\n]*",                       # a field line: M:6/8, K:Dm
    r"\[[A-Za-z]:[^\]\n]*\]",                  # an inline field: [M:3/4]
    r"::|:*\[?\|+\]?:*(?:\d+(?:[,-]\d+)*)?",   # bar lines and repeats: | || |] [| |: :| :: :|2
    r"\[\d+(?:[,-]\d+)*",                      # a numbered ending standing alone: [1 [2,3
    r"![^!\n]*!|\+[^+\n]*\+",                  # decorations: !trill! +fermata+
    r"\([2-9](?::\d*)?(?::\d*)?",              # tuplets: (3 (3:2:3
    r"[_^=]*[A-Ga-gzx][',]*\d*/*\d*",          # a note or rest with its length: ^c'2 z/ B3/2
    r"Z\d*",                                   # whole-measure rests
    r"[<>]+",                                  # broken rhythm
    r'"[^"\n]*"',                              # a chord symbol or annotation
    r"(?s:.)",                                 # any other character, line breaks included
)
PATTERN = "(?m)" + "|".join(_ALTERNATIVES)
_PYTHON_PATTERN = re.compile(PATTERN, re.ASCII)  # \d as RE2 reads it: ASCII digits only
_SEPARATOR = "\x1f"  # put before every token in graph, then split on; removed from the input first


def abc_tokens(text: str) -> list[str]:
    """The tokens of `text` as the tokenizer splits it (in Python, for measures and tests)."""
    return _PYTHON_PATTERN.findall(text.replace(_SEPARATOR, ""))


@base.register
class AbcTokenizer(char.CharTokenizer):
    """Musical tokens of ABC notation (see the module docstring), for tune models: the character tokenizer with
    musical tokens in place of characters (the same normalisation, joining and fitting).

    Normalisation (in graph): invalid UTF-8 replaced by U+FFFD, optional lowercasing (leave it off: case is
    pitch in ABC). Tokens outside the vocabulary (a note length never seen in training) map to `base.UNK_ID`.

    Args:
        vocabulary: tokens, position = id; must start with `base.RESERVED_TOKENS`.
        lowercase: fold case before splitting (default False).

    Example:
        >>> tokenizer = AbcTokenizer(["<pad>", "<unk>", "<s>", "</s>", "A2", "|", "B/"])
        >>> tokenizer.tokenize_python("A2B/|")
        [[4, 6, 5]]
    """

    kind = "abc"

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        texts = tf.strings.regex_replace(self.normalise(texts), _SEPARATOR, "")
        marked = tf.strings.regex_replace(texts, PATTERN, _SEPARATOR + r"\0")
        pieces = tf.strings.split(marked, sep=_SEPARATOR)
        return tf.ragged.boolean_mask(pieces, tf.strings.length(pieces) > 0)  # the empty piece before the first
