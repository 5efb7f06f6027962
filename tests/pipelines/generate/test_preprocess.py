"""The generation preprocessor: characters <-> ids (a round trip), prompts as the serving module reads them
(an empty prompt replaced, the end of a long one kept), training and validation windows, fitting once per run
directory, and the bundle's tokenizer name."""

import types

import numpy as np
import pytest
import tensorflow as tf

from rnnapps import sections, tokenizers
from rnnapps.datasets import text_corpus
from rnnapps.pipelines.generate import data, preprocess
from rnnapps.pipelines.generate import recipe as recipes

TEXT = "ROMEO:\nwhere is my house?\n\nNURSE:\ni see thee.\n" * 5


@pytest.fixture
def preprocessor():
    tokenizer = tokenizers.fit([TEXT], sections.TokenizerConfig(kind="char", vocab_size=1000, lowercase=False))
    return preprocess.GeneratePreprocessor(tokenizer)


def test_text_round_trip(preprocessor):
    ids = preprocessor.encode_text(TEXT)
    assert ids.dtype == np.int32 and ids.shape == (len(TEXT),)  # one id per character
    assert (ids >= len(tokenizers.RESERVED_TOKENS)).all()
    assert preprocessor.decode(tf.constant(ids[None, :])).numpy()[0].decode("utf-8") == TEXT
    assert preprocessor.encode_text("").shape == (0,)
    long = "abc" * 5000  # several pieces of 4096 characters join exactly
    assert preprocessor.encode_text(long).tolist() == preprocess.encode_text(preprocessor.tokenizer, long).tolist()
    assert len(preprocessor.encode_text(long)) == 15000
    assert preprocessor.unknown_tokens(["ROMEO", "☃x"]) == ["x", "☃"]


def test_prompts_as_the_serving_module_reads_them(preprocessor):
    assert preprocessor.empty_prompt == "\n"  # the text has line breaks: an empty prompt starts a fresh line
    ids = preprocessor.encode_prompts(tf.constant(["", "ROMEO:"])).numpy()
    assert ids.shape == (2, 6) and ids.dtype == np.int32
    assert ids[0].tolist() == [preprocessor.encode_text("\n")[0], 0, 0, 0, 0, 0]
    assert ids[1].tolist() == preprocessor.encode_text("ROMEO:").tolist()
    short = preprocess.GeneratePreprocessor(preprocessor.tokenizer, max_prompt_length=3)
    assert short.encode_prompts(tf.constant(["ROMEO:"])).numpy()[0].tolist() == preprocessor.encode_text("EO:").tolist()


def test_empty_prompt_without_line_breaks():
    tokenizer = tokenizers.fit(["aab"], sections.TokenizerConfig(kind="char", vocab_size=1000, lowercase=False))
    assert preprocess.empty_prompt(tokenizer) == "a"  # the most common character


def test_windows_for_training_and_validation(preprocessor):
    ids = preprocessor.encode_text(TEXT)
    model = recipes.LanguageModelConfig(sequence_length=8)
    validation = list(preprocessor.batches(ids, model, 4, training=False, seed=0))
    inputs, targets = validation[0]
    assert inputs.shape == (4, 8) and inputs.dtype == tf.int32
    np.testing.assert_array_equal(inputs.numpy()[0], ids[:8])
    np.testing.assert_array_equal(targets.numpy()[0], ids[1:9])
    assert sum(len(x) for x, _ in validation) == (len(ids) - 1) // 8
    shuffled = [x.numpy() for x, _ in preprocessor.batches(ids, model, 4, training=True, seed=0)]
    assert sum(len(x) for x in shuffled) == (len(ids) - 1) // 8
    streams = list(preprocessor.batches(ids, recipes.LanguageModelConfig(sequence_length=8, stateful=True), 4,
                                        training=True, seed=0))
    per_stream = (len(ids) - 1) // 4
    np.testing.assert_array_equal(streams[1][0].numpy()[1], ids[per_stream + 8:per_stream + 16])  # row 1 goes on


def test_fit_once_per_run_directory_and_the_bundle_name(tmp_path):
    recipe = recipes.GenerateRecipe()
    splits = data.TextSplits(text_corpus.Corpus(train=TEXT, validation="xyz", origin="test"))
    fitted = preprocess.GeneratePreprocessor.fit(recipe, splits, tmp_path)
    assert (tmp_path / "tokenizer" / "tokenizer.json").is_file()
    assert "x" not in fitted.tokenizer.id_to_token(range(fitted.vocab_size))  # the training text only
    assert list(fitted.tokenizers) == ["text"] and fitted.metadata == {}
    other = data.TextSplits(text_corpus.Corpus(train="completely different", validation="", origin="test"))
    resumed = preprocess.GeneratePreprocessor.fit(recipe, other, tmp_path)  # an interrupted run keeps its vocabulary
    assert resumed.tokenizer.id_to_token(range(resumed.vocab_size)) == fitted.tokenizer.id_to_token(
        range(fitted.vocab_size))
    loaded = preprocess.GeneratePreprocessor.from_bundle(recipe, types.SimpleNamespace(tokenizers=fitted.tokenizers))
    assert loaded.tokenizer is fitted.tokenizer and loaded.empty_prompt == "\n"
