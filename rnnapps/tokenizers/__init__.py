"""Shared tokenizers: char, word and SentencePiece subword, in graph, with reserved ids.

Kinds: "char" (`char.CharTokenizer`, Unicode characters), "word" (`word.WordTokenizer`, words and
punctuation), "subword" (`subword.SubwordTokenizer`, SentencePiece unigram or BPE) and "abc"
(`abc_notation.AbcTokenizer`, musical tokens of ABC notation: notes with their lengths, bar lines, fields).

Use `fit(texts, config)` to fit the kind a recipe names and `load(directory)` to load a saved one;
`fitted_tokenizer(config, texts, directory)` is a training run's: the recipe's, the run's own, or fitted.
"""

# Importing a kind's module registers it.
from rnnapps.tokenizers import abc_notation, char, subword, word  # noqa: F401
from rnnapps.tokenizers.base import (  # noqa: F401
    END_ID,
    PAD_ID,
    RESERVED_TOKENS,
    START_ID,
    UNK_ID,
    Tokenizer,
    as_string_tensor,
    encode_batch,
    fit,
    fitted_tokenizer,
    load,
    pieces_at_line_breaks,
    token_texts,
)
