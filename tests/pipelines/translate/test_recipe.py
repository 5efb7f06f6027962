"""The translation recipe: the sections renamed for the per-task package still load with their old names (in
recipe files, --set and old bundles' recipe.toml) and mean the same; the two length fields; encoder dropout
settings that translate would ignore are refused."""

import logging
import pathlib
import textwrap

import pytest

from rnnapps import config
from rnnapps.errors import UserError
from rnnapps.pipelines.translate import recipe as recipes

TASKS = pathlib.Path(__file__).resolve().parents[3] / "tasks"

# tasks/translate-demo.toml as it was written before [encoder], [decoder] and [decoding] (comments left out).
OLD_DEMO_RECIPE = """
task = "translate"
seed = 3

[data]
source = "demo:translation"
max_length = 16

[source_tokenizer]
kind = "word"
vocab_size = 200

[target_tokenizer]
kind = "word"
vocab_size = 200

[model]
embedding_dim = 64
decoder_cell = "gru"
decoder_units = 128
attention = "luong_general"
dropout_rate = 0.1

[model.encoder]
cell = "gru"
units = 64
bidirectional = true

[decode]
beam_size = 4
alpha = 0.6

[training]
epochs = 6
batch_size = 64
learning_rate = 0.005
lr_schedule = "cosine"
early_stopping_patience = 0
"""


def load(*overrides, path=None):
    return config.load_recipe(recipes.TranslateRecipe, path, list(overrides))


def test_an_old_recipe_loads_as_the_new_one(tmp_path, caplog):
    path = tmp_path / "old.toml"
    path.write_text(OLD_DEMO_RECIPE, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        old = load(path=path)
    assert old == load(path=TASKS / "translate-demo.toml")
    for name, new in (("model.encoder", "encoder"), ("model.decoder_cell", "decoder.cell"), ("decode", "decoding")):
        assert f"'{name}' is now called '{new}'" in caplog.text


def test_every_old_key_moves_to_its_new_place():
    old = load("model.decoder_cell=\"lstm\"", "model.decoder_units=48", "model.decoder_layers=2",
               "model.attention=\"bahdanau\"", "model.input_feeding=true", "model.tie_embeddings=true",
               "model.embedding_dim=48", "model.encoder.units=24", "model.encoder.cell=\"lstm\"",
               "decode.beam_size=2", "decode.alpha=0.3", "decode.max_output_length=9")
    assert old.decoder == recipes.DecoderConfig(cell="lstm", units=48, num_layers=2, attention="bahdanau",
                                                input_feeding=True, tie_embeddings=True)
    assert (old.encoder.units, old.encoder.cell, old.encoder.bidirectional) == (24, "lstm", True)
    assert (old.decoding.beam_size, old.decoding.alpha, old.decoding.max_output_length) == (2, 0.3, 9)
    assert old.model == recipes.ModelConfig(embedding_dim=48)
    assert set(recipes.TranslateRecipe.renamed_keys.values()) <= {
        "encoder", "decoding", *(f"decoder.{key}" for key in recipes.DecoderConfig.__dataclass_fields__)}


def test_an_old_bundles_recipe_toml_loads_with_the_same_meaning():
    """The resolved recipe an old bundle holds: every field written out under the old names."""
    saved = {
        "task": "translate", "seed": 3, "shared_tokenizer": False,
        "data": {"source": "demo:translation", "max_length": 16},
        "model": {"embedding_dim": 64, "encoder": {"cell": "gru", "units": 64, "num_layers": 1, "bidirectional": True,
                                                   "dropout_rate": 0.0, "recurrent_dropout_rate": 0.0},
                  "decoder_cell": "gru", "decoder_units": 128, "decoder_layers": 1, "attention": "luong_general",
                  "dropout_rate": 0.1, "tie_embeddings": False, "input_feeding": False, "label_smoothing": 0.0},
        "decode": {"beam_size": 4, "alpha": 0.6, "max_output_length": 0},
    }
    recipe = config.from_dict(recipes.TranslateRecipe, saved, where="bundle/recipe.toml")
    assert recipe.encoder.units == 64 and recipe.decoder.units == 128 and recipe.decoding.beam_size == 4
    assert recipe.max_pair_length == recipe.data.max_length == 16 and recipe.max_output_length == 26
    # What this version writes reads back the same.
    assert config.from_dict(recipes.TranslateRecipe, config.recipe_to_dict(recipe)) == recipe


def test_old_and_new_name_together_is_an_error():
    with pytest.raises(UserError, match=r"'decode\.beam_size' and 'decoding\.beam_size' are the same setting"):
        load("decode.beam_size=2", "decoding.beam_size=3")


def test_max_pair_length_defaults_to_max_length():
    recipe = load("data.max_length=20")
    assert (recipe.data.max_length, recipe.data.max_pair_length, recipe.max_pair_length) == (20, 0, 20)
    recipe = load("data.max_length=20", "data.max_pair_length=12")
    assert (recipe.data.max_length, recipe.max_pair_length, recipe.max_output_length) == (20, 12, 30)
    with pytest.raises(UserError, match=r"^recipe: data\.max_pair_length = -1 must be >= 0$"):
        load("data.max_pair_length=-1")


def test_the_recipe_names_the_length_field_in_force():
    """Messages about dropped pairs name the field the user would raise: max_pair_length when set, else
    max_length (recipes written before max_pair_length); the truncation is max_length either way."""
    recipe = load("data.max_length=20")
    assert (recipe.pair_length_field, recipe.max_source_length) == (("data.max_length", 20), 20)
    recipe = load("data.max_length=20", "data.max_pair_length=12")
    assert (recipe.pair_length_field, recipe.max_source_length) == (("data.max_pair_length", 12), 20)


@pytest.mark.parametrize("key", ["dropout_rate", "recurrent_dropout_rate"])
def test_encoder_dropout_settings_are_refused_not_ignored(key):
    message = (f"recipe: encoder.{key} = 0.3 is not used by translate; the encoder's dropout is model.dropout_rate: "
               f"remove encoder.{key} and set model.dropout_rate")
    for override in (f"encoder.{key}=0.3", f"model.encoder.{key}=0.3"):
        with pytest.raises(UserError) as error:
            load(override)
        assert str(error.value) == message
    assert getattr(load(f"encoder.{key}=0.0").encoder, key) == 0.0


def test_range_errors_name_the_new_keys(tmp_path):
    with pytest.raises(UserError, match=r"^recipe: decoding\.beam_size = 0 must be between 1 and 64$"):
        load("decode.beam_size=0")
    with pytest.raises(UserError) as error:
        load("decoder.tie_embeddings=true", "model.embedding_dim=32", "decoder.units=64")
    assert str(error.value) == ("recipe: decoder.tie_embeddings needs model.embedding_dim (32) == decoder.units "
                                "(64)")
    path = tmp_path / "recipe.toml"
    path.write_text(textwrap.dedent("""
        [decoder]
        cells = "gru"
    """), encoding="utf-8")
    with pytest.raises(UserError, match=r"unknown key 'decoder\.cells'"):
        load(path=path)
