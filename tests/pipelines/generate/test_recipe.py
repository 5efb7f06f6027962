"""The generation recipe: `[decoder]` and `[decoding]` sections, the old names `[rnn]` and `[sample]` still
loading (recipe files, --set overrides, bundles) with their new meaning, the demo data section, and the
checks of `validate` and `check_sampling`."""

import dataclasses
import logging
import re

import pytest

from rnnapps import config
from rnnapps.datasets import text_corpus
from rnnapps.errors import UserError
from rnnapps.pipelines.generate import recipe as recipes

OLD_RECIPE = """task = "generate"
[data]
source = "demo"
demo_characters = 5000
[rnn]
cell = "gru"
units = 48
num_layers = 3
[sample]
length = 77
temperature = 0.5
prompt = "KING:"
"""


def test_new_section_names():
    recipe = config.load_recipe(recipes.GenerateRecipe, None, ['decoder.cell="gru"', "decoding.top_k=4"])
    assert recipe.decoder.cell == "gru" and recipe.decoder.units == 256  # the task's default stack otherwise
    assert not recipe.decoder.bidirectional
    assert recipe.decoding == recipes.SamplingConfig(top_k=4)
    assert "rnn" not in config.recipe_to_dict(recipe) and "sample" not in config.recipe_to_dict(recipe)


def test_old_section_names_load_with_their_new_meaning(tmp_path, caplog):
    path = tmp_path / "old.toml"
    path.write_text(OLD_RECIPE, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="rnnapps.config"):
        recipe = config.load_recipe(recipes.GenerateRecipe, path, ["sample.top_p=0.9", "rnn.dropout_rate=0.1"])
    assert (recipe.decoder.cell, recipe.decoder.units, recipe.decoder.num_layers) == ("gru", 48, 3)
    assert recipe.decoder.dropout_rate == 0.1 and not recipe.decoder.bidirectional
    assert recipe.decoding == recipes.SamplingConfig(length=77, temperature=0.5, top_p=0.9, prompt="KING:")
    assert recipe.data.demo_characters == 5000
    assert "'rnn' is now called 'decoder'" in caplog.text and "'sample' is now called 'decoding'" in caplog.text


def test_a_bundle_written_with_the_old_names_loads():
    saved = config.recipe_to_dict(recipes.GenerateRecipe())
    saved["rnn"] = saved.pop("decoder")
    saved["sample"] = {**saved.pop("decoding"), "prompt": "ROMEO:\n"}
    recipe = config.from_dict(recipes.GenerateRecipe, saved, where="bundle/recipe.toml")
    assert recipe == dataclasses.replace(recipes.GenerateRecipe(),
                                         decoding=recipes.SamplingConfig(prompt="ROMEO:\n"))


def test_old_and_new_name_of_one_setting_is_an_error():
    with pytest.raises(UserError, match=re.escape("'rnn.units' and 'decoder.units' are the same setting")):
        config.load_recipe(recipes.GenerateRecipe, None, ["rnn.units=8", "decoder.units=16"])


def test_demo_data_section():
    data = recipes.GenerateRecipe().data
    assert isinstance(data, text_corpus.TextCorpusConfig)  # the shared reader's section, plus the demo play
    assert (data.source, data.demo_characters, data.demo_seed, data.validation_fraction) == ("demo", 60000, 0, 0.1)
    assert list(config.recipe_to_dict(recipes.GenerateRecipe())["data"]) == [
        "source", "validation_fraction", "encoding", "file_suffix", "tfds_data_dir", "tfds_text_key", "format",
        "keep_chords", "demo_characters", "demo_seed"]
    recipe = config.load_recipe(recipes.GenerateRecipe, None, ['data.source="input.txt"', "data.demo_seed=3"])
    assert (recipe.data.source, recipe.data.demo_seed) == ("input.txt", 3)


@pytest.mark.parametrize("override, message", [
    ("decoder.bidirectional=true", "recipe: decoder.bidirectional = true cannot generate text"),
    ('tokenizer.kind="word"', "recipe: tokenizer.kind = 'word', but generation reads characters"),
    ('embedding.pretrained_path="glove.txt"', "recipe: embedding.pretrained_path is for word vectors"),
    ("decoder.units=0", "recipe: decoder.units = 0 must be >= 1"),
    ("decoder.num_layers=17", "recipe: decoder.num_layers = 17 must be between 1 and 16"),
    ("decoder.dropout_rate=0.99", "recipe: decoder.dropout_rate = 0.99 must be between 0 and 0.95"),
    ("model.sequence_length=1", "recipe: model.sequence_length = 1 must be between 2 and 100000"),
    ("decoding.temperature=0", "recipe: decoding.temperature = 0.0 must be > 0"),
    ("decoding.top_p=0", "recipe: decoding.top_p = 0.0 must be in (0, 1]"),
    ("decoding.length=-1", "recipe: decoding.length = -1 must be between 0 and 100000 tokens"),
    ("rnn.bidirectional=true", "recipe: decoder.bidirectional = true cannot generate text"),  # the old name
])
def test_validate(override, message):
    with pytest.raises(UserError, match=re.escape(message)):
        config.load_recipe(recipes.GenerateRecipe, None, [override])


def test_musical_tokens_keep_case_which_is_pitch():
    assert config.load_recipe(recipes.GenerateRecipe, None, ['tokenizer.kind="abc"']).tokenizer.kind == "abc"
    with pytest.raises(UserError, match="tokenizer.lowercase = true folds pitch away"):
        config.load_recipe(recipes.GenerateRecipe, None, ['tokenizer.kind="abc"', "tokenizer.lowercase=true"])


def test_check_sampling():
    recipes.check_sampling(0, 0.1, 0, 1.0)
    recipes.check_sampling(recipes.MAX_SAMPLE_LENGTH, 5.0, 10, 1e-6)
    for arguments, message in [((10, float("inf"), 0, 1.0), "temperature = inf must be > 0"),
                               ((10, 1.0, -1, 1.0), "top_k = -1 must be >= 0 (0 = no top-k filter)"),
                               ((recipes.MAX_SAMPLE_LENGTH + 1, 1.0, 0, 1.0), "length = 100001 must be between 0")]:
        with pytest.raises(UserError, match=re.escape(message)):
            recipes.check_sampling(*arguments)
