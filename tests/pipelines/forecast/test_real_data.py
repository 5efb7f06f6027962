"""The real-data recipes read ../shared/data as the papers and the lesson do (skipped where it is absent)."""

import pathlib

import numpy as np
import pytest

from rnnapps.pipelines.forecast import ForecastPipeline, data

ROOT = pathlib.Path(__file__).resolve().parents[3]
TIMESERIES = ROOT.parent / "shared" / "data" / "timeseries"

pytestmark = [pytest.mark.real_data,
              pytest.mark.skipif(not TIMESERIES.is_dir(), reason=f"{TIMESERIES} is absent (real data)")]


@pytest.mark.parametrize("name, rows", [("ETTh1", 8640), ("ETTm1", 34560)])
def test_ett_recipe_gives_the_standard_split_for_either_file(monkeypatch, name, rows):
    monkeypatch.chdir(ROOT)  # the recipe's paths are relative to a checkout beside ../shared
    recipe = ForecastPipeline.load_recipe(ROOT / "tasks" / "forecast-ett.toml",
                                          [f'data.source="{TIMESERIES / "ett" / (name + ".csv")}"'])
    splits = data.read_splits(recipe.data, recipe.window)
    assert (splits.train.stop, splits.validation.stop, splits.test.stop) == (rows, rows * 4 // 3, rows * 5 // 3)
    assert splits.series.target_names == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    # every test window, stride 1, its history reaching back into the validation rows
    assert len(splits.test) == rows // 3 - recipe.window.horizon + 1


def test_stock_recipe_reads_the_lesson_files(monkeypatch):
    monkeypatch.chdir(ROOT)
    recipe = ForecastPipeline.load_recipe(ROOT / "tasks" / "forecast-stock.toml")
    splits = data.read_splits(recipe.data, recipe.window)
    assert len(splits.series) == 1258 + 20 and len(splits.test) == 20
    assert splits.series.target_names == ["Open"] and splits.series.frequency is None
    history, future = splits.test.windows()
    np.testing.assert_allclose(future[0, 0, 0], 778.81)  # the first opening price of January 2017
    np.testing.assert_allclose(history[0, -1, 0], splits.series.values[1257, 0])
