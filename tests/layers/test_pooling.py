"""SequencePooling: max / mean / max_mean / attention over the real (unmasked) steps only."""

import keras
import numpy as np
import pytest

from rnnapps import layers

FEATURES = 3
LENGTHS = [4, 2, 0, 1]  # row 2 is all padding (an empty text)
TIME = max(LENGTHS)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(len(LENGTHS), TIME, FEATURES)).astype("float32") * 3
    mask = np.arange(TIME)[None, :] < np.array(LENGTHS)[:, None]
    # Padded steps hold large values: they would win a max and move a mean if they were not ignored.
    inputs[~mask] = 100.0
    return inputs, mask


def pool(mode, inputs, mask, **kwargs):
    layer = layers.SequencePooling(mode, **kwargs)
    return layer, keras.ops.convert_to_numpy(layer(inputs, mask=mask))


def reference(mode, inputs, mask):
    rows = []
    for row, real in zip(inputs, mask):
        steps = row[real]
        if not len(steps):
            rows.append(np.zeros(FEATURES * (2 if mode == "max_mean" else 1), dtype="float32"))
            continue
        maximum, mean = steps.max(axis=0), steps.mean(axis=0)
        rows.append({"max": maximum, "mean": mean, "max_mean": np.concatenate([maximum, mean])}[mode])
    return np.stack(rows)


@pytest.mark.parametrize("mode", ["max", "mean", "max_mean"])
def test_pooling_matches_numpy_on_real_steps(batch, mode):
    inputs, mask = batch
    _, got = pool(mode, inputs, mask)
    assert got.shape == (len(LENGTHS), FEATURES * (2 if mode == "max_mean" else 1))
    np.testing.assert_allclose(got, reference(mode, inputs, mask), rtol=1e-6, atol=1e-6)
    assert np.all(got[2] == 0)


def test_attention_is_a_softmax_over_real_steps(batch):
    inputs, mask = batch
    layer, got = pool("attention", inputs, mask, attention_units=5)
    assert got.shape == (len(LENGTHS), FEATURES)
    w1, b1 = (keras.ops.convert_to_numpy(w) for w in layer.score_hidden.weights)
    (w2,) = (keras.ops.convert_to_numpy(w) for w in layer.score.weights)
    assert w1.shape == (FEATURES, 5) and w2.shape == (5, 1)
    expected = []
    for row, real in zip(inputs, mask):
        steps = row[real]
        if not len(steps):
            expected.append(np.zeros(FEATURES))
            continue
        scores = (np.tanh(steps @ w1 + b1) @ w2)[:, 0]
        weights = np.exp(scores - scores.max())
        expected.append((weights / weights.sum()) @ steps)
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[3], inputs[3, 0], rtol=1e-6)  # one real step: weight 1
    assert np.all(got[2] == 0)


@pytest.mark.parametrize("mode", ["max", "mean", "max_mean", "attention"])
def test_padding_values_do_not_matter_and_empty_rows_are_finite(batch, mode):
    inputs, mask = batch
    layer, first = pool(mode, inputs, mask)
    changed = inputs.copy()
    changed[~mask] = -1.0e30
    second = keras.ops.convert_to_numpy(layer(changed, mask=mask))
    np.testing.assert_array_equal(first, second)
    assert np.isfinite(first).all()
    all_padding = keras.ops.convert_to_numpy(layer(inputs[2:3], mask=mask[2:3]))
    np.testing.assert_array_equal(all_padding, np.zeros_like(all_padding))


@pytest.mark.parametrize("mode", ["max", "mean"])
def test_without_mask_every_step_counts(batch, mode):
    inputs, _ = batch
    _, got = pool(mode, inputs, None)
    full = np.ones(inputs.shape[:2], dtype=bool)
    np.testing.assert_allclose(got, reference(mode, inputs, full), rtol=1e-6)


def test_mask_from_an_embedding_reaches_the_pooling():
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(10, FEATURES, mask_zero=True, embeddings_initializer="ones")(ids)
    pooled = layers.SequencePooling("mean")(embedded)
    model = keras.Model(ids, pooled)
    # Mean of ones over real steps is 1; counting the padded steps would give 0.5.
    out = model.predict(np.array([[1, 2, 0, 0], [0, 0, 0, 0]], dtype="int32"), verbose=0)
    np.testing.assert_array_equal(out, [[1.0] * FEATURES, [0.0] * FEATURES])


def test_output_shape_config_and_errors():
    assert layers.SequencePooling("max_mean").compute_output_shape((None, 7, 6)) == (None, 12)
    assert layers.SequencePooling("attention").compute_output_shape((2, 7, 6)) == (2, 6)
    assert layers.SequencePooling("max").compute_mask(np.zeros((1, 2, 3)), np.ones((1, 2), bool)) is None
    layer = layers.SequencePooling("attention", attention_units=9, name="pool")
    clone = layers.SequencePooling.from_config(layer.get_config())
    assert (clone.mode, clone.attention_units, clone.name) == ("attention", 9, "pool")
    with pytest.raises(ValueError) as error:
        layers.SequencePooling("sum")
    assert str(error.value) == "pooling mode must be one of ('max', 'mean', 'max_mean', 'attention'), got 'sum'"
