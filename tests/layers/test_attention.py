"""Bahdanau and Luong attention: shapes, masking, numpy references, precomputed keys, saving, learning."""

import keras
import numpy as np
import pytest

from rnnapps import layers

BATCH, TARGET, SOURCE, QUERY_DIM, KEY_DIM, UNITS = 4, 3, 5, 4, 6, 7
LENGTHS = [5, 2, 0, 1]  # row 2 has no real source token
KINDS = ["bahdanau", "luong_dot", "luong_general"]


def query_dim(kind):
    return KEY_DIM if kind == "luong_dot" else QUERY_DIM


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    queries = {width: rng.normal(size=(BATCH, TARGET, width)).astype("float32") for width in (QUERY_DIM, KEY_DIM)}
    keys = rng.normal(size=(BATCH, SOURCE, KEY_DIM)).astype("float32")
    mask = np.arange(SOURCE)[None, :] < np.array(LENGTHS)[:, None]
    return queries, keys, mask


def numpy(*tensors):
    return [keras.ops.convert_to_numpy(tensor) for tensor in tensors]


def attend(kind, data, **kwargs):
    queries, keys, mask = data
    layer = layers.make_attention(kind, UNITS)
    return layer, queries[query_dim(kind)], keys, mask, numpy(*layer(queries[query_dim(kind)], keys, **kwargs))


def softmax_reference(scores, keys, mask):
    """Per row: softmax over the real positions, 0 elsewhere; all 0 for a row with no real position."""
    weights = np.zeros_like(scores)
    for row in range(len(scores)):
        real = mask[row]
        if real.any():
            exp = np.exp(scores[row][:, real] - scores[row][:, real].max(axis=-1, keepdims=True))
            weights[row][:, real] = exp / exp.sum(axis=-1, keepdims=True)
    return weights @ keys, weights


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_for_one_step_and_for_all_steps(data, kind):
    layer, query, keys, mask, (context, weights) = attend(kind, data, mask=data[2])
    assert context.shape == (BATCH, TARGET, KEY_DIM) and weights.shape == (BATCH, TARGET, SOURCE)
    step_context, step_weights = numpy(*layer(query[:, 0], keys, mask=mask))
    assert step_context.shape == (BATCH, KEY_DIM) and step_weights.shape == (BATCH, SOURCE)
    with pytest.raises(ValueError, match=r"^query must have shape \[batch, query_dim\] or \[batch, target_time, "
                                         r"query_dim\], got rank 4: \(1, 4, 3, \d\)$"):
        layers.make_attention(kind, UNITS)(query[None], keys)


@pytest.mark.parametrize("kind", KINDS)
def test_weights_sum_to_one_over_real_positions_and_are_zero_elsewhere(data, kind):
    layer, query, keys, mask, (context, weights) = attend(kind, data, mask=data[2])
    assert np.isfinite(context).all() and np.isfinite(weights).all()
    real_rows = np.array(LENGTHS) > 0
    np.testing.assert_allclose(weights.sum(axis=-1)[real_rows], 1.0, rtol=1e-6)
    assert np.all(weights[np.broadcast_to(~mask[:, None, :], weights.shape)] == 0)
    # The row with no real source token: zero weights and zero context, not NaN or a uniform average.
    assert np.all(weights[2] == 0) and np.all(context[2] == 0)
    # A single real token takes all the weight.
    np.testing.assert_allclose(weights[3, :, 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(context[3], np.broadcast_to(keys[3, 0], (TARGET, KEY_DIM)), rtol=1e-6)
    # What the padded positions hold does not matter.
    changed = keys.copy()
    changed[~mask] = 1.0e6
    for got, want in zip(numpy(*layer(query, changed, mask=mask)), [context, weights]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", KINDS)
def test_one_step_equals_its_row_of_all_steps(data, kind):
    layer, query, keys, mask, (context, weights) = attend(kind, data, mask=data[2])
    for step in range(TARGET):
        step_context, step_weights = numpy(*layer(query[:, step], keys, mask=mask))
        np.testing.assert_allclose(step_context, context[:, step], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(step_weights, weights[:, step], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
def test_precomputed_keys_give_identical_results(data, kind):
    layer, query, keys, mask, expected = attend(kind, data, mask=data[2])
    processed = layer.precompute_keys(keys)
    assert tuple(processed.shape) == (BATCH, SOURCE, UNITS if kind == "bahdanau" else KEY_DIM)
    for got, want in zip(numpy(*layer(query, keys, mask=mask, processed_keys=processed)), expected):
        np.testing.assert_array_equal(got, want)
    step = numpy(*layer(query[:, 1], keys, mask=mask, processed_keys=processed))
    for got, want in zip(step, numpy(*layer(query[:, 1], keys, mask=mask))):
        np.testing.assert_array_equal(got, want)


def test_precompute_keys_before_the_first_call_builds_the_key_projection(data):
    queries, keys, mask = data
    layer = layers.BahdanauAttention(UNITS)
    processed = layer.precompute_keys(keys)
    context, _ = layer(queries[QUERY_DIM][:, 0], keys, mask=mask, processed_keys=processed)
    assert tuple(context.shape) == (BATCH, KEY_DIM) and len(layer.weights) == 4


def test_luong_dot_matches_numpy(data):
    _, query, keys, mask, (context, weights) = attend("luong_dot", data, mask=data[2])
    scores = np.einsum("btd,bsd->bts", query, keys)
    expected_context, expected_weights = softmax_reference(scores, keys, mask)
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(context, expected_context, rtol=1e-5, atol=1e-6)


def test_luong_general_matches_numpy(data):
    layer, query, keys, mask, (context, weights) = attend("luong_general", data, mask=data[2])
    (kernel,) = numpy(*layer.weights)
    assert kernel.shape == (QUERY_DIM, KEY_DIM)
    scores = np.einsum("btq,qk,bsk->bts", query, kernel, keys)
    expected_context, expected_weights = softmax_reference(scores, keys, mask)
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(context, expected_context, rtol=1e-5, atol=1e-6)


def test_bahdanau_matches_numpy_with_its_own_weights(data):
    layer, query, keys, mask, (context, weights) = attend("bahdanau", data, mask=data[2])
    (w_query,) = numpy(*layer.query_projection.weights)
    w_key, b_key = numpy(*layer.key_projection.weights)
    (v,) = numpy(*layer.score_projection.weights)
    assert (w_query.shape, w_key.shape, b_key.shape, v.shape) == ((QUERY_DIM, UNITS), (KEY_DIM, UNITS), (UNITS,),
                                                                   (UNITS, 1))
    hidden = np.tanh((query @ w_query)[:, :, None, :] + (keys @ w_key + b_key)[:, None, :, :])
    expected_context, expected_weights = softmax_reference((hidden @ v)[..., 0], keys, mask)
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(context, expected_context, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_without_mask_every_position_counts(data, kind):
    _, _, keys, _, (context, weights) = attend(kind, data)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-6)
    assert np.all(weights > 0)
    np.testing.assert_allclose(context, weights @ keys, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_float16_masking_is_finite_and_exact(data, kind):
    queries, keys, mask = data
    layer = layers.make_attention(kind, UNITS, dtype="mixed_float16")
    context, weights = numpy(*layer(queries[query_dim(kind)], keys, mask=mask))
    assert weights.dtype == np.float16 and context.dtype == np.float16
    assert np.isfinite(context).all() and np.isfinite(weights).all()
    assert np.all(weights[np.broadcast_to(~mask[:, None, :], weights.shape)] == 0)
    assert np.all(weights[2] == 0) and np.all(context[2] == 0)
    np.testing.assert_allclose(weights.sum(axis=-1)[np.array(LENGTHS) > 0], 1.0, rtol=2e-3)


def test_config_round_trip():
    layer = layers.BahdanauAttention(units=9, name="attend")
    clone = layers.BahdanauAttention.from_config(layer.get_config())
    assert (clone.units, clone.name) == (9, "attend") and clone.get_config() == layer.get_config()
    layer = layers.LuongAttention(score="dot", name="luong")
    clone = layers.LuongAttention.from_config(layer.get_config())
    assert (clone.score, clone.name) == ("dot", "luong") and clone.get_config() == layer.get_config()
    assert keras.saving.get_registered_object("rnnapps>BahdanauAttention") is layers.BahdanauAttention
    assert keras.saving.get_registered_object("rnnapps>LuongAttention") is layers.LuongAttention


@pytest.mark.parametrize("kind", KINDS)
def test_model_saves_and_reloads_with_identical_outputs(tmp_path, data, kind):
    queries, keys, mask = data
    keras.utils.set_random_seed(0)
    query_steps = keras.Input((None, query_dim(kind)), name="query_steps")
    query_step = keras.Input((query_dim(kind),), name="query_step")
    encoded = keras.Input((None, KEY_DIM), name="keys")
    source_mask = keras.Input((None,), dtype="bool", name="mask")
    attention = layers.make_attention(kind, UNITS, name="attention")
    # One layer used for teacher forcing (all steps) and for one decoding step.
    context, weights = attention(query_steps, encoded, mask=source_mask)
    step_context, step_weights = attention(query_step, encoded, mask=source_mask)
    logits = keras.layers.Dense(3, name="logits")(keras.layers.Concatenate()([query_steps, context]))
    model = keras.Model([query_steps, query_step, encoded, source_mask],
                        [logits, weights, step_context, step_weights])
    inputs = [queries[query_dim(kind)], queries[query_dim(kind)][:, 0], keys, mask]
    expected = model.predict(inputs, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    for got, want in zip(reloaded.predict(inputs, verbose=0), expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    layer = reloaded.get_layer("attention")
    assert type(layer) is layers.ATTENTIONS[kind] and len(layer.weights) == len(attention.weights)
    assert len(layer.weights) == {"bahdanau": 4, "luong_dot": 0, "luong_general": 1}[kind]
    np.testing.assert_allclose(expected[3], expected[1][:, 0], rtol=1e-6, atol=1e-7)


def test_errors():
    with pytest.raises(ValueError) as error:
        layers.LuongAttention("dot")(np.zeros((2, 3), "float32"), np.zeros((2, 5, 4), "float32"))
    assert str(error.value) == ("Luong 'dot' attention needs query_dim == key_dim, got query_dim=3 and key_dim=4; "
                                "use score='general' for different widths")
    with pytest.raises(ValueError) as error:
        layers.make_attention("luong_concat", 8)
    assert str(error.value) == ("attention kind must be one of ['bahdanau', 'luong_dot', 'luong_general'], "
                                "got 'luong_concat'")
    with pytest.raises(ValueError, match=r"^score must be one of \('dot', 'general'\), got 'concat'$"):
        layers.LuongAttention("concat")
    with pytest.raises(ValueError, match="^units must be >= 1, got 0$"):
        layers.BahdanauAttention(0)
    with pytest.raises(ValueError, match=r"^keys must have shape \[batch, source_time, key_dim\] with a known "
                                         r"key_dim, got \(2, 4\)$"):
        layers.BahdanauAttention(4)(np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32"))


def test_make_attention_builds_each_kind():
    assert isinstance(layers.make_attention("bahdanau", 5), layers.BahdanauAttention)
    assert layers.make_attention("bahdanau", 5, name="a").units == 5
    assert layers.make_attention("luong_dot", 5).score == "dot"
    assert layers.make_attention("luong_general", 5, name="b").score == "general"
    assert sorted(layers.ATTENTIONS) == KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_attention_learns_to_pick_the_position_the_query_names(kind):
    """Keys are random content plus a one-hot position; the target is the key at the queried position.

    The content is fresh in every example, so only attention that peaks on the queried position can
    reproduce the target; evaluation uses new random keys.
    """
    source, content = 6, 4
    width = content + source
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)

    def examples(count):
        keys = np.concatenate([rng.normal(size=(count, source, content)),
                               np.broadcast_to(np.eye(source), (count, source, source))], axis=-1).astype("float32")
        positions = rng.integers(0, source, size=count)
        lengths = rng.integers(positions + 1, source + 1)  # the queried position is always real
        mask = np.arange(source)[None, :] < lengths[:, None]
        return positions.astype("int32"), keys, mask, keys[np.arange(count), positions]

    position = keras.Input((), dtype="int32")
    encoded = keras.Input((source, width))
    source_mask = keras.Input((source,), dtype="bool")
    query = keras.layers.Embedding(source, width)(position)  # [batch, width]: a single decoding step
    context, weights = layers.make_attention(kind, 16)(query, encoded, mask=source_mask)
    model = keras.Model([position, encoded, source_mask], context)
    model.compile(keras.optimizers.Adam(0.05), loss="mse")
    positions, keys, mask, targets = examples(1024)
    model.fit([positions, keys, mask], targets, batch_size=32, epochs=10, verbose=0)  # 320 steps

    positions, keys, mask, _ = examples(256)
    got = keras.Model([position, encoded, source_mask], weights).predict([positions, keys, mask], verbose=0)
    assert np.mean(got.argmax(axis=-1) == positions) >= 0.95
    assert np.all(got[~mask] == 0)
    # Sharp, not just a little ahead: untrained attention would spread over the real positions.
    assert np.median(got[np.arange(len(positions)), positions]) > 0.8
