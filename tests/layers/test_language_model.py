"""RecurrentLanguageModel: one token at a time (`step`) computes what the whole-sequence pass computes,
for every cell kind, stacked; states carry across calls and, when stateful, across training batches;
reserved ids are never generated."""

import numpy as np
import pytest
from keras import ops

from rnnapps.layers.language_model import RecurrentLanguageModel

VOCAB = 12


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_step_by_step_equals_the_whole_sequence(cell):
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell=cell, units=8, num_layers=2)
    ids = np.random.default_rng(0).integers(4, VOCAB, size=(3, 7)).astype("int32")
    whole = ops.convert_to_numpy(model(ids))
    assert whole.shape == (3, 7, VOCAB)
    states = model.flatten_states(model.zero_states(3))
    assert len(states) == (4 if cell == "lstm" else 2)
    for position in range(7):
        logits, states, attention = model.step(ids[:, position], states)
        logits = ops.convert_to_numpy(logits)
        assert attention is None
        np.testing.assert_allclose(logits[:, 4:], whole[:, position, 4:], atol=1e-5)
        assert (logits[:, :4] < -1e8).all()  # padding, unknown, start and end are never generated


def test_run_continues_from_the_states_it_returned():
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell="lstm", units=8, num_layers=2)
    ids = np.random.default_rng(1).integers(4, VOCAB, size=(2, 10)).astype("int32")
    whole, _ = model.run(ids)
    first, states = model.run(ids[:, :4])
    second, _ = model.run(ids[:, 4:], states)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.concatenate([first, second], axis=1)),
                               ops.convert_to_numpy(whole), atol=1e-5)


def test_padding_leaves_the_state_unchanged():
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell="gru", units=8, num_layers=1)
    _, plain = model.run(np.array([[5, 6, 7]], "int32"))
    _, padded = model.run(np.array([[5, 6, 7, 0, 0]], "int32"))
    np.testing.assert_allclose(ops.convert_to_numpy(padded[0]), ops.convert_to_numpy(plain[0]), atol=1e-6)


def test_rejects_an_unknown_cell():
    with pytest.raises(ValueError, match="cell must be one of"):
        RecurrentLanguageModel(VOCAB, cell="transformer")


def test_stateful_training_carries_the_state_between_batches_and_resets():
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell="lstm", units=8, num_layers=2, stateful_batch_size=2)
    ids = np.random.default_rng(2).integers(4, VOCAB, size=(2, 10)).astype("int32")
    whole, _ = model.run(ids)
    first = model(ids[:, :5], training=True)  # no dropout configured: training only switches statefulness
    second = model(ids[:, 5:], training=True)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.concatenate([first, second], axis=1)),
                               ops.convert_to_numpy(whole), atol=1e-5)
    # Inference never uses (or changes) the carried states.
    np.testing.assert_allclose(ops.convert_to_numpy(model(ids[:, :5])), ops.convert_to_numpy(first), atol=1e-6)
    model.reset_states()
    again = model(ids[:, :5], training=True)
    np.testing.assert_allclose(ops.convert_to_numpy(again), ops.convert_to_numpy(first), atol=1e-6)
    assert len(model.carried_states) == 4 and not any(v.trainable for v in model.carried_states)
