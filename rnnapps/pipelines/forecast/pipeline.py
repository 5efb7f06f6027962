"""Forecasting: a recurrent forecaster trained on windows of a series, scored on every held-out window against
the naive, seasonal naive and linear baselines, exported as a SavedModel that maps raw history to the forecast
and its quantiles in the data's units."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from rnnapps import atomic, plots, serving_examples
from rnnapps.errors import UserError
from rnnapps.pipelines import base
from rnnapps.pipelines.forecast import baselines, data, demo_data, evaluation, losses, preprocess, serving
from rnnapps.pipelines.forecast import model as models
from rnnapps.pipelines.forecast import recipe as recipes

log = logging.getLogger(__name__)

FORECAST_PLOT = "forecast.png"


class ForecastPipeline(base.Pipeline):
    """Forecasting: `pipeline("history.csv") -> {"timestamps": [...], "forecast": {"OT": [...]}, ...}`."""

    task = "forecast"
    recipe_cls = recipes.ForecastRecipe
    preprocessor_cls = preprocess.ForecastPreprocessor
    examples_name = "windows"
    demo_inputs = (demo_data.SOURCE,)

    def make_serving(self) -> serving.ForecastServing:
        return serving.ForecastServing(self.preprocessor, self.model)

    # ------------------------------------------------------------------ training hooks

    @classmethod
    def read_data(cls, recipe: recipes.ForecastRecipe) -> data.SeriesSplits:
        splits = data.read_splits(recipe.data, recipe.window)
        series = splits.series
        covariates = f", covariates {', '.join(series.covariate_names)}" if series.covariate_names else ""
        log.info("series: %d rows%s, forecasting %s%s; L = %d, H = %d", len(series),
                 f" every {series.frequency}" if series.frequency else "", ", ".join(series.target_names), covariates,
                 recipe.window.lookback, recipe.window.horizon)
        return splits

    @classmethod
    def plan_training(cls, recipe: recipes.ForecastRecipe, preprocessor: preprocess.ForecastPreprocessor,
                      splits: data.SeriesSplits, run_dir: pathlib.Path) -> base.TrainingPlan:
        """Shuffled training windows (every window_stride-th), all validation windows, the recipe's loss."""
        batch_size, stride = recipe.training.batch_size, recipe.window.train_stride
        train = preprocessor.batches(splits.train, batch_size, shuffle=True, seed=recipe.seed, stride=stride,
                                     full_batches=recipe.training.full_batches)
        validation = preprocessor.batches(splits.validation, batch_size, shuffle=False, seed=recipe.seed) \
            if len(splits.validation) else None
        windows = len(splits.train.starts(stride))

        def build_model():
            model = models.build_model(recipe, len(preprocessor.target_names), len(preprocessor.covariate_names))
            if recipe.model.linear_skip:
                linear = preprocessor.linear_baseline
                model.start_from_linear(linear.weights, linear.bias)
            return model

        return base.TrainingPlan(
            build_model=build_model,
            train_data=train, validation_data=validation, examples_per_epoch=windows,
            loss=losses.ForecastLoss(recipe.model.quantiles, recipe.model.point_loss,
                                     recipe.model.quantile_loss_weight),
            metrics=[losses.PointError("mse"), losses.PointError("mae")],
            summary={"train_windows": windows, "validation_windows": len(splits.validation)})

    def serving_examples(self, splits: data.SeriesSplits) -> dict[str, Any]:
        """The history before the last held-out window (2 L rows, when there are), with the channel names."""
        split = serving_examples.held_out(splits, self.held_out_split)
        starts = split.starts()
        end = int(starts[-1]) if len(starts) else len(splits.series)
        rows = splits.series.values[max(0, end - 2 * self.recipe.window.lookback):end].astype(np.float64)
        return {"inputs": {"history": [np.round(rows, 6).tolist()]}, "columns": splits.series.channel_names,
                "frequency": splits.series.frequency}

    def bundle_artifacts(self, splits: data.SeriesSplits, report: dict[str, Any]
                         ) -> dict[str, Callable[[pathlib.Path], Any]]:
        """The linear baseline's weights, and forecast.png: the last held-out window (or the last training
        window when there is none) against its actual values."""
        held_out = next(split for split in (splits.test, splits.validation, splits.train) if len(split))
        return {baselines.LinearBaseline.FILE: self.preprocessor.linear_baseline.save,
                FORECAST_PLOT: lambda path: self.plot_window(held_out, int(held_out.starts()[-1]), path)}

    # ------------------------------------------------------------------ use

    def forecast_arrays(self, history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw history float [batch, time >= L, channels] -> (forecast [batch, H, targets], quantiles
        [batch, H, targets, Q]) in data units, through the serving module (the SavedModel's graph)."""
        outputs = self.serving.forecast(tf.constant(np.asarray(history, np.float32)))
        return outputs["forecast"].numpy(), outputs["quantiles"].numpy()

    def history_series(self, source: str | data.Series) -> data.Series:
        """The series a prediction starts from: a file (or 'demo:forecast') in the recipe's format, read with
        the bundle's columns.

        Raises:
            UserError: as `data.read_series`, fewer than L rows, or a missing value in the last L rows.
        """
        if isinstance(source, data.Series):
            series = source
        elif isinstance(source, (str, pathlib.Path)):
            # The training file's split settings do not apply; gaps and missing values follow the recipe.
            series = data.read_series(self.recipe.data, str(source), columns=self.preprocessor.channel_names,
                                      field="the history file")
        else:
            raise UserError(f"a forecast input is a file name or a data.Series, not a {type(source).__name__}")
        lookback = self.recipe.window.lookback
        if len(series) < lookback:
            raise UserError(f"{series.source} has {len(series)} rows; the model reads the last {lookback} "
                            "(window.lookback)")
        return series

    def predict(self, inputs, **options) -> list[dict[str, Any]]:
        """Forecast the H rows after each history.

        Args:
            inputs: file names (CSV/TSV with the bundle's columns; the last L rows are read) or `data.Series`.
            **options: plot: write each forecast as a PNG here (several inputs: NAME-2.png, NAME-3.png, ...).

        Returns:
            One {"source", "history_end", "timestamps" (ISO, or step numbers when irregular), "forecast":
            {target: [H values]}, "quantiles": {level: {target: [H values]}}} per input, in data units.
        """
        return super().predict(inputs, **options)

    def prediction_items(self, inputs: list[Any], **options) -> list[data.Series]:
        """The series each input names, read and checked (`history_series`)."""
        return [self.history_series(source) for source in inputs]

    def prediction_function(self, **options):
        """Forecasts of a batch of series from the last L rows of each."""
        return lambda batch: self.serving.forecast(tf.constant(
            np.stack([series.values[-self.recipe.window.lookback:] for series in batch]).astype(np.float32)))

    def prediction_result(self, series: data.Series, outputs: dict[str, Any]) -> dict[str, Any]:
        return self._result(series, outputs["forecast"], outputs["quantiles"])

    def after_prediction(self, items: list[data.Series], results: list[dict[str, Any]], plot: str | None = None,
                         **options) -> None:
        """`plot`: draw each forecast with its history into this PNG (NAME-2.png, ... for later inputs)."""
        if not plot:
            return
        names, levels = self.preprocessor.target_names, [f"{level:g}" for level in self.preprocessor.quantiles]
        for index, (series, result) in enumerate(zip(items, results)):
            forecast = np.array([result["forecast"][name] for name in names]).T  # [H, targets]
            quantiles = np.array([[result["quantiles"][level][name] for name in names] for level in levels]
                                 ).transpose(2, 1, 0)  # [H, targets, quantiles]
            self._plot(series, len(series), forecast, quantiles, None, atomic.numbered(plot, index))

    def _result(self, series: data.Series, forecast: np.ndarray, quantiles: np.ndarray) -> dict[str, Any]:
        names = self.preprocessor.target_names
        horizon = self.recipe.window.horizon
        timestamps = data.future_timestamps(series, horizon)
        return {
            "source": series.source,
            "history_end": series.row_time(len(series) - 1),
            "timestamps": timestamps or [f"+{step}" for step in range(1, horizon + 1)],
            "forecast": {name: forecast[:, c].tolist() for c, name in enumerate(names)},
            "quantiles": {f"{level:g}": {name: quantiles[:, c, q].tolist() for c, name in enumerate(names)}
                          for q, level in enumerate(self.preprocessor.quantiles)},
        }

    def plot_window(self, split: data.WindowSplit, start: int, path: pathlib.Path) -> pathlib.Path:
        """Draw the forecast of the window whose first forecast row is `start` against its actual values."""
        history, actual = split.windows(np.asarray([start]))
        forecast, quantiles = self.forecast_arrays(history)
        return self._plot(split.series, start, forecast[0], quantiles[0], actual[0], path)

    def _plot(self, series: data.Series, end: int, forecast: np.ndarray, quantiles: np.ndarray,
              actual: np.ndarray | None, path: pathlib.Path) -> pathlib.Path:
        """A forecast made from the L rows before row `end` of `series`."""
        pre, window = self.preprocessor, self.recipe.window
        rows = np.arange(end - window.lookback, end)
        if series.timestamps is not None and series.frequency:
            history_x = series.timestamps[rows]
            step = np.diff(series.timestamps[-2:])[0] if len(series) > 1 else np.timedelta64(1, "h")
            forecast_x = series.timestamps[end - 1] + step * np.arange(1, window.horizon + 1)
        else:
            history_x, forecast_x = rows, np.arange(end, end + window.horizon)
        intervals = [(f"{round(100 * (1 - 2 * low))}% interval", quantiles[..., i], quantiles[..., j])
                     for i, low in enumerate(pre.quantiles) for j, high in enumerate(pre.quantiles)
                     if low < 0.5 and abs(high - (1 - low)) < 1e-6]
        return plots.plot_forecast(history_x, series.values[rows, :len(pre.target_names)], forecast_x, forecast,
                                   pre.target_names, path, actual=actual, intervals=intervals,
                                   title=f"{window.horizon}-step forecast from {window.lookback} steps of history")

    def score(self, examples: data.WindowSplit, backtest: bool = False, backtest_step: int | None = None,
              **options) -> dict[str, Any]:
        """MSE/MAE (scaled), MAE/RMSE (units), MASE and interval coverage on every window, with the baselines.

        Args:
            examples: the windows to score.
            backtest: also report a rolling-origin backtest.
            backtest_step: rows between its origins (default: the horizon).
        """
        step = (backtest_step or self.recipe.window.horizon) if backtest else None
        return evaluation.score(self.forecast_arrays, self.preprocessor, examples, step)

    def read_evaluation_data(self, source: str | None) -> data.WindowSplit:
        """Every window of `source` (a file with the bundle's columns), or for None the recipe's test split,
        exactly as at training time."""
        window = self.recipe.window
        if source:
            series = data.read_series(self.recipe.data, source, columns=self.preprocessor.channel_names,
                                      field="--data")
            return data.whole_series(series, window)
        return data.read_splits(self.recipe.data, window).test

    def evaluation_variant(self, backtest: bool = False, backtest_step: int | None = None, **options) -> str:
        return f"backtest{backtest_step or self.recipe.window.horizon}" if backtest else ""

    # ------------------------------------------------------------------ presentation

    def format_report(self, report: dict[str, Any]) -> str:
        model = report["model"]
        lines = [f"MSE {model['mse']:.4f}   MAE {model['mae']:.4f} (scaled)   MAE {model['mae_units']:.4g}   "
                 f"RMSE {model['rmse_units']:.4g} (units)   MASE {model['mase']:.3f}   "
                 f"({report['windows']} windows, L = {report['lookback']}, H = {report['horizon']})"]
        for name, scores in report["baselines"].items():
            verdict = "beaten" if report["beats"][name] else "NOT beaten by the model"
            lines.append(f"  {name:>14}: MSE {scores['mse']:.4f}   MAE {scores['mae']:.4f}   "
                         f"RMSE {scores['rmse_units']:.4g} (units)   MASE {scores['mase']:.3f}   {verdict}")
        for interval in report.get("intervals", []):
            lines.append(f"  {round(100 * interval['nominal'])}% interval ({interval['lower']:g}-{interval['upper']:g}"
                         f" quantiles): coverage {interval['coverage']:.3f}")
        if len(report["per_channel"]) > 1:
            lines.append("  per channel (units): " + "   ".join(
                f"{name} MAE {scores['mae']:.4g}" for name, scores in report["per_channel"].items()))
        if "backtest" in report:
            test = report["backtest"]
            beating = ", ".join(f"{name} {count}/{test['folds']}" for name, count in test["folds_beating"].items())
            lines.append(f"  backtest: {test['folds']} origins every {test['step']} rows, MSE {test['mse_mean']:.4f} "
                         f"± {test['mse_std']:.4f}; folds where the model beats {beating}")
        return "\n".join(lines)

    def format_prediction(self, result: dict[str, Any]) -> str:
        names = list(result["forecast"])
        levels = list(result["quantiles"])
        low, high = (levels[0], levels[-1]) if len(levels) >= 2 else (None, None)
        header = "\t".join(["step", *names])
        lines = [f"{result['source']}: {len(result['timestamps'])} steps after {result['history_end']}"
                 + (f" (point forecast [{low}, {high}] quantiles)" if low else ""), header]
        for step, stamp in enumerate(result["timestamps"]):
            cells = []
            for name in names:
                cell = f"{result['forecast'][name][step]:.4g}"
                if low:
                    lower, upper = result["quantiles"][low][name][step], result["quantiles"][high][name][step]
                    cell += f" [{lower:.4g}, {upper:.4g}]"
                cells.append(cell)
            lines.append("\t".join([str(stamp), *cells]))
        return "\n".join(lines)

    def format_demo(self, result: dict[str, Any]) -> str:
        lines = self.format_prediction(result).splitlines()
        return "\n".join(lines[:8] + ([f"... ({len(lines) - 8} more rows)"] if len(lines) > 8 else []))

    def serving_usage(self, path: pathlib.Path) -> str:
        pre, window = self.preprocessor, self.recipe.window
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default'](history=tf.constant(HISTORY)) with "
                f"HISTORY float32 [batch, {window.lookback}, {len(pre.channel_names)}] "
                f"({', '.join(pre.channel_names)}, data units) -> forecast [batch, {window.horizon}, "
                f"{len(pre.target_names)}], quantiles [batch, {window.horizon}, {len(pre.target_names)}, "
                f"{len(pre.quantiles)}] "
                f"(levels {', '.join(f'{q:g}' for q in pre.quantiles)})")
