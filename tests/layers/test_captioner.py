"""Image encoders and the Show-Attend-Tell caption model: shapes, one-step decoding equals teacher forcing,
the attention penalty, and a saved Captioner reloads with the same outputs."""

import keras
import numpy as np
import pytest
from keras import ops

from rnnapps.layers.captioner import CaptionDecoder, Captioner, attention_coverage_penalty
from rnnapps.layers.image_encoder import ImageEncoder, backbone_names

VOCAB = 15


def test_small_cnn_gives_an_8x8_grid_for_64_pixel_images():
    encoder = ImageEncoder("small_cnn", image_size=64, filters=32)
    grid = encoder(np.random.default_rng(0).random((2, 64, 64, 3)).astype("float32"))
    assert tuple(grid.shape) == (2, 64, 32) and encoder.grid_shape == (8, 8) and encoder.output_channels == 32


def test_a_keras_applications_backbone_builds_offline_without_weights():
    encoder = ImageEncoder("mobilenet_v3_small", image_size=64, weights="none")
    grid = encoder(np.zeros((1, 64, 64, 3), "float32"))
    assert grid.shape[0] == 1 and grid.shape[1] == np.prod(encoder.grid_shape) and grid.shape[2] > 0
    assert "inception_v3" in backbone_names()
    with pytest.raises(ValueError, match="backbone must be one of"):
        ImageEncoder("vgg99")


@pytest.mark.parametrize("cell,input_feeding", [("lstm", False), ("gru", False), ("lstm", True), ("gru", True)])
def test_step_decoding_matches_teacher_forcing(cell, input_feeding):
    decoder = CaptionDecoder(VOCAB, embedding_dim=8, cell=cell, units=12, num_layers=2, input_feeding=input_feeding)
    features = np.random.default_rng(1).random((2, 9, 5)).astype("float32")
    target = np.random.default_rng(2).integers(4, VOCAB, (2, 6)).astype("int32")
    whole = ops.convert_to_numpy(decoder((features, target)))
    memory, states = decoder.encode(features)
    states = decoder.decoder.start_states(states)
    assert len(states) == 2 * decoder.decoder.states_per_layer + input_feeding  # the fed vector rides along
    processed = decoder.decoder.precompute_memory(memory)
    for position in range(6):
        logits, states, weights = decoder.decoder.step(target[:, position], states, memory, None, processed)
        np.testing.assert_allclose(ops.convert_to_numpy(logits), whole[:, position], atol=1e-5)
        np.testing.assert_allclose(ops.convert_to_numpy(ops.sum(weights, axis=-1)), 1.0, atol=1e-5)


@pytest.mark.parametrize("input_feeding", [False, True])
def test_only_input_feeding_lets_the_recurrence_see_what_it_attended(input_feeding):
    # Same tokens and initial state, two memories: the recurrent state after two steps differs only when
    # the attentional vector of step 1 is fed into step 2.
    decoder = CaptionDecoder(VOCAB, embedding_dim=8, cell="gru", units=12, input_feeding=input_feeding)
    rng = np.random.default_rng(4)
    decoder((rng.random((1, 9, 5)).astype("float32"), np.array([[4]], "int32")))  # builds it
    recurrent_states = []
    for memory in (rng.random((1, 9, 12)).astype("float32"), rng.random((1, 9, 12)).astype("float32")):
        states = decoder.decoder.start_states((np.zeros((1, 12), "float32"),))
        processed = decoder.decoder.precompute_memory(memory)
        for token in (4, 5):
            _, states, _ = decoder.decoder.step(np.array([token], "int32"), states, memory, None, processed)
        recurrent_states.append(ops.convert_to_numpy(states[0]))
    assert (not np.allclose(*recurrent_states, atol=1e-6)) == input_feeding


def test_coverage_penalty_counts_real_steps_only():
    weights = np.full((1, 3, 2), 0.5, "float32")  # every step attends half to each of 2 cells
    target = np.array([[2, 5, 0]], "int32")  # the third step is padding
    # Each cell receives 0.5 + 0.5 = 1 over the two real steps: no penalty.
    assert float(attention_coverage_penalty(weights, target)) == pytest.approx(0.0)
    assert float(attention_coverage_penalty(weights, np.array([[2, 5, 6]], "int32"))) == pytest.approx(0.5)
    decoder = CaptionDecoder(VOCAB, embedding_dim=8, units=8, attention_regularization=1.0)
    decoder((np.ones((1, 4, 3), "float32"), np.array([[2, 5, 6]], "int32")))
    assert len(decoder.losses) == 1 and float(decoder.losses[0]) > 0


@pytest.mark.parametrize("input_feeding", [False, True])
def test_captioner_saves_and_reloads(tmp_path, input_feeding):
    model = Captioner(ImageEncoder("small_cnn", 32, filters=16),
                      CaptionDecoder(VOCAB, 8, "gru", 12, input_feeding=input_feeding))
    images = np.random.default_rng(3).random((2, 32, 32, 3)).astype("float32")
    target = np.array([[2, 5, 6, 0], [2, 7, 0, 0]], "int32")
    expected = ops.convert_to_numpy(model((images, target)))
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(ops.convert_to_numpy(again((images, target))), expected, atol=1e-5)
