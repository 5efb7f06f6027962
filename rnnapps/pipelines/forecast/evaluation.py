"""Scoring a forecaster the way forecasting papers and libraries do: every window of the held-out rows
(stride 1), MSE and MAE on the scaled values (the ETT convention), MAE and RMSE in the data's units, MASE,
interval coverage and pinball loss, with the baselines on the same windows beside the model; optionally a
rolling-origin backtest over the same rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnapps import metrics
from rnnapps.pipelines.forecast import baselines, data

PREDICT_BATCH = 512


def score(forecast_fn, preprocessor, split: data.WindowSplit, backtest_step: int | None = None) -> dict[str, Any]:
    """The evaluation report of a forecaster on every window of `split`.

    Args:
        forecast_fn: raw history float32 [batch, L, channels] -> (point [batch, H, targets], quantiles
            [batch, H, targets, Q]) in data units (the serving module's forecast).
        preprocessor: the `ForecastPreprocessor` (scaler, quantile levels, linear baseline, MASE scale, season).
        split: the windows to score.
        backtest_step: also report a rolling-origin backtest with an origin every this many rows (None = no).

    Returns:
        A JSON-ready report: "model" and "baselines" (each {"mse", "mae"} scaled, {"mae_units",
        "rmse_units", "mase"}), "beats" (baseline -> the model's scaled MSE is lower), "per_channel",
        "intervals" (coverage of each central interval), "pinball", the window counts and, with
        `backtest_step`, "backtest".
    """
    starts = split.starts()
    history, actual = split.windows(starts)
    point, quantiles = _forecast_all(forecast_fn, history)
    targets = len(preprocessor.target_names)
    scaler = preprocessor.scaler
    scaled_history = scaler.transform(history)[..., :targets]
    horizon = split.window.horizon
    scaled_forecasts = {"model": scaler.transform(point), "naive": baselines.naive(scaled_history, horizon),
                        "linear": preprocessor.linear_baseline(scaled_history)}
    if preprocessor.seasonal_period:
        scaled_forecasts["seasonal_naive"] = baselines.seasonal_naive(scaled_history, horizon,
                                                                      preprocessor.seasonal_period)
    scaled_actual = scaler.transform(actual)
    scores = {name: _point_scores(forecast, scaled_actual, scaler, preprocessor.mase_scale)
              for name, forecast in scaled_forecasts.items()}
    model = scores.pop("model")
    report: dict[str, Any] = {
        "windows": len(starts), "lookback": split.window.lookback, "horizon": horizon,
        "first_forecast": split.series.row_time(int(starts[0])), "model": model, "baselines": scores,
        "beats": {name: model["mse"] < found["mse"] for name, found in scores.items()},
        "per_channel": {name: {**metrics.regression_errors(point[..., c], actual[..., c])}
                        for c, name in enumerate(preprocessor.target_names)},
    }
    if preprocessor.quantiles:
        report["intervals"] = _intervals(preprocessor.quantiles, quantiles, actual)
        report["pinball"] = {f"{level:g}": metrics.pinball_loss(scaler.transform(quantiles[..., i]), scaled_actual,
                                                                level)
                             for i, level in enumerate(preprocessor.quantiles)}
    if backtest_step:
        report["backtest"] = _backtest(split, starts, scaled_forecasts, scaled_actual, backtest_step)
    return report


def _forecast_all(forecast_fn, history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points, quantiles = [], []
    for start in range(0, len(history), PREDICT_BATCH):
        point, quantile = forecast_fn(history[start:start + PREDICT_BATCH])
        points.append(np.asarray(point))
        quantiles.append(np.asarray(quantile))
    return np.concatenate(points), np.concatenate(quantiles)


def _point_scores(scaled_forecast, scaled_actual, scaler, mase_scale) -> dict[str, float]:
    """Scaled MSE/MAE and unit MAE/RMSE/MASE of one forecast."""
    scaled = metrics.regression_errors(scaled_forecast, scaled_actual)
    forecast, actual = scaler.inverse(scaled_forecast), scaler.inverse(scaled_actual)
    units = metrics.regression_errors(forecast, actual)
    return {"mse": scaled["mse"], "mae": scaled["mae"], "mae_units": units["mae"], "rmse_units": units["rmse"],
            "mase": metrics.mean_absolute_scaled_error(forecast, actual, mase_scale)}


def _intervals(levels: tuple[float, ...], quantiles: np.ndarray, actual: np.ndarray) -> list[dict[str, float]]:
    """Coverage of each central interval that a pair of levels q < 0.5 < 1 - q spans."""
    found = []
    position = {round(level, 6): i for i, level in enumerate(levels)}
    for i, low in enumerate(levels):
        high = round(1 - low, 6)
        if low < 0.5 and high in position:
            found.append({"nominal": round(1 - 2 * low, 6), "lower": low, "upper": levels[position[high]],
                          "coverage": metrics.interval_coverage(quantiles[..., i], quantiles[..., position[high]],
                                                                actual)})
    return found


def _backtest(split: data.WindowSplit, starts: np.ndarray, scaled_forecasts: dict[str, np.ndarray],
              scaled_actual: np.ndarray, step: int) -> dict[str, Any]:
    """Rolling-origin backtest without refitting: an origin every `step` rows, one H-step forecast from each."""
    folds = np.arange(0, len(starts), step)
    per_window = {name: ((forecast - scaled_actual) ** 2).mean(axis=(1, 2))
                  for name, forecast in scaled_forecasts.items()}
    model = per_window["model"][folds]
    rows = [{"origin": split.series.row_time(int(starts[i])), "mse": float(per_window["model"][i]),
             **{f"{name}_mse": float(values[i]) for name, values in per_window.items() if name != "model"}}
            for i in folds]
    return {"step": step, "folds": len(folds), "mse_mean": float(model.mean()), "mse_std": float(model.std()),
            "folds_beating": {name: int((model < values[folds]).sum()) for name, values in per_window.items()
                              if name != "model"},
            "per_fold": rows}

