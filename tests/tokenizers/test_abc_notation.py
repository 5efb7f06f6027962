"""AbcTokenizer: musical tokens of ABC notation, the same in graph as in Python, exact round trips, and fitted
vocabularies that save and load."""

import pytest
import tensorflow as tf

from rnnapps import sections, tokenizers
from rnnapps.pipelines.generate import demo_data
from rnnapps.tokenizers import abc_notation

TUNE = ('M:6/8\nL:1/8\nR:jig\nK:D\n|:A|d2B AFA|"G"B>cd (3efg ^c\'2|[1 [CEG]2 z/ !trill!e :|2 {ga}f3|]\n'
        "[M:3/4] =F,4 Z2 ::\n")


def fit(texts, **settings):
    return tokenizers.fit(texts, sections.TokenizerConfig(kind="abc", lowercase=False, **settings))


def test_a_token_is_one_musical_thing():
    assert abc_notation.abc_tokens(TUNE) == [
        "M:6/8", "\n", "L:1/8", "\n", "R:jig", "\n", "K:D", "\n",
        "|:", "A", "|", "d2", "B", " ", "A", "F", "A", "|", '"G"', "B", ">", "c", "d", " ", "(3", "e", "f", "g",
        " ", "^c'2", "|", "[1", " ", "[", "C", "E", "G", "]", "2", " ", "z/", " ", "!trill!", "e", " ", ":|2", " ",
        "{", "g", "a", "}", "f3", "|]", "\n",
        "[M:3/4]", " ", "=F,4", " ", "Z2", " ", "::", "\n"]


def test_the_graph_splits_as_python_does_and_joins_back_exactly():
    tokenizer = abc_notation.AbcTokenizer(list(tokenizers.RESERVED_TOKENS))
    texts = [TUNE, demo_data.toy_tunes(3000, seed=1), "", "plain words, not music\n\nK:", "A\u0663 B2"]
    split = tokenizer.split(tf.constant(texts)).to_list()
    assert [[token.decode() for token in row] for row in split] == [abc_notation.abc_tokens(t) for t in texts]
    fitted = fit(texts)
    assert fitted.detokenize_python(fitted.tokenize_python(texts)) == texts


def test_the_separator_the_graph_uses_cannot_come_from_the_input():
    tokenizer = fit(["A2B|"])
    assert tokenizer.detokenize_python(tokenizer.tokenize_python("A2\x1fB|")) == ["A2B|"]


def test_a_fitted_vocabulary_counts_tokens_and_reads_unseen_ones_as_unknown(tmp_path):
    tokenizer = fit(["A2B|A2B|c4|\n"])
    assert tokenizer.vocabulary[4:] == ["|", "A2", "B", "\n", "c4"]  # most frequent first, ties in code point order
    assert tokenizer.tokenize_python("A2B3|") == [[5, 1, 4]]
    tokenizer.save(tmp_path)
    loaded = tokenizers.load(tmp_path)
    assert isinstance(loaded, abc_notation.AbcTokenizer) and loaded.vocabulary == tokenizer.vocabulary


@pytest.mark.parametrize("size", [5, 97, 99, 100, 1000])
def test_pieces_for_long_texts_end_after_a_line_break_so_no_token_is_cut(size):
    text = "M:6/8\n" + "d2B AFA|" * 40 + "\n" + "K:D\n" * 30 + "A2B"
    pieces = list(tokenizers.pieces_at_line_breaks(text, size))
    assert "".join(pieces) == text and all(piece.endswith("\n") for piece in pieces[:-1])
    assert all(len(piece) <= size or piece.count("\n") <= 1 for piece in pieces)  # longer: one whole line
    assert [t for piece in pieces for t in abc_notation.abc_tokens(piece)] == abc_notation.abc_tokens(text)


@pytest.mark.parametrize("kind", ["char", "abc"])
def test_a_recipe_may_name_the_kind(kind):
    assert sections.TokenizerConfig(kind=kind).kind == kind
