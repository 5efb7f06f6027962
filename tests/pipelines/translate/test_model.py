"""The encoder-decoder: step-by-step decoding through its contract (start_decoding, decoding_step) gives the
teacher-forced logits for every cell and attention kind, with and without input feeding, padding included;
config and save/load round trips; build_model follows the recipe's sections."""

import json
import zipfile

import keras
import numpy as np
import pytest
from keras import ops

from rnnapps import config, decoding
from rnnapps.pipelines.translate import model as models
from rnnapps.pipelines.translate import recipe as recipes

SOURCE_VOCAB, TARGET_VOCAB = 11, 13


@pytest.mark.parametrize("cell,attention,input_feeding", [
    ("gru", "bahdanau", False), ("gru", "bahdanau", True), ("lstm", "luong_general", True),
    ("lstm", "luong_dot", False)])
def test_step_decoding_matches_teacher_forcing(cell, attention, input_feeding):
    units = 10 if attention == "luong_dot" else 12  # luong_dot needs queries as wide as the memory (2 x 5)
    model = models.Seq2Seq(source_vocab_size=SOURCE_VOCAB, target_vocab_size=TARGET_VOCAB, embedding_dim=6,
                           encoder_cell=cell, encoder_units=5, decoder_cell=cell, decoder_units=units,
                           decoder_layers=2, attention=attention, input_feeding=input_feeding)
    source = np.array([[4, 5, 6, 7], [8, 9, 0, 0]], "int32")  # the second sentence is padded
    target = np.random.default_rng(0).integers(4, TARGET_VOCAB, (2, 5)).astype("int32")
    whole = ops.convert_to_numpy(model((source, target)))
    start = model.start_decoding(source)
    assert int(start.batch_size) == 2 and int(start.memory_length) == 4 and start.start_ids is None
    state = start.state
    for position in range(target.shape[1]):
        logits, state, weights = model.decoding_step(target[:, position], state, start.context)
        np.testing.assert_allclose(ops.convert_to_numpy(logits), whole[:, position], atol=1e-5)
        assert np.all(ops.convert_to_numpy(weights)[1, 2:] < 1e-6)  # no attention on the padding


def small_model(**settings):
    model = models.Seq2Seq(source_vocab_size=SOURCE_VOCAB, target_vocab_size=TARGET_VOCAB, embedding_dim=6,
                           encoder_units=5, decoder_units=12, **settings)
    model.build(((None, None), (None, None)))
    return model


def test_get_config_from_config_round_trip():
    model = small_model(encoder_cell="lstm", decoder_cell="lstm", attention="bahdanau", input_feeding=True)
    again = models.Seq2Seq.from_config(model.get_config())
    assert again.get_config() == model.get_config()
    assert again.get_config()["input_feeding"] is True and again.get_config()["encoder_cell"] == "lstm"


def test_save_and_load_give_the_same_translations(tmp_path):
    model = small_model()
    source = np.array([[4, 5, 6, 7], [8, 9, 0, 0]], "int32")
    strategy = decoding.BeamSearch(3, 0.6)
    expected = decoding.decode(model, source, strategy, 6)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded, models.Seq2Seq)
    again = decoding.decode(loaded, source, strategy, 6)
    np.testing.assert_array_equal(ops.convert_to_numpy(again.ids), ops.convert_to_numpy(expected.ids))
    np.testing.assert_allclose(ops.convert_to_numpy(again.scores), ops.convert_to_numpy(expected.scores), atol=1e-6)


def test_a_model_saved_from_the_old_module_still_loads(tmp_path):
    """Bundles written when Seq2Seq lived in rnnapps.layers.seq2seq name that module: the registered name
    ("rnnapps>Seq2Seq") finds the class in its new module."""
    model = small_model()
    model.save(tmp_path / "new.keras")
    with zipfile.ZipFile(tmp_path / "new.keras") as new, zipfile.ZipFile(tmp_path / "old.keras", "w") as old:
        for item in new.infolist():
            content = new.read(item.filename)
            if item.filename == "config.json":
                saved = json.loads(content)
                assert saved["registered_name"] == "rnnapps>Seq2Seq"
                saved["module"] = "rnnapps.layers.seq2seq"
                content = json.dumps(saved).encode()
            old.writestr(item, content)
    loaded = keras.saving.load_model(tmp_path / "old.keras")
    assert isinstance(loaded, models.Seq2Seq)
    source = np.array([[4, 5, 6]], "int32")
    np.testing.assert_allclose(ops.convert_to_numpy(loaded((source, source))),
                               ops.convert_to_numpy(model((source, source))), atol=1e-6)


def test_build_model_follows_the_recipe_sections():
    recipe = config.load_recipe(recipes.TranslateRecipe, None, [
        "model.embedding_dim=8", "model.dropout_rate=0.2", "encoder.cell=\"lstm\"", "encoder.units=8",
        "encoder.num_layers=2", "encoder.bidirectional=false", "decoder.cell=\"simple_rnn\"", "decoder.units=8",
        "decoder.num_layers=2", "decoder.attention=\"luong_dot\"", "decoder.input_feeding=true",
        "decoder.tie_embeddings=true"])
    built = models.build_model(recipe, source_vocab_size=17, target_vocab_size=19)
    assert built.name == "translator"
    assert {key: value for key, value in built.get_config().items() if key in built.config_values} == dict(
        source_vocab_size=17, target_vocab_size=19, embedding_dim=8, encoder_cell="lstm", encoder_units=8,
        encoder_layers=2, bidirectional=False, decoder_cell="simple_rnn", decoder_units=8, decoder_layers=2,
        attention="luong_dot", dropout_rate=0.2, tie_embeddings=True, input_feeding=True)
