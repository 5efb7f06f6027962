"""The translation preprocessor: tokenizers fitted per side (or one shared), training examples with the drop
rule of data.max_pair_length (and the training plan's error naming the field in force when it leaves no pair),
source encoding truncated at data.max_length, and decoded ids back to text."""

import types

import numpy as np
import pytest
import tensorflow as tf

from rnnapps import config, decoding, tokenizers
from rnnapps.errors import UserError
from rnnapps.pipelines.translate import data, pipeline, preprocess
from rnnapps.pipelines.translate import recipe as recipes

PAIRS = data.SentencePairs(["a b c", "a b c d", "b c", "", "c"], ["x y", "x y z", "y", "x", ""])


def fitted(tmp_path, *overrides):
    recipe = config.load_recipe(recipes.TranslateRecipe, None, [
        'source_tokenizer.kind="word"', 'target_tokenizer.kind="word"', *overrides])
    splits = data.TranslationSplits(PAIRS, data.SentencePairs([], []), data.SentencePairs([], []))
    return recipe, preprocess.TranslatePreprocessor.fit(recipe, splits, tmp_path)


def test_one_tokenizer_per_side_or_one_shared(tmp_path):
    _, separate = fitted(tmp_path / "separate")
    assert set(separate.tokenizers) == {"source", "target"} and separate.metadata == {}
    assert separate.source_tokenizer.tokenize_python("x")[0] == [tokenizers.UNK_ID]
    assert (tmp_path / "separate" / "tokenizers" / "source" / "tokenizer.json").is_file()
    _, shared = fitted(tmp_path / "shared", "shared_tokenizer=true")
    assert shared.tokenizers["source"] is shared.tokenizers["target"]
    assert tokenizers.UNK_ID not in shared.source_tokenizer.tokenize_python("a x")[0]
    # A bundle holds the tokenizers under the same names.
    recipe, _ = fitted(tmp_path / "separate")
    loaded = types.SimpleNamespace(tokenizers=separate.tokenizers)
    again = preprocess.TranslatePreprocessor.from_bundle(recipe, loaded)
    assert again.source_tokenizer is separate.source_tokenizer and again.max_source_length == 50


def test_training_examples_drop_long_and_empty_pairs(tmp_path):
    _, preprocessor = fitted(tmp_path, "data.max_length=3")
    source, target_in, target_out, dropped = preprocessor.training_examples(PAIRS)
    # Kept: sources of at most 3 tokens whose target has at most 2 (START + target fits in 3); no empty side.
    assert dropped == 3
    assert preprocessor.source_tokenizer.detokenize_python(source.to_list()) == ["a b c", "b c"]
    assert [row[0] for row in target_in.to_list()] == [tokenizers.START_ID] * 2
    assert [row[-1] for row in target_out.to_list()] == [tokenizers.END_ID] * 2
    assert [row[1:] for row in target_in.to_list()] == [row[:-1] for row in target_out.to_list()]


@pytest.mark.parametrize("overrides,field", [
    (("data.max_length=1",), "data.max_length"),
    (("data.max_length=20", "data.max_pair_length=1"), "data.max_pair_length")])
def test_no_pair_left_names_the_length_field_in_force(tmp_path, overrides, field):
    recipe, preprocessor = fitted(tmp_path, *overrides)
    splits = data.TranslationSplits(PAIRS, PAIRS, data.SentencePairs([], []))
    with pytest.raises(UserError, match=rf"^no train pairs are left after tokenizing; raise {field} \(now 1\) "):
        pipeline.TranslatePipeline.plan_training(recipe, preprocessor, splits, tmp_path)


def test_max_pair_length_drops_without_changing_the_truncation(tmp_path):
    _, preprocessor = fitted(tmp_path, "data.max_length=3", "data.max_pair_length=5")
    assert (preprocessor.max_source_length, preprocessor.max_pair_length) == (3, 5)
    source, _, _, dropped = preprocessor.training_examples(PAIRS)
    assert dropped == 2 and int(source.nrows()) == 3
    ids = preprocessor.encode_sources(tf.constant(["a b c d", ""]))
    assert ids.shape == (2, 3) and ids.numpy()[1].tolist() == [tokenizers.PAD_ID] * 3
    assert preprocessor.source_tokens("a b c d") == ["a", "b", "c"]
    assert preprocessor.encode_sources(tf.constant([""])).shape == (1, 1)  # a masked step even when empty


def test_decoded_ids_become_translations(tmp_path):
    _, preprocessor = fitted(tmp_path)
    ids = preprocessor.target_tokenizer.tokenize_python(["x y", "z"])
    dense = np.zeros((2, 4), "int32")
    for row, values in enumerate(ids):
        dense[row, :len(values) + 1] = values + [tokenizers.END_ID]
    decoded = decoding.Decoded(tf.constant(dense), tf.constant([3, 2]), tf.constant([-0.5, -1.0]),
                               tf.zeros((2, 4, 3)))
    outputs = preprocessor.translations(decoded)
    assert set(outputs) == {"translation", "score"}
    assert [t.decode() for t in outputs["translation"].numpy()] == ["x y", "z"]
    with_attention = preprocessor.translations(decoded, with_attention=True)
    assert set(with_attention) == {"translation", "score", "ids", "attention"}
    assert preprocessor.target_tokens(dense[1].tolist()) == ["z", "</s>"]
