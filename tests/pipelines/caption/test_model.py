"""The Show-Attend-Tell caption model: one-step decoding (the decoding contract) equals teacher forcing, the
attention penalty, configs and saves round trip, and a decoder trained on cached features is saved behind its
image encoder and loaded again."""

import keras
import numpy as np
import pytest
from keras import ops

from rnnapps import bundle as bundles
from rnnapps import decoding, losses
from rnnapps.layers.image_encoder import ImageEncoder
from rnnapps.pipelines.caption import model as caption_model
from rnnapps.pipelines.caption import recipe as caption_recipe
from rnnapps.pipelines.caption.model import CaptionDecoder, Captioner, attention_coverage_penalty

VOCAB = 15


@pytest.mark.parametrize("cell,input_feeding", [("lstm", False), ("gru", False), ("lstm", True), ("gru", True)])
def test_step_decoding_matches_teacher_forcing(cell, input_feeding):
    decoder = CaptionDecoder(VOCAB, embedding_dim=8, cell=cell, units=12, num_layers=2, input_feeding=input_feeding)
    features = np.random.default_rng(1).random((2, 9, 5)).astype("float32")
    target = np.random.default_rng(2).integers(4, VOCAB, (2, 6)).astype("int32")
    whole = ops.convert_to_numpy(decoder((features, target)))
    start = decoder.start_decoding(features)
    states = start.state
    assert len(states) == 2 * decoder.decoder.states_per_layer + input_feeding  # the fed vector rides along
    assert int(start.batch_size) == 2 and int(start.memory_length) == 9
    for position in range(6):
        logits, states, weights = decoder.decoding_step(target[:, position], states, start.context)
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
    for features in (rng.random((1, 9, 5)).astype("float32"), rng.random((1, 9, 5)).astype("float32")):
        start = decoder.start_decoding(features)
        states = tuple(ops.zeros_like(state) for state in start.state)
        for token in (4, 5):
            _, states, _ = decoder.decoding_step(np.array([token], "int32"), states, start.context)
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


def test_configs_round_trip():
    decoder = CaptionDecoder(VOCAB, 8, "lstm", 12, num_layers=2, attention="luong_general", dropout_rate=0.1,
                             attention_regularization=0.5, input_feeding=True, name="caption_decoder")
    again = CaptionDecoder.from_config(decoder.get_config())
    assert again.get_config() == decoder.get_config()
    model = Captioner(ImageEncoder("small_cnn", 32, filters=16), decoder, name="captioner")
    rebuilt = Captioner.from_config(model.get_config())
    assert rebuilt.caption_decoder.get_config() == decoder.get_config()
    assert rebuilt.encoder.get_config() == model.encoder.get_config() and rebuilt.name == "captioner"


def test_the_captioner_decodes_as_its_decoder_does_on_the_encoders_features():
    encoder = ImageEncoder("small_cnn", 32, filters=16)
    model = Captioner(encoder, CaptionDecoder(VOCAB, 8, "lstm", 12))
    images = np.random.default_rng(5).random((3, 32, 32, 3)).astype("float32")
    model((images, np.array([[2, 5]] * 3, "int32")))  # builds it
    strategy = decoding.BeamSearch(beam_size=2)
    whole = decoding.decode(model, images, strategy, 5, with_attention=True)
    parts = decoding.decode(model.caption_decoder, encoder(images, training=False), strategy, 5, with_attention=True)
    np.testing.assert_array_equal(ops.convert_to_numpy(whole.ids), ops.convert_to_numpy(parts.ids))
    assert tuple(whole.attention.shape) == (3, 5, 16)  # 16 grid cells of a 32-pixel image


def test_a_decoder_trained_on_cached_features_is_saved_behind_its_encoder_and_loads(tmp_path):
    recipe = caption_recipe.CaptionRecipe(
        encoder=caption_recipe.ImageEncoderConfig(backbone="small_cnn", image_size=32, filters=8),
        decoder=caption_recipe.CaptionDecoderConfig(embedding_dim=8, units=12))
    encoder = caption_model.build_encoder(recipe)
    images = np.random.default_rng(6).random((4, 32, 32, 3)).astype("float32")
    features = ops.convert_to_numpy(encoder(images, training=False))
    decoder = caption_model.build_decoder(recipe, VOCAB)
    # Compiled with the task's loss, a closure Keras cannot deserialize: the bundle must save it without it.
    decoder.compile(optimizer="adam", loss=losses.sequence_loss(0.1))
    target = np.array([[5, 6, 3, 0]] * 4, "int32")
    decoder.fit((features, target), target, epochs=1, verbose=0)
    model = caption_model.with_encoder(encoder, decoder)
    expected = ops.convert_to_numpy(model((images, target)))
    bundles.save(tmp_path / "bundle", task="caption", model=model, tokenizers_by_name={}, recipe=recipe)
    loaded = bundles.load(tmp_path / "bundle", "caption").model
    assert isinstance(loaded, Captioner) and isinstance(loaded.caption_decoder, CaptionDecoder)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded((images, target))), expected, atol=1e-5)
    assert decoder.compiled  # saving left the trained decoder as it was


def test_build_model_trains_the_decoder_alone_on_cached_features():
    trainable = caption_recipe.CaptionRecipe(encoder=caption_recipe.ImageEncoderConfig(image_size=32, filters=8))
    encoder = caption_model.build_encoder(trainable)
    assert isinstance(caption_model.build_model(trainable, VOCAB, encoder), Captioner)
    frozen = caption_recipe.CaptionRecipe(encoder=caption_recipe.ImageEncoderConfig(
        backbone="mobilenet_v3_small", image_size=32, trainable=False))
    assert frozen.cached and isinstance(caption_model.build_model(frozen, VOCAB, encoder), CaptionDecoder)
