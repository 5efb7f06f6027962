"""Every serializable shared layer survives get_config/from_config and a .keras save/load round trip, with
the same outputs; no training needed."""

import keras
import numpy as np
import pytest
from keras import ops

from rnnapps import embeddings, layers
from rnnapps.layers.decoder import AttentionDecoder
from rnnapps.layers.image_encoder import ImageEncoder

RNG = np.random.default_rng(0)
IDS = np.array([[3, 5, 7, 0], [4, 6, 0, 0]], dtype="int32")
SEQUENCE = RNG.normal(size=(2, 4, 6)).astype("float32")
KEYS = RNG.normal(size=(2, 5, 6)).astype("float32")
IMAGES = RNG.uniform(size=(2, 32, 32, 3)).astype("float32")


def _sequence_model(layer):
    inputs = keras.Input((None, 6))
    return keras.Model(inputs, layer(inputs)), SEQUENCE


def _attention_model(layer):
    query, keys = keras.Input((None, 6)), keras.Input((None, 6))
    context, _ = layer(query, keys)
    return keras.Model([query, keys], context), [SEQUENCE, KEYS]


def _ids_model(layer):
    ids = keras.Input((None,), dtype="int32")
    return keras.Model(ids, layer(ids)), IDS


def _decoder_model(layer):
    ids, memory = keras.Input((None,), dtype="int32"), keras.Input((None, 6))
    logits, _ = layer(ids, memory)
    return keras.Model([ids, memory], logits), [IDS, KEYS]


def _image_model(layer):
    images = keras.Input((32, 32, 3))
    return keras.Model(images, layer(images)), IMAGES


CASES = {
    "recurrent_stack": (lambda: layers.RecurrentStack("lstm", 5, 2, bidirectional=True), _sequence_model),
    "pooling_attention": (lambda: layers.SequencePooling("attention", attention_units=4), _sequence_model),
    "pooling_max_mean": (lambda: layers.SequencePooling("max_mean"), _sequence_model),
    "bahdanau": (lambda: layers.BahdanauAttention(4), _attention_model),
    "luong_general": (lambda: layers.LuongAttention("general"), _attention_model),
    "token_embedding": (lambda: embeddings.TokenEmbedding(10, 4, dropout_rate=0.1), _ids_model),
    "attention_decoder": (lambda: AttentionDecoder(12, 4, "gru", 6, 1, "bahdanau", input_feeding=True),
                          _decoder_model),
    "image_encoder": (lambda: ImageEncoder("small_cnn", image_size=32, filters=8), _image_model),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_and_save_load_round_trips_give_the_same_layer(name, tmp_path):
    make_layer, make_model = CASES[name]
    layer = make_layer()
    model, inputs = make_model(layer)
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(inputs)), ops.convert_to_numpy(model(inputs)), rtol=1e-5,
                               atol=1e-6)
