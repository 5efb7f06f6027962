"""The captioning recipe: the shipped recipes load under the current section names, and the old names
(`[decode]`, `decoder.max_length`) still load, with their new meaning and a warning."""

import logging
import pathlib

import pytest

from rnnapps.errors import UserError
from rnnapps.pipelines.caption import CaptionPipeline

TASKS_DIR = pathlib.Path(__file__).resolve().parents[3] / "tasks"
OLD_RECIPE = """
task = "caption"
[decoder]
units = 32
max_length = 12
[decode]
beam_size = 2
alpha = 0.3
"""


@pytest.mark.parametrize("name", ["caption-demo.toml", "caption-scenes.toml", "caption-flickr8k.toml"])
def test_shipped_recipes_use_the_current_names(name, caplog):
    with caplog.at_level(logging.WARNING, logger="rnnapps"):
        recipe = CaptionPipeline.load_recipe(TASKS_DIR / name)
    assert not caplog.records, [record.getMessage() for record in caplog.records]
    assert recipe.decoding.beam_size == 3 and recipe.max_output_length == recipe.data.max_caption_length + 5


def test_old_section_names_still_load_with_their_new_meaning(tmp_path, caplog):
    path = tmp_path / "old.toml"
    path.write_text(OLD_RECIPE, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="rnnapps"):
        recipe = CaptionPipeline.load_recipe(path)
    assert (recipe.decoding.beam_size, recipe.decoding.alpha) == (2, 0.3)
    assert recipe.data.max_caption_length == 12 and recipe.decoder.units == 32
    assert recipe.max_output_length == 17  # still 5 more than the longest training caption
    warnings = " ".join(record.getMessage() for record in caplog.records)
    assert "'decode' is now called 'decoding'" in warnings
    assert "'decoder.max_length' is now called 'data.max_caption_length'" in warnings
    assert CaptionPipeline.load_recipe(path, ["decoding.max_output_length=9"]).max_output_length == 9


def test_the_old_and_the_new_name_together_is_an_error(tmp_path):
    path = tmp_path / "both.toml"
    path.write_text(OLD_RECIPE + "[data]\nmax_caption_length = 20\n", encoding="utf-8")
    with pytest.raises(UserError, match="'decoder.max_length' and 'data.max_caption_length' are the same setting"):
        CaptionPipeline.load_recipe(path)


def test_the_caption_length_is_checked_under_its_new_name():
    with pytest.raises(UserError, match=r"data.max_caption_length = 1 must be between 2 and 500"):
        CaptionPipeline.load_recipe(None, ["data.max_caption_length=1"])
