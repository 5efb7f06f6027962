"""The encoder-decoder: step-by-step decoding (encode, start_states, decoder.step) gives the teacher-forced
logits for every cell and attention kind, with and without input feeding, padding included."""

import numpy as np
import pytest
from keras import ops

from rnnapps.layers.seq2seq import Seq2Seq

SOURCE_VOCAB, TARGET_VOCAB = 11, 13


@pytest.mark.parametrize("cell,attention,input_feeding", [
    ("gru", "bahdanau", False), ("gru", "bahdanau", True), ("lstm", "luong_general", True),
    ("lstm", "luong_dot", False)])
def test_step_decoding_matches_teacher_forcing(cell, attention, input_feeding):
    units = 10 if attention == "luong_dot" else 12  # luong_dot needs queries as wide as the memory (2 x 5)
    model = Seq2Seq(SOURCE_VOCAB, TARGET_VOCAB, embedding_dim=6, encoder_cell=cell, encoder_units=5,
                    decoder_cell=cell, decoder_units=units, decoder_layers=2, attention=attention,
                    input_feeding=input_feeding)
    source = np.array([[4, 5, 6, 7], [8, 9, 0, 0]], "int32")  # the second sentence is padded
    target = np.random.default_rng(0).integers(4, TARGET_VOCAB, (2, 5)).astype("int32")
    whole = ops.convert_to_numpy(model((source, target)))
    memory, mask, states = model.encode(source)
    states = model.decoder.start_states(states)
    processed = model.decoder.precompute_memory(memory)
    for position in range(target.shape[1]):
        logits, states, weights = model.decoder.step(target[:, position], states, memory, mask, processed)
        np.testing.assert_allclose(ops.convert_to_numpy(logits), whole[:, position], atol=1e-5)
        assert np.all(ops.convert_to_numpy(weights)[1, 2:] < 1e-6)  # no attention on the padding
