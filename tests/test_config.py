"""Recipes: defaults < TOML file < `--set` overrides, strict keys and types, validation, save/load."""

import dataclasses
import pathlib
import re
import tomllib
import typing
from typing import Literal

import pytest

from rnnapps import config, registry, sections
from rnnapps.errors import UserError
from rnnapps.pipelines.sentiment.recipe import SentimentRecipe


@dataclasses.dataclass(frozen=True)
class ModelSection:
    units: int = 8
    rate: float = 0.5
    cell: Literal["lstm", "gru"] = "gru"
    column: int | str = "text"
    names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class TinyRecipe:
    name: str = "tiny"
    model: ModelSection = dataclasses.field(default_factory=ModelSection)


RECIPE_TOML = """
seed = 7

[data]
source = "reviews.tsv"
header = false
text_column = 0
label_column = 1
labels = ["neg", "pos"]

[encoder]
cell = "lstm"
units = 32

[training]
learning_rate = 0.01
"""


@pytest.fixture
def recipe_file(tmp_path):
    path = tmp_path / "recipe.toml"
    path.write_text(RECIPE_TOML, encoding="utf-8")
    return path


def test_defaults_without_a_file():
    recipe = config.load_recipe(SentimentRecipe)
    assert recipe == SentimentRecipe()
    assert recipe.data.source == "demo:sentiment"
    assert recipe.encoder.units == 64


def test_file_values_override_defaults_and_keep_the_rest(recipe_file):
    recipe = config.load_recipe(SentimentRecipe, recipe_file)
    assert recipe.seed == 7
    assert recipe.data.source == "reviews.tsv"
    assert recipe.data.header is False
    assert recipe.data.text_column == 0 and recipe.data.label_column == 1
    assert recipe.data.labels == ("neg", "pos")
    assert recipe.encoder.cell == "lstm" and recipe.encoder.units == 32
    # Untouched keys keep their defaults, in touched and untouched sections.
    assert recipe.encoder.num_layers == 1 and recipe.encoder.bidirectional is True
    assert recipe.tokenizer == sections.TokenizerConfig()
    assert recipe.training.learning_rate == 0.01
    assert recipe.training.batch_size == 64


def test_overrides_win_over_the_file(recipe_file):
    recipe = config.load_recipe(SentimentRecipe, recipe_file, [
        "encoder.units=256",
        'data.labels=["a","b"]',
        "data.source=foo.tsv",
        "encoder.cell=gru",
        'head.pooling="attention"',
        "seed=3",
        "training.bucketing=false",
    ])
    assert recipe.encoder.units == 256
    assert recipe.data.labels == ("a", "b")
    assert recipe.data.source == "foo.tsv"
    assert recipe.encoder.cell == "gru"
    assert recipe.head.pooling == "attention"
    assert recipe.seed == 3
    assert recipe.training.bucketing is False
    # The file's other values stay.
    assert recipe.data.header is False and recipe.training.learning_rate == 0.01


def test_override_of_a_colon_value_is_a_plain_string():
    recipe = config.load_recipe(SentimentRecipe, overrides=["data.source=tfds:imdb_reviews"])
    assert recipe.data.source == "tfds:imdb_reviews"


def test_recipe_is_frozen():
    recipe = config.load_recipe(SentimentRecipe)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.seed = 1


def test_unknown_key_names_the_dotted_key_and_the_known_keys():
    with pytest.raises(UserError) as error:
        config.load_recipe(TinyRecipe, overrides=["model.unitz=3"])
    assert str(error.value) == (
        "--set: unknown key 'model.unitz'; known keys in [model]: cell, column, names, rate, units")


def test_unknown_key_in_a_file_names_the_file(recipe_file):
    recipe_file.write_text(RECIPE_TOML + "\n[encoder2]\nunits = 3\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        config.load_recipe(SentimentRecipe, recipe_file)
    assert str(error.value) == (
        f"{recipe_file}: unknown key 'encoder2'; known keys in the top level: "
        "adversarial, data, embedding, encoder, head, pretraining, seed, task, tokenizer, training")


def test_unknown_key_in_a_real_section(recipe_file):
    with pytest.raises(UserError, match=re.escape("unknown key 'encoder.unitz'; known keys in [encoder]: "
                                                  "bidirectional, cell, dropout_rate, num_layers, "
                                                  "recurrent_dropout_rate, units")):
        config.load_recipe(SentimentRecipe, recipe_file, ["encoder.unitz=3"])


@pytest.mark.parametrize("override, message", [
    ("model.units=eight", "--set: model.units = 'eight' must be of type int"),
    ("model.units=true", "--set: model.units = True must be a number"),
    ("model.units=1.5", "--set: model.units = 1.5 must be of type int"),
    ("model.rate=false", "--set: model.rate = False must be a number"),
    ("model.cell=rnn", "--set: model.cell = 'rnn' is not one of 'lstm', 'gru'"),
    ("model.names=abc", "--set: model.names must be a list, got 'abc'"),
    ("model.names=[1]", "--set: model.names[0] = 1 must be of type str"),
    ("model=3", "--set: 'model' must be a section (a TOML table)"),
    ("name=[1]", "--set: name = [1] must be of type str"),
])
def test_wrong_types_name_the_key(override, message):
    with pytest.raises(UserError) as error:
        config.load_recipe(TinyRecipe, overrides=[override])
    assert str(error.value) == message


def test_union_field_rejects_a_bool():
    with pytest.raises(UserError) as error:
        config.load_recipe(TinyRecipe, overrides=["model.column=true"])
    assert str(error.value).startswith("--set: model.column = True has the wrong type")


def test_a_bad_override_names_set_not_the_recipe_file(recipe_file):
    with pytest.raises(UserError) as error:
        config.load_recipe(SentimentRecipe, recipe_file, ["encoder.units=many"])
    assert str(error.value) == "--set: encoder.units = 'many' must be of type int"
    recipe_file.write_text(RECIPE_TOML.replace("units = 32", 'units = "32"'), encoding="utf-8")
    with pytest.raises(UserError) as error:  # the file's own mistake still names the file, --set or not
        config.load_recipe(SentimentRecipe, recipe_file, ["encoder.units=16"])
    assert str(error.value).startswith(f"{recipe_file}: ")


def test_wrong_type_in_a_file_names_file_and_key(recipe_file):
    recipe_file.write_text(RECIPE_TOML.replace("units = 32", 'units = "32"'), encoding="utf-8")
    with pytest.raises(UserError) as error:
        config.load_recipe(SentimentRecipe, recipe_file)
    assert str(error.value) == f"{recipe_file}: encoder.units = '32' must be of type int"


def test_int_is_accepted_for_float():
    recipe = config.load_recipe(SentimentRecipe, overrides=["training.learning_rate=1", "training.max_minutes=5"])
    assert recipe.training.learning_rate == 1.0 and type(recipe.training.learning_rate) is float
    assert type(recipe.training.max_minutes) is float


def test_int_or_str_fields_accept_both():
    recipe = config.load_recipe(SentimentRecipe, overrides=["data.text_column=2", "data.label_column=sentiment"])
    assert recipe.data.text_column == 2 and type(recipe.data.text_column) is int
    assert recipe.data.label_column == "sentiment"
    tiny = config.load_recipe(TinyRecipe, overrides=['model.column="3"'])
    assert tiny.model.column == "3"


@pytest.mark.parametrize("bad", ["no_equals_sign", "=3", " =3"])
def test_malformed_override(bad):
    with pytest.raises(UserError) as error:
        config.load_recipe(TinyRecipe, overrides=[bad])
    assert str(error.value) == f"--set expects section.key=value, got {bad!r}"


def test_save_then_load_round_trips_exactly(tmp_path, recipe_file):
    recipe = config.load_recipe(SentimentRecipe, recipe_file, [
        "data.text_column=0", "training.learning_rate=0.00123", "head.hidden_units=16",
        "embedding.pretrained_path=x y"])
    path = tmp_path / "run" / "recipe.toml"
    config.save_recipe(recipe, path)
    assert not path.with_name("recipe.toml.tmp").exists()
    again = config.load_recipe(SentimentRecipe, path)
    assert again == recipe
    assert config.recipe_to_dict(again) == config.recipe_to_dict(recipe)
    # The defaults survive too (empty tuple, empty strings).
    config.save_recipe(SentimentRecipe(), path)
    assert config.load_recipe(SentimentRecipe, path) == SentimentRecipe()


def test_recipe_to_dict_is_plain():
    plain = config.recipe_to_dict(SentimentRecipe(data=dataclasses.replace(SentimentRecipe().data, labels=("a", "b"))))
    assert plain["data"]["labels"] == ["a", "b"]
    assert plain["encoder"] == {"cell": "gru", "units": 64, "num_layers": 1, "bidirectional": True,
                                "dropout_rate": 0.0, "recurrent_dropout_rate": 0.0}


@pytest.mark.parametrize("override, message", [
    ("encoder.units=0", "recipe: encoder.units = 0 must be >= 1"),
    ("encoder.num_layers=17", "recipe: encoder.num_layers = 17 must be between 1 and 16"),
    ("data.validation_fraction=0.95", "recipe: data.validation_fraction = 0.95 must be between 0 and 0.9"),
    ("head.dropout_rate=-0.1", "recipe: head.dropout_rate = -0.1 must be between 0 and 0.95"),
    ("tokenizer.vocab_size=4", "recipe: tokenizer.vocab_size = 4 must be >= 5"),
])
def test_validate_rejects_out_of_range_values(override, message):
    with pytest.raises(UserError) as error:
        config.load_recipe(SentimentRecipe, overrides=[override])
    assert str(error.value) == message


def test_validate_on_a_built_recipe():
    recipe = SentimentRecipe(encoder=sections.RecurrentConfig(units=0))
    with pytest.raises(UserError) as error:
        config.validate(recipe)
    assert str(error.value) == "recipe: encoder.units = 0 must be >= 1"
    config.validate(SentimentRecipe())  # the defaults are valid


def test_check_range_bounds():
    sections.check_range("r", "k", 5, 5, 5)
    with pytest.raises(UserError, match=r"^r: k = 6 must be <= 5$"):
        sections.check_range("r", "k", 6, None, 5)


def test_missing_recipe_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(UserError) as error:
        config.load_recipe(SentimentRecipe, path)
    assert str(error.value) == f"recipe file {path} does not exist"


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[encoder]\nunits = = 3\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        config.load_recipe(SentimentRecipe, path)
    assert str(error.value).startswith(f"recipe {path} is not valid TOML: ")
    assert "line 2" in str(error.value)


def test_non_utf8_recipe_names_the_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'task = "caf\xe9"\n')
    with pytest.raises(UserError, match=f"^recipe {re.escape(str(path))} is not valid TOML: "):
        config.load_recipe(SentimentRecipe, path)


def test_a_section_given_in_part_keeps_the_tasks_own_defaults():
    from rnnapps.pipelines.translate.recipe import TranslateRecipe

    recipe = config.load_recipe(TranslateRecipe, None, ['data.source="x.tsv"', "encoder.units=7"])
    assert recipe.data.source == "x.tsv" and recipe.data.max_length == 50
    assert recipe.encoder.units == 7 and recipe.encoder.bidirectional is True
    assert recipe.source_tokenizer.kind == "subword"


@dataclasses.dataclass(frozen=True)
class _Search:
    beam_size: int = 4


@dataclasses.dataclass(frozen=True)
class _Stack:
    cell: str = "gru"
    units: int = 8


@dataclasses.dataclass(frozen=True)
class _RenamedRecipe:
    renamed_keys: typing.ClassVar[dict[str, str]] = {"decode": "decoding", "model.encoder": "encoder",
                                                     "model.cell": "encoder.cell"}
    decoding: _Search = dataclasses.field(default_factory=_Search)
    encoder: _Stack = dataclasses.field(default_factory=_Stack)


def test_renamed_sections_and_keys_load_under_their_new_names(tmp_path, caplog):
    path = tmp_path / "old.toml"
    path.write_text("[decode]\nbeam_size = 2\n[model.encoder]\nunits = 16\n[model]\ncell = \"lstm\"\n",
                    encoding="utf-8")
    with caplog.at_level("WARNING", logger="rnnapps.config"):
        recipe = config.load_recipe(_RenamedRecipe, path, ["decode.beam_size=3"])
    assert recipe == _RenamedRecipe(_Search(3), _Stack("lstm", 16))
    assert f"{path}: 'decode' is now called 'decoding'" in caplog.text
    assert "'model.encoder' is now called 'encoder'" in caplog.text


def test_a_setting_given_under_both_names_is_an_error(tmp_path):
    path = tmp_path / "both.toml"
    path.write_text("[decode]\nbeam_size = 2\n[decoding]\nbeam_size = 3\n", encoding="utf-8")
    with pytest.raises(UserError, match=re.escape("'decode.beam_size' and 'decoding.beam_size' are the same "
                                                  "setting ('decode' is the old name of 'decoding')")):
        config.load_recipe(_RenamedRecipe, path)


@pytest.mark.parametrize("path", sorted((pathlib.Path(config.__file__).parent / "recipes").glob("*.toml")),
                         ids=lambda path: path.stem)
def test_every_shipped_recipe_loads_and_validates(path):
    task = registry.get(tomllib.loads(path.read_text(encoding="utf-8"))["task"])
    recipe = task.pipeline_class().load_recipe(path, [])
    recipe.validate()
    assert recipe.task == task.name
