"""SentimentPreprocessor: one meaning of data.max_length and data.truncation in the training batches and in the
serving graph, the bundle names kept, a reload from the bundle that encodes the same, and labels both ways."""

import dataclasses
import types

import numpy as np
import pytest
import tensorflow as tf

from rnnapps import config, tokenizers
from rnnapps.errors import UserError
from rnnapps.pipelines.sentiment import data
from rnnapps.pipelines.sentiment.preprocess import SentimentPreprocessor
from rnnapps.pipelines.sentiment.recipe import SentimentRecipe

TEXTS = ["one two three four five six", "six five", "", "two two two two two two two two", "seven unseen words"]
LABELS = ["pos", "neg", "neg", "pos", "neg"]


def fitted(tmp_path, truncation="end", max_length=4):
    recipe = config.load_recipe(SentimentRecipe, None, ["tokenizer.vocab_size=50", f"data.max_length={max_length}",
                                                        f'data.truncation="{truncation}"'])
    examples = data.LabelledTexts(TEXTS[:4], LABELS[:4])
    splits = data.ClassificationSplits(examples, data.LabelledTexts([], []), data.LabelledTexts([], []), ["neg", "pos"])
    return recipe, SentimentPreprocessor.fit(recipe, splits, tmp_path)


@pytest.mark.parametrize("truncation", ["start", "end"])
def test_training_and_serving_read_a_text_the_same(tmp_path, truncation):
    _, preprocessor = fitted(tmp_path, truncation)
    ragged = preprocessor.encode_texts(TEXTS)
    served = preprocessor.encode_batch(tf.constant(TEXTS)).numpy()
    assert served.dtype == np.int32 and served.shape == (len(TEXTS), 4)
    np.testing.assert_array_equal(ragged.to_tensor(default_value=tokenizers.PAD_ID).numpy(), served)
    whole = preprocessor.tokenizer.tokenize(tf.constant(TEXTS[:1]))[0].numpy()
    assert list(served[0]) == list(whole[-4:] if truncation == "end" else whole[:4])
    in_order = dataclasses.replace(SentimentRecipe().training, bucketing=False)  # one batch, in order
    batched = next(iter(preprocessor.batches(data.LabelledTexts(TEXTS, LABELS), in_order, shuffle=False, seed=0)))
    assert batched[1].numpy().tolist() == [1, 0, 0, 1, 0]
    np.testing.assert_array_equal(batched[0].numpy(), served)


def test_bundle_names_and_reload(tmp_path):
    recipe, preprocessor = fitted(tmp_path)
    assert set(preprocessor.tokenizers) == {"text"} and preprocessor.metadata == {"label_names": ["neg", "pos"]}
    assert (tmp_path / "tokenizer" / "tokenizer.json").is_file()  # a resumed run reloads it
    assert (preprocessor.num_classes, preprocessor.vocab_size) == (2, preprocessor.tokenizer.vocab_size)
    preprocessor.tokenizer.save(tmp_path / "saved")
    loaded = types.SimpleNamespace(tokenizers={"text": tokenizers.load(tmp_path / "saved")},
                                   metadata={"task": "sentiment", "label_names": ["neg", "pos"]})
    again = SentimentPreprocessor.from_bundle(recipe, loaded)
    assert again.label_names == ["neg", "pos"] and (again.max_length, again.truncation) == (4, "end")
    np.testing.assert_array_equal(again.encode_batch(tf.constant(TEXTS)).numpy(),
                                  preprocessor.encode_batch(tf.constant(TEXTS)).numpy())


def test_probabilities_become_labels(tmp_path):
    _, preprocessor = fitted(tmp_path)
    out = preprocessor.decode(tf.constant([[0.2, 0.8], [0.9, 0.1]], tf.float32))
    assert [label.decode() for label in out["label"].numpy()] == ["pos", "neg"]
    np.testing.assert_allclose(out["probability"].numpy(), [0.8, 0.9])
    assert out["label_id"].numpy().tolist() == [1, 0] and out["probabilities"].shape == (2, 2)


def test_label_ids_and_unknown_labels(tmp_path):
    _, preprocessor = fitted(tmp_path)
    ids = preprocessor.label_ids(["pos", "neg", "pos"])
    assert ids.dtype == np.int32 and ids.tolist() == [1, 0, 1]
    with pytest.raises(UserError) as error:
        preprocessor.label_ids(["pos", "meh"])
    assert str(error.value) == "the evaluation data has label 'meh'; this model knows ['neg', 'pos']"
