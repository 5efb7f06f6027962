"""The sentiment classifier: shapes, the head the recipe asks for, and config and saved-model round trips
without training."""

import keras
import numpy as np
import pytest
from keras import ops

from rnnapps import config
from rnnapps.errors import UserError
from rnnapps.pipelines.sentiment.model import build_model
from rnnapps.pipelines.sentiment.recipe import SentimentRecipe

VOCAB = 20
IDS = np.array([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]], dtype="int32")


def tiny(*overrides):
    return config.load_recipe(SentimentRecipe, None, ["embedding.dim=6", "encoder.units=4", *overrides])


@pytest.mark.parametrize("pooling", ["last", "max", "attention"])
def test_probabilities_per_text(pooling):
    model = build_model(tiny(f'head.pooling="{pooling}"', "head.hidden_units=3"), VOCAB, 3)
    probabilities = ops.convert_to_numpy(model(IDS))
    assert probabilities.shape == (2, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)
    names = {layer.name for layer in model.layers}
    assert {"token_embedding", "encoder", "classes", "hidden"} <= names
    assert ("pooling" in names) == (pooling != "last")


def test_padding_does_not_change_the_answer():
    model = build_model(tiny('encoder.cell="lstm"', "encoder.num_layers=2"), VOCAB, 2)
    short = ops.convert_to_numpy(model(IDS[:1, :3]))
    padded = ops.convert_to_numpy(model(IDS[:1]))
    np.testing.assert_allclose(short, padded, atol=1e-5)


def test_pretrained_rows_start_the_embedding():
    initial = np.random.default_rng(0).normal(size=(VOCAB, 6)).astype("float32")
    model = build_model(tiny(), VOCAB, 2, initial)
    np.testing.assert_allclose(ops.convert_to_numpy(model.get_layer("token_embedding").embedding.embeddings), initial)


def test_config_and_saved_model_round_trip(tmp_path):
    model = build_model(tiny('head.pooling="max_mean"'), VOCAB, 2)
    expected = ops.convert_to_numpy(model(IDS))
    rebuilt = keras.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(ops.convert_to_numpy(rebuilt(IDS)), expected, atol=1e-6)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.name == "sentiment_classifier"
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(IDS)), expected, atol=1e-6)


def test_adversarial_training_adds_an_identity_layer_that_round_trips(tmp_path):
    plain = build_model(tiny(), VOCAB, 2)
    model = build_model(tiny("adversarial.epsilon=0.5"), VOCAB, 2)
    assert "embedding_perturbation" not in {layer.name for layer in plain.layers}
    assert "embedding_perturbation" in {layer.name for layer in model.layers}
    model.set_weights(plain.get_weights())
    expected = ops.convert_to_numpy(plain(IDS))
    np.testing.assert_allclose(ops.convert_to_numpy(model(IDS)), expected, atol=1e-6)
    model.save(tmp_path / "model.keras")
    np.testing.assert_allclose(ops.convert_to_numpy(keras.saving.load_model(tmp_path / "model.keras")(IDS)),
                               expected, atol=1e-6)


def test_a_negative_adversarial_epsilon_is_refused():
    with pytest.raises(UserError, match="adversarial.epsilon"):
        tiny("adversarial.epsilon=-1").validate()
