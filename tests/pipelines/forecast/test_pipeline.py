"""The forecast pipeline end to end on the generated demo series: it beats the naive baselines, the bundle and
the SavedModel (loaded with plain TensorFlow) give the same numbers in the data's units, the CLI predicts files,
plots and backtests, and bad input is a one-line error."""

import json

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from rnnapps import cli
from rnnapps.errors import UserError
from rnnapps.pipelines.forecast import ForecastPipeline, demo_data


def run_cli(*args):
    return CliRunner().invoke(cli.cli, ["-q", *map(str, args)])


def assert_one_line_error(result, fragment):
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr


@pytest.fixture(scope="module")
def history_csv(tmp_path_factory):
    """The demo series as a CSV file (what a user would pass to predict)."""
    return demo_data.write_csv(tmp_path_factory.mktemp("series") / "demo.csv")


def test_learns_the_demo_series_and_reports_the_baselines_beside_it(forecast_run):
    report = ForecastPipeline.from_bundle(forecast_run).metrics["test"]
    assert report["beats"]["naive"] and report["beats"]["seasonal_naive"], report
    assert report["model"]["mse"] < 0.5 * report["baselines"]["seasonal_naive"]["mse"]
    assert set(report["baselines"]) == {"naive", "seasonal_naive", "linear"}
    (interval,) = report["intervals"]
    assert interval["nominal"] == pytest.approx(0.8) and 0.5 < interval["coverage"] < 0.98
    assert report["windows"] == 313 and report["first_forecast"].startswith("2026-")


def test_bundle_contents(forecast_run):
    names = {p.name for p in (forecast_run / "bundle").iterdir()}
    assert {"model.keras", "recipe.toml", "metrics.json", "metadata.json", "linear_baseline.npz", "forecast.png",
            "training_curves.png", "history.csv"} <= names
    metadata = json.loads((forecast_run / "bundle" / "metadata.json").read_text())
    assert metadata["target_names"] == ["load", "temperature"] and metadata["frequency"] == "h"


def test_prediction_continues_the_file_in_its_units(forecast_run, history_csv):
    pipeline = ForecastPipeline.from_bundle(forecast_run)
    result = pipeline(str(history_csv))
    assert result["history_end"] == "2026-03-15 23:00:00"
    assert result["timestamps"][:2] == ["2026-03-16T00:00:00", "2026-03-16T01:00:00"]
    assert len(result["timestamps"]) == 24
    load = np.asarray(result["forecast"]["load"])
    low, high = np.asarray(result["quantiles"]["0.1"]["load"]), np.asarray(result["quantiles"]["0.9"]["load"])
    assert 30 < load.mean() < 80 and (low <= high).all()  # data units (the load swings around 50), not scaled
    assert ForecastPipeline.from_bundle(forecast_run / "bundle")(str(history_csv)) == result


def test_savedmodel_answers_raw_history_with_the_bundles_numbers(forecast_run, tmp_path, history_csv):
    pipeline = ForecastPipeline.from_bundle(forecast_run)
    path = pipeline.export(tmp_path / "saved_model")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    series = pipeline.history_series(str(history_csv))
    history = series.values[None, -200:]  # longer than L: the last 168 rows are read
    out = serve(history=tf.constant(history))
    expected = pipeline(str(history_csv))
    np.testing.assert_allclose(out["forecast"].numpy()[0, :, 0], expected["forecast"]["load"], rtol=1e-5)
    np.testing.assert_allclose(out["quantiles"].numpy()[0, :, 1, 2], expected["quantiles"]["0.9"]["temperature"],
                               rtol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"history must have 2 channels \(load, temperature\)"):
        serve(history=tf.constant(history[..., :1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least 168 steps"):
        serve(history=tf.constant(history[:, :100]))
    broken = history.copy()
    broken[0, -3, 1] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinite"):
        serve(history=tf.constant(broken))


def test_cli_predict_plots_and_prints_json(forecast_run, tmp_path, history_csv):
    picture = tmp_path / "forecast.png"
    result = run_cli("forecast", "predict", history_csv, "--bundle", forecast_run, "--plot", picture, "--json")
    assert result.exit_code == 0, result.output
    (answer,) = json.loads(result.stdout)
    assert len(answer["forecast"]["temperature"]) == 24
    assert picture.is_file() and picture.stat().st_size > 10_000
    table = run_cli("forecast", "predict", history_csv, "--bundle", forecast_run)
    assert table.exit_code == 0 and "2026-03-16T00:00:00\t" in table.stdout


def test_cli_evaluate_backtests_and_scores_other_files(forecast_run, history_csv):
    result = run_cli("forecast", "evaluate", "--bundle", forecast_run, "--backtest", "--backtest-step", "48")
    assert result.exit_code == 0, result.output
    assert "backtest: 7 origins every 48 rows" in result.stdout and "seasonal_naive" in result.stdout
    scored = run_cli("forecast", "evaluate", "--bundle", forecast_run, "--data", history_csv, "--json")
    assert json.loads(scored.stdout)["windows"] == len(demo_data.series()[0]) - 168 - 24 + 1
    stored = ForecastPipeline.from_bundle(forecast_run).metrics
    assert "test:backtest48" in stored and f"data:{history_csv}" in stored


@pytest.mark.parametrize("content, fragment", [
    ("date,load\n2026-01-01 00:00,1\n", "has no column 'temperature'"),
    ("", "is empty"),
    ("date,load,temperature\n" + "".join(f"2026-01-01 {h:02d}:00,1,2\n" for h in range(10)), "has 10 rows"),
    ("date,load,temperature\n" + "".join(f"2026-01-{1 + h // 24:02d} {h % 24:02d}:00,1,{'' if h == 190 else 2}\n"
                                         for h in range(200)), "line 192 (2026-01-08T22:00:00): no value for"),
    ("date,load,temperature\n2026-01-01 00:00,1,2\n2026-01-01 00:00,1,2\n", "repeats the timestamp"),
])
def test_cli_bad_history_is_a_one_line_error(forecast_run, tmp_path, content, fragment):
    path = tmp_path / "history.csv"
    path.write_text(content, encoding="utf-8")
    assert_one_line_error(run_cli("forecast", "predict", path, "--bundle", forecast_run), fragment)


def test_recipe_values_that_do_not_fit_are_refused():
    with pytest.raises(UserError, match="seasonal_period = 200 rows is longer than window.lookback"):
        ForecastPipeline.load_recipe(None, ["baselines.seasonal_period=200"])
    with pytest.raises(UserError, match="model.quantiles must be increasing"):
        ForecastPipeline.load_recipe(None, ["model.quantiles=[0.9, 0.1]"])
    with pytest.raises(UserError, match="must divide window.lookback"):
        ForecastPipeline.load_recipe(None, ["model.segment_length=7"])
    for key in ("lookback", "horizon", "train_stride"):  # the [window] section checks itself
        with pytest.raises(UserError, match=rf"recipe: window.{key} = 0 must be >= 1"):
            ForecastPipeline.load_recipe(None, [f"window.{key}=0"])


def test_seasonal_period_as_a_duration_follows_the_series_spacing():
    from rnnapps.pipelines.forecast.recipe import season_rows

    assert season_rows("1D", "h", 168) == 24 and season_rows("1D", "15min", 720) == 96
    assert season_rows(12, None, 24) == 12
    with pytest.raises(UserError, match="not a whole number of h rows"):
        season_rows("90min", "h", 168)
    with pytest.raises(UserError, match="needs a regularly spaced series"):
        season_rows("1D", None, 168)
    with pytest.raises(UserError, match="longer than window.lookback"):
        season_rows("7D", "h", 100)


@pytest.mark.parametrize("content, fragment", [
    ("date,load\n2026-01-01,1\n2026-01-02,x7\n", "line 3, column 'load': 'x7' is not a number"),
    ("date,load\n" + "".join(f"2026-01-{d:02d},{d}\n" for d in range(1, 21)), "fewer than window.lookback"),
])
def test_cli_train_on_bad_data_is_a_one_line_error(tmp_path, content, fragment):
    path = tmp_path / "series.csv"
    path.write_text(content, encoding="utf-8")
    result = run_cli("forecast", "train", "--out", tmp_path / "run", "--set", f'data.source="{path}"',
                     "--set", "baselines.seasonal_period=0")
    assert_one_line_error(result, fragment)
