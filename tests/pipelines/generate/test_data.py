"""The generation data: the demo play (`source = "demo"`) and every other source through the shared text-corpus
reader, split by position, and the splits the Task contract sees."""

import hashlib
import itertools

import pytest

from rnnapps.datasets import text_corpus
from rnnapps.errors import UserError
from rnnapps.pipelines.generate import data, demo_data, recipe


def read(source, **settings):
    return data.read_corpus(recipe.TextDataConfig(source=str(source), **settings))


def whole(corpus):
    return corpus.train + corpus.validation


# --------------------------------------------------------------------------- sources


def test_demo_source_is_the_play_script():
    corpus = read("demo", demo_characters=5000, demo_seed=3)
    assert whole(corpus) == demo_data.play_script(5000, seed=3)
    assert (len(corpus.train), len(corpus.validation)) == (4500, 500)
    assert corpus.origin == "the demo play (5,000 characters)"
    assert whole(read("demo")) == demo_data.play_script()
    with pytest.raises(UserError) as error:
        read("demo", demo_characters=0)
    assert str(error.value) == "data.demo_characters = 0: expected a positive length"
    with pytest.raises(UserError) as error:  # the shared checks come first, as before
        read("demo", demo_characters=0, validation_fraction=0.7)
    assert str(error.value) == "data.validation_fraction = 0.7: expected a share in [0, 0.5]"


def test_other_sources_go_to_the_shared_reader(tmp_path):
    path = tmp_path / "input.txt"
    path.write_text("abcdefghij" * 10, encoding="utf-8")
    corpus = read(path, demo_characters=0)  # the demo settings do not matter for a file
    assert corpus == text_corpus.read_corpus(text_corpus.TextCorpusConfig(source=str(path)))
    assert (corpus.train, corpus.validation, corpus.origin) == ("abcdefghij" * 9, "abcdefghij",
                                                                "input.txt (100 characters)")


# --------------------------------------------------------------------------- the demo play


def test_play_script_is_deterministic_and_exactly_as_long():
    play = demo_data.play_script()
    # Recipes and published demo numbers depend on this exact text.
    assert hashlib.sha256(play.encode("utf-8")).hexdigest() == (
        "dd9ab268eb5326e214337efc77a797e72506a8875463baad7a3c8763c26d6180")
    assert play == demo_data.play_script(60000, seed=0)
    assert demo_data.play_script(3000, seed=1) == demo_data.play_script(3000, seed=1)
    assert demo_data.play_script(3000, seed=1) != demo_data.play_script(3000, seed=2)
    assert [len(demo_data.play_script(n, seed=5)) for n in (0, 1, 77, 12345)] == [0, 1, 77, 12345]
    assert demo_data.play_script(500, seed=5) == demo_data.play_script(12345, seed=5)[:500]  # cut at the end
    with pytest.raises(UserError):
        demo_data.play_script(-1)


def test_play_script_layout_and_alphabet():
    play = demo_data.play_script()
    blocks = play.split("\n\n")[:-1]  # the last block is cut off
    assert len(blocks) > 400
    speakers = []
    for block in blocks:
        name, *speech = block.split("\n")
        assert name.endswith(":") and name[:-1].isalpha() and name.isupper(), block
        assert 1 <= len(speech) <= 3, block
        for line in speech:
            assert line and line == line.lower() and line[-1] in ".!?", block
        speakers.append(name[:-1])
    assert set(speakers) == {"ROMEO", "JULIET", "NURSE", "KING", "QUEEN", "FOOL"}
    assert all(a != b for a, b in itertools.pairwise(speakers))  # turns alternate
    assert len(set(play)) < 50  # a small alphabet
    words = play.lower().split()
    assert len(set(words)) < 200 and len(words) > 10000  # few words, each repeated often


# --------------------------------------------------------------------------- splits


def test_splits_are_the_corpus_parts():
    corpus = text_corpus.Corpus(train="abcdefgh", validation="ij", origin="x")
    splits = data.TextSplits(corpus)
    assert (splits.train, splits.validation, splits.test) == ("abcdefgh", "ij", "")
    assert len(splits.validation) == 2


def test_a_validation_text_too_short_to_score_is_no_validation_split():
    # One character predicts nothing: training skips the score (as it always did) instead of failing on it.
    splits = data.TextSplits(text_corpus.Corpus(train="abcdefgh", validation="i", origin="x"))
    assert splits.validation == "" and splits.corpus.validation == "i"
