"""The shared decoder: greedy, beam search (vs exhaustive search), sampling; compiled and exportable."""

import itertools
import re

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from rnnapps import decoding
from rnnapps.tokenizers import END_ID, PAD_ID, START_ID

VOCAB = 7  # ids: 0 pad, 1 unk, 2 start, 3 end, 4..6 words


def transition_logits(seed=0):
    """A fixed Markov chain over tokens: logits of the next token given the previous one."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, 2, (VOCAB, VOCAB)).astype("float32")


def markov_step(table):
    table = ops.convert_to_tensor(table)

    def step(tokens, state, context):
        (counter,) = state
        weights = ops.one_hot(ops.minimum(counter, 2), 3)  # fake attention over 3 "source" positions
        return ops.take(table, tokens, axis=0), (counter + 1,), weights

    return step


def log_softmax_np(x):
    x = x.copy()
    x[..., [PAD_ID, START_ID]] = -1e9
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def decode(kind, table, batch=2, max_length=5, **kwargs):
    state = (ops.zeros((batch,), "int32"),)
    context = (ops.zeros((batch, 1)),)
    step = markov_step(table)
    if kind == "beam":
        return decoding.beam_search(step, state, context, batch, max_length, **kwargs)
    if kind == "sample":
        return decoding.sample(step, state, context, batch, max_length, **kwargs)
    return decoding.greedy(step, state, context, batch, max_length, **kwargs)


def test_greedy_follows_the_most_likely_chain():
    table = transition_logits()
    result = decode("greedy", table, max_length=6)
    expected, token = [], START_ID
    for _ in range(6):
        token = int(np.argmax(log_softmax_np(table[token])))
        expected.append(token)
        if token == END_ID:
            break
    expected += [PAD_ID] * (6 - len(expected))
    assert ops.convert_to_numpy(result.ids).tolist() == [expected, expected]
    assert ops.convert_to_numpy(result.lengths).tolist() == [6 - expected.count(PAD_ID)] * 2


def exhaustive_best(table, max_length, alpha):
    """Best complete (or max-length) sequence by length-normalised log-probability, by enumeration."""
    log_probs = log_softmax_np(table)
    words = [1, 3, 4, 5, 6]
    best, best_sequence = -np.inf, None
    for length in range(1, max_length + 1):
        for sequence in itertools.product(words, repeat=length):
            if END_ID in sequence[:-1] or (length < max_length and sequence[-1] != END_ID):
                continue
            score, previous = 0.0, START_ID
            for token in sequence:
                score += log_probs[previous, token]
                previous = token
            normalised = score / ((5 + length) / 6) ** alpha
            if normalised > best:
                best, best_sequence = normalised, list(sequence)
    return best_sequence, best


@pytest.mark.parametrize("seed, alpha", [(0, 0.6), (1, 0.0), (2, 1.0), (3, 0.6)])
def test_wide_beam_search_equals_exhaustive_search(seed, alpha):
    table = transition_logits(seed)
    table[:, END_ID] += 1.0  # make ending plausible so lengths vary
    max_length = 3
    result = decode("beam", table, batch=1, max_length=max_length, beam_size=25, alpha=alpha)
    sequence, score = exhaustive_best(table, max_length, alpha)
    ids = ops.convert_to_numpy(result.ids)[0].tolist()
    assert ids == sequence + [PAD_ID] * (max_length - len(sequence))
    assert abs(float(ops.convert_to_numpy(result.scores)[0]) - score) < 1e-4


def test_beam_of_one_is_greedy():
    table = transition_logits(4)
    greedy = decode("greedy", table, max_length=8)
    beam = decode("beam", table, max_length=8, beam_size=1, alpha=0.0)
    assert ops.convert_to_numpy(beam.ids).tolist() == ops.convert_to_numpy(greedy.ids).tolist()


def test_attention_is_recorded_for_every_generated_step():
    table = transition_logits(5)
    for kind, options in (("greedy", {}), ("beam", {"beam_size": 3})):
        result = decode(kind, table, max_length=4, attention_size=3, **options)
        attention = ops.convert_to_numpy(result.attention)
        assert attention.shape == (2, 4, 3)
        lengths = ops.convert_to_numpy(result.lengths)
        for row, length in enumerate(lengths):
            assert np.allclose(attention[row, :length].sum(-1), 1.0)
            assert np.all(attention[row, length:] == 0)


def test_sampling_is_reproducible_and_follows_the_distribution():
    table = transition_logits(6)
    batch = 4000
    uniforms = decoding.uniforms_for(123, 1, batch)
    first = ops.convert_to_numpy(decode("sample", table, batch=batch, max_length=1, uniforms=uniforms).ids)[:, 0]
    again = ops.convert_to_numpy(decode("sample", table, batch=batch, max_length=1, uniforms=uniforms).ids)[:, 0]
    assert first.tolist() == again.tolist()
    expected = np.exp(log_softmax_np(table[START_ID]))
    observed = np.bincount(first, minlength=VOCAB) / batch
    assert np.abs(observed - expected).max() < 0.03
    assert observed[PAD_ID] == 0 and observed[START_ID] == 0


@pytest.mark.parametrize("options", [{"top_k": 1}, {"top_p": 1e-6}, {"temperature": 1e-4}])
def test_sampling_filters_that_leave_one_choice_are_greedy(options):
    table = transition_logits(7)
    greedy = decode("greedy", table, batch=8, max_length=6)
    sampled = decode("sample", table, batch=8, max_length=6, uniforms=decoding.uniforms_for(1, 6, 8), **options)
    assert ops.convert_to_numpy(sampled.ids).tolist() == ops.convert_to_numpy(greedy.ids).tolist()


def test_top_k_and_top_p_restrict_the_support():
    table = transition_logits(8)
    batch = 3000
    probabilities = np.exp(log_softmax_np(table[START_ID]))
    ranked = np.argsort(-probabilities)
    top2 = decode("sample", table, batch=batch, max_length=1, uniforms=decoding.uniforms_for(2, 1, batch), top_k=2)
    assert set(ops.convert_to_numpy(top2.ids)[:, 0].tolist()) == set(ranked[:2].tolist())
    nucleus = int(np.searchsorted(np.cumsum(probabilities[ranked]), 0.8) + 1)
    top_p = decode("sample", table, batch=batch, max_length=1, uniforms=decoding.uniforms_for(3, 1, batch), top_p=0.8)
    assert set(ops.convert_to_numpy(top_p.ids)[:, 0].tolist()) == set(ranked[:nucleus].tolist())


def test_sampling_stops_each_sequence_after_its_stop_tokens():
    table = transition_logits(10)
    table[:, END_ID] = -1e9  # a language model never writes END: only the stop ends a sequence
    uniforms = decoding.uniforms_for(4, 40, 16)
    free = ops.convert_to_numpy(decode("sample", table, batch=16, max_length=40, uniforms=uniforms).ids)
    stopped = ops.convert_to_numpy(decode("sample", table, batch=16, max_length=40, uniforms=uniforms,
                                          stop_ids=(5, 4)).ids)
    ended = 0
    for row, stopped_row in zip(free.tolist(), stopped.tolist()):
        ends = [i + 2 for i in range(len(row) - 1) if row[i:i + 2] == [5, 4]]
        cut = ends[0] if ends else len(row)
        ended += bool(ends)
        assert stopped_row == row[:cut] + [PAD_ID] * (len(row) - cut)
    assert 0 < ended < 16  # some rows stop, some run to max_length


def test_decoding_compiles_in_one_graph_and_exports(tmp_path):
    table = transition_logits(9)

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
        def generate(self, batch):
            state = (tf.zeros([batch], tf.int32),)
            context = (tf.zeros([batch, 1]),)
            beam = decoding.beam_search(markov_step(table), state, context, batch, 6, beam_size=3)
            greedy = decoding.greedy(markov_step(table), state, context, batch, 6)
            return {"beam": beam.ids, "greedy": greedy.ids}

    module = Module()
    expected = {k: v.numpy().tolist() for k, v in module.generate(tf.constant(2)).items()}
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    assert {k: v.numpy().tolist() for k, v in loaded.generate(tf.constant(2)).items()} == expected
    assert expected["greedy"] == ops.convert_to_numpy(decode("greedy", table, max_length=6).ids).tolist()


class MarkovModel:
    """A `decoding.Decodable` over the Markov chain: what the task models provide, in a few lines."""

    def __init__(self, table):
        self.table = table
        self.step = markov_step(table)

    def start_decoding(self, inputs, training=False):
        batch = ops.shape(inputs)[0]
        return decoding.DecodingStart((ops.zeros((batch,), "int32"),), (ops.zeros((batch, 1)),), batch,
                                      memory_length=3)

    def decoding_step(self, token_ids, state, context):
        return self.step(token_ids, state, context)


def test_strategies_drive_a_decodable_model_like_the_loops_they_wrap():
    table = transition_logits(4)
    model, inputs = MarkovModel(table), np.zeros((2, 1), "float32")
    assert isinstance(model, decoding.Decodable)
    greedy = decoding.decode(model, inputs, decoding.GreedySearch(alpha=0.6), 6, with_attention=True)
    expected = decoding.search(markov_step(table), (ops.zeros((2,), "int32"),), (ops.zeros((2, 1)),), 2, 6,
                               beam_size=1, alpha=0.6, attention_size=3)
    np.testing.assert_array_equal(ops.convert_to_numpy(greedy.ids), ops.convert_to_numpy(expected.ids))
    np.testing.assert_allclose(ops.convert_to_numpy(greedy.scores), ops.convert_to_numpy(expected.scores))
    assert ops.convert_to_numpy(greedy.attention).shape == (2, 6, 3)
    beam = decoding.decode(model, inputs, decoding.BeamSearch(beam_size=3, alpha=0.6), 6)
    assert np.all(ops.convert_to_numpy(beam.scores) >= ops.convert_to_numpy(greedy.scores) - 1e-5)
    uniforms = np.random.default_rng(0).uniform(size=(6, 2)).astype("float32")
    sampled = decoding.decode(model, inputs, decoding.Sampling(temperature=0.5, top_k=2), 6, uniforms=uniforms)
    again = decoding.decode(model, inputs, decoding.Sampling(temperature=0.5, top_k=2), 6, uniforms=uniforms)
    np.testing.assert_array_equal(ops.convert_to_numpy(sampled.ids), ops.convert_to_numpy(again.ids))


def test_search_strategy_is_greedy_for_one_beam():
    assert decoding.search_strategy(1, 0.6) == decoding.GreedySearch(0.6)
    assert decoding.search_strategy(5, 1.0) == decoding.BeamSearch(5, 1.0)


@pytest.mark.parametrize("make, message", [
    (lambda: decoding.BeamSearch(beam_size=0), "beam_size must be between 1 and 64, got 0"),
    (lambda: decoding.BeamSearch(beam_size=65), "beam_size must be between 1 and 64, got 65"),
    (lambda: decoding.GreedySearch(alpha=-1), "alpha must be between 0 and 5, got -1"),
    (lambda: decoding.Sampling(temperature=0.0), "temperature must be > 0, got 0.0"),
    (lambda: decoding.Sampling(top_k=-1), "top_k must be >= 0, got -1"),
    (lambda: decoding.Sampling(top_p=0), "top_p must be in (0, 1], got 0"),
    (lambda: decoding.Sampling(top_p=1.5), "top_p must be in (0, 1], got 1.5"),
])
def test_strategies_check_their_settings_once(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_strategy_misuse_is_a_clear_error():
    model, inputs = MarkovModel(transition_logits()), np.zeros((2, 1), "float32")
    with pytest.raises(ValueError, match="Sampling needs uniforms"):
        decoding.decode(model, inputs, decoding.Sampling(), 4)
