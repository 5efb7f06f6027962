"""The forecast preprocessor: the channel names, the scaling fitted on the training rows only, and the linear
baseline fitted on the training windows. It scales the windows of training batches and, in graph, the raw history
the SavedModel receives, and maps the model's scaled output back to the data's units.
"""

from __future__ import annotations

import logging
import pathlib
from typing import Any

import numpy as np
import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps.datasets import batching
from rnnapps.datasets.series import Scaler
from rnnapps.pipelines import base
from rnnapps.pipelines.forecast import baselines, data
from rnnapps.pipelines.forecast import recipe as recipes
from rnnapps.pipelines.forecast.window import WindowConfig

log = logging.getLogger(__name__)


class ForecastPreprocessor(base.Preprocessor):
    """Raw series <-> scaled model windows, the same in training, scoring and the SavedModel.

    Args:
        target_names: forecast channels (first in every history).
        covariate_names: past covariates after them.
        scaler: scaling fitted on the training rows.
        window: the recipe's `[window]` section, where L and H are read (the recipe's at training time, the
            bundle's recipe's when loaded: the same object as the pipeline's `recipe.window`).
        quantiles: the quantile levels the model forecasts.
        linear_baseline: the linear baseline fitted on the training windows.
        mase_scale: float [targets], the in-sample MAE of the seasonal naive forecast on the training rows
            (data units), the MASE denominator.
        frequency: the series' pandas frequency (None when irregular), for future timestamps.
        seasonal_period: the seasonal naive baseline's period in rows (0 = none).
    """

    tokenizers: dict[str, Any] = {}

    def __init__(self, target_names: list[str], covariate_names: list[str], scaler: Scaler, window: WindowConfig,
                 quantiles: tuple[float, ...], linear_baseline: baselines.LinearBaseline, mase_scale: np.ndarray,
                 frequency: str | None, seasonal_period: int):
        self.target_names = list(target_names)
        self.covariate_names = list(covariate_names)
        self.scaler = scaler
        self.window = window
        self.quantiles = tuple(quantiles)
        self.linear_baseline = linear_baseline
        self.mase_scale = np.asarray(mase_scale, np.float64)
        self.frequency = frequency
        self.seasonal_period = seasonal_period

    # L and H are asked of the window section, never stored here, so they cannot drift from the recipe; these
    # properties only forward to it, for the readers of `preprocessor.lookback` / `.horizon` (the pipeline's
    # prediction function, tests/test_server.py).
    @property
    def lookback(self) -> int:
        """L, the rows of history the model reads (the window section's)."""
        return self.window.lookback

    @property
    def horizon(self) -> int:
        """H, the rows the model forecasts (the window section's)."""
        return self.window.horizon

    @property
    def channel_names(self) -> list[str]:
        """Every channel of a history: targets, then covariates."""
        return [*self.target_names, *self.covariate_names]

    @property
    def metadata(self) -> dict[str, Any]:
        """Channels, scaler, MASE scale, frequency and season, as stored in the bundle's metadata."""
        return {"target_names": self.target_names, "covariate_names": self.covariate_names,
                "scaler": self.scaler.to_json(), "mase_scale": self.mase_scale.tolist(), "frequency": self.frequency,
                "seasonal_period": self.seasonal_period}

    @classmethod
    def fit(cls, recipe: recipes.ForecastRecipe, splits: data.SeriesSplits, run_dir: pathlib.Path
            ) -> ForecastPreprocessor:
        """Scaling from the training rows, the linear baseline from the training windows."""
        series, train = splits.series, splits.train
        period = recipes.season_rows(recipe.baselines.seasonal_period, series.frequency, recipe.window.lookback)
        training_rows = series.values[:train.stop]
        scaler = Scaler.fit(recipe.data.scaling, training_rows)
        history, future = train.windows(train.starts(recipe.window.train_stride))
        linear = baselines.LinearBaseline.fit(scaler.transform(history), scaler.transform(future),
                                              recipe.baselines.linear_ridge)
        return cls(series.target_names, series.covariate_names, scaler, recipe.window, tuple(recipe.model.quantiles),
                   linear, mase_scale(training_rows[:, :len(series.target_names)], period), series.frequency, period)

    @classmethod
    def from_bundle(cls, recipe: recipes.ForecastRecipe, loaded: bundles.Bundle) -> ForecastPreprocessor:
        """The preprocessor of a loaded bundle: its metadata and linear baseline, L and H from its recipe."""
        meta = loaded.metadata
        return cls(meta["target_names"], meta["covariate_names"], Scaler.from_json(meta["scaler"]),
                   recipe.window, tuple(recipe.model.quantiles),
                   baselines.LinearBaseline.load(loaded.path / baselines.LinearBaseline.FILE),
                   np.asarray(meta["mase_scale"]), meta["frequency"], meta["seasonal_period"])

    # ------------------------------------------------------------------ training

    def batches(self, split: data.WindowSplit, batch_size: int, *, shuffle: bool, seed: int, stride: int = 1,
                full_batches: str = "never") -> tf.data.Dataset:
        """(history float32 [batch, L, channels], future float32 [batch, H, targets]) batches, scaled.

        Windows are gathered from the scaled series by tf.data, batch by batch, from their start rows (shuffled
        every epoch for training), so no window is copied into memory twice. `full_batches` is the recipe's
        training.full_batches (`rnnapps.datasets.batching.drop_remainders`). L and H are the split's window
        section's, the one its start rows were computed with.
        """
        scaled = tf.constant(self.scaler.transform(split.series.values))
        starts = split.starts(stride)
        lookback = split.window.lookback
        steps = tf.range(-lookback, split.window.horizon, dtype=tf.int64)
        targets = len(self.target_names)

        def gather(batch_starts):
            windows = tf.gather(scaled, batch_starts[:, None] + steps[None])
            return windows[:, :lookback], windows[:, lookback:, :targets]

        dataset = tf.data.Dataset.from_tensor_slices(starts)
        if shuffle:
            dataset = dataset.shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size, drop_remainder=batching.drop_remainders(full_batches, shuffle,
                                                                                   len(starts), batch_size))
        return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    # ------------------------------------------------------------------ serving (in graph)

    def scale(self, history: tf.Tensor) -> tf.Tensor:
        """Raw history float32 [batch, L, channels] -> scaled, in graph."""
        return self.scaler.transform_graph(history)

    def unscale(self, outputs: tf.Tensor) -> tf.Tensor:
        """Scaled model outputs float32 [batch, H, targets, outputs] -> data units, in graph."""
        # The outputs' last axis holds the point forecast and quantiles: scale over the targets axis before it.
        moved = tf.experimental.numpy.moveaxis(outputs, -2, -1)
        return tf.experimental.numpy.moveaxis(self.scaler.inverse_graph(moved, len(self.target_names)), -1, -2)


def mase_scale(training_targets: np.ndarray, period: int) -> np.ndarray:
    """The MASE denominator per channel: the in-sample mean absolute error of the seasonal naive forecast
    (lag `period`, 1 when 0) on the training rows float [rows, targets]."""
    lag = period or 1
    if len(training_targets) <= lag:
        lag = 1
    return np.abs(training_targets[lag:] - training_targets[:-lag]).mean(axis=0)
