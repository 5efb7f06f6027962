"""RecurrentStack: shapes, states, masking, config round trip, saving."""

import itertools

import keras
import numpy as np
import pytest

from rnnapps import layers

BATCH, TIME, FEATURES, UNITS = 2, 5, 3, 4
COMBINATIONS = list(itertools.product(["simple_rnn", "lstm", "gru"], [False, True], [1, 2]))
STATES_PER_DIRECTION = {"simple_rnn": 1, "lstm": 2, "gru": 1}


@pytest.fixture(scope="module")
def inputs():
    return np.random.default_rng(0).normal(size=(BATCH, TIME, FEATURES)).astype("float32")


@pytest.mark.parametrize("cell, bidirectional, num_layers", COMBINATIONS)
def test_output_shapes_and_states(inputs, cell, bidirectional, num_layers):
    width = UNITS * (2 if bidirectional else 1)
    for return_sequences in (True, False):
        stack = layers.RecurrentStack(cell, UNITS, num_layers, bidirectional, return_sequences=return_sequences)
        expected = (BATCH, TIME, width) if return_sequences else (BATCH, width)
        assert tuple(stack(inputs).shape) == expected
        assert stack.output_size == width
        assert len(stack.recurrent_layers) == num_layers
        assert tuple(stack.compute_output_shape((None, None, FEATURES))) == (
            (None, None, width) if return_sequences else (None, width))

    stack = layers.RecurrentStack(cell, UNITS, num_layers, bidirectional, return_sequences=False, return_state=True)
    outputs, *states = stack(inputs)
    directions = 2 if bidirectional else 1
    assert len(states) == STATES_PER_DIRECTION[cell] * directions == stack.num_states
    assert tuple(outputs.shape) == (BATCH, width)
    assert all(tuple(state.shape) == (BATCH, UNITS) for state in states)
    # The forward direction's final h is the first half of the final output.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(states[0]), keras.ops.convert_to_numpy(outputs)[:, :UNITS],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell, bidirectional", [("lstm", True), ("gru", False)])
def test_return_state_in_a_functional_model(inputs, cell, bidirectional):
    ids = keras.Input((None, FEATURES))
    outputs = layers.RecurrentStack(cell, UNITS, 2, bidirectional, return_sequences=True, return_state=True)(ids)
    directions = 2 if bidirectional else 1
    assert len(outputs) == 1 + STATES_PER_DIRECTION[cell] * directions
    assert tuple(outputs[0].shape) == (None, None, UNITS * directions)
    assert all(tuple(state.shape) == (None, UNITS) for state in outputs[1:])
    model = keras.Model(ids, outputs)
    results = model.predict(inputs, verbose=0)
    assert [r.shape for r in results] == [(BATCH, TIME, UNITS * directions)] + [(BATCH, UNITS)] * (len(outputs) - 1)


@pytest.mark.parametrize("cell, bidirectional, num_layers", COMBINATIONS)
def test_right_padding_is_ignored(cell, bidirectional, num_layers):
    rng = np.random.default_rng(1)
    real = rng.normal(size=(1, 3, FEATURES)).astype("float32")
    padded = np.concatenate([real, rng.normal(size=(1, 4, FEATURES)).astype("float32")], axis=1)
    mask = np.array([[True] * 3 + [False] * 4])
    stack = layers.RecurrentStack(cell, UNITS, num_layers, bidirectional, dropout_rate=0.5, return_sequences=False)
    expected = keras.ops.convert_to_numpy(stack(real))
    got = keras.ops.convert_to_numpy(stack(padded, mask=mask))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # Without the mask the padding changes the result: the test can tell.
    assert not np.allclose(keras.ops.convert_to_numpy(stack(padded)), expected, atol=1e-4)


def test_mask_is_passed_on_with_sequences_only(inputs):
    mask = np.array([[True] * TIME, [True, True, False, False, False]])
    assert layers.RecurrentStack("gru", UNITS, return_sequences=False).compute_mask(inputs, mask) is None
    assert layers.RecurrentStack("gru", UNITS).compute_mask(inputs, mask) is mask
    assert layers.RecurrentStack("lstm", UNITS, bidirectional=True, return_state=True).compute_mask(
        inputs, mask) == [mask, None, None, None, None]


def test_dropout_only_between_layers_and_only_in_training(inputs):
    stack = layers.RecurrentStack("gru", UNITS, 2, dropout_rate=0.9)
    inference = keras.ops.convert_to_numpy(stack(inputs))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(stack(inputs, training=False)), inference)
    assert not np.allclose(keras.ops.convert_to_numpy(stack(inputs, training=True)), inference)
    assert len(stack.dropouts) == 1


def test_invalid_arguments():
    with pytest.raises(ValueError, match=r"^cell must be one of \['gru', 'lstm', 'simple_rnn'\], got 'rnn'$"):
        layers.RecurrentStack("rnn")
    with pytest.raises(ValueError, match="^num_layers must be >= 1, got 0$"):
        layers.RecurrentStack("gru", num_layers=0)


def test_config_round_trip(inputs):
    stack = layers.RecurrentStack("lstm", 6, 2, True, dropout_rate=0.25, recurrent_dropout_rate=0.1,
                                  return_sequences=False, return_state=True, name="encoder")
    config = stack.get_config()
    assert {key: config[key] for key in ("cell", "units", "num_layers", "bidirectional", "dropout_rate",
                                         "recurrent_dropout_rate", "return_sequences", "return_state", "name")} == {
        "cell": "lstm", "units": 6, "num_layers": 2, "bidirectional": True, "dropout_rate": 0.25,
        "recurrent_dropout_rate": 0.1, "return_sequences": False, "return_state": True, "name": "encoder"}
    clone = layers.RecurrentStack.from_config(config)
    assert clone.get_config() == config
    assert len(clone(inputs)) == 5
    # Registered under the package name for .keras files.
    assert keras.saving.get_registered_object("rnnapps>RecurrentStack") is layers.RecurrentStack


@pytest.mark.parametrize("pooling", ["max_mean", "attention"])
def test_model_saves_and_reloads_with_identical_predictions(tmp_path, pooling):
    keras.utils.set_random_seed(0)
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(20, 5, mask_zero=True)(ids)
    x = layers.RecurrentStack("lstm", UNITS, 2, True, dropout_rate=0.2)(x)
    x = layers.SequencePooling(pooling, attention_units=3)(x)
    model = keras.Model(ids, keras.layers.Dense(2, activation="softmax")(x))
    batch = np.array([[3, 4, 5, 0, 0], [7, 8, 9, 10, 11], [1, 0, 0, 0, 0]], dtype="int32")
    expected = model.predict(batch, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded.predict(batch, verbose=0), expected, rtol=1e-6, atol=1e-7)
    stacks = [layer for layer in reloaded.layers if isinstance(layer, layers.RecurrentStack)]
    assert len(stacks) == 1 and stacks[0].num_layers == 2 and stacks[0].bidirectional
