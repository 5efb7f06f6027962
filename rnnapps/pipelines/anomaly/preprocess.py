"""The anomaly preprocessor: the value channels and the scaling fitted on the learning rows only. It cuts
training windows (each channel its own one-channel window) and, in graph, scales the raw history the
SavedModel receives and maps forecasts back to the data's units."""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np
import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps.datasets.series import Scaler
from rnnapps.pipelines import base
from rnnapps.pipelines.anomaly import data
from rnnapps.pipelines.anomaly import recipe as recipes


class AnomalyPreprocessor(base.Preprocessor):
    """Raw series <-> scaled one-channel forecaster windows, the same in training and in the SavedModel.

    Args:
        channel_names: the value columns the detector reads.
        scaler: scaling fitted on the learning rows.
        lookback: L, rows each forecast reads (the recipe's model.lookback).
    """

    tokenizers: dict[str, Any] = {}

    def __init__(self, channel_names: list[str], scaler: Scaler, lookback: int):
        self.channel_names = list(channel_names)
        self.scaler = scaler
        self.lookback = lookback

    @property
    def metadata(self) -> dict[str, Any]:
        return {"channel_names": self.channel_names, "scaler": self.scaler.to_json()}

    @classmethod
    def fit(cls, recipe: recipes.AnomalyRecipe, splits: data.AnomalySplits,
            run_dir: pathlib.Path) -> AnomalyPreprocessor:
        """Scaling statistics of the learning rows (train and validation), never of the rows scored."""
        learnt = splits.train.series.values[:splits.validation.stop]
        return cls(splits.train.series.channel_names, Scaler.fit(recipe.data.scaling, learnt), recipe.model.lookback)

    @classmethod
    def from_bundle(cls, recipe: recipes.AnomalyRecipe, loaded: bundles.Bundle) -> AnomalyPreprocessor:
        meta = loaded.metadata
        return cls(meta["channel_names"], Scaler.from_json(meta["scaler"]), recipe.model.lookback)

    # ------------------------------------------------------------------ training

    def windows(self, rows: data.RowRange) -> tuple[np.ndarray, np.ndarray]:
        """Every (window, next row) pair whose next row lies in `rows`, each channel its own pair, scaled.

        Windows may reach back before `rows.start` (a validation window reads training rows, as the detector
        would). Returns (windows float32 [pairs, L, 1], next rows float32 [pairs, 1]).
        """
        scaled = self.scaler.transform(rows.series.values)  # [rows, channels]
        targets = np.arange(max(rows.start, self.lookback), rows.stop)
        windows = scaled[targets[:, None] + np.arange(-self.lookback, 0)[None]]  # [pairs, L, channels]
        windows = np.transpose(windows, (0, 2, 1)).reshape(-1, self.lookback, 1)
        return windows.astype(np.float32), scaled[targets].reshape(-1, 1).astype(np.float32)

    def batches(self, rows: data.RowRange, batch_size: int, *, shuffle: bool, seed: int,
                autoencodes: bool = False) -> tf.data.Dataset | None:
        """Batches of `windows(rows)` (shuffled every epoch for training): (window, next row), or with `autoencodes`
        (window, window); None when `rows` has no pair."""
        windows, following = self.windows(rows)
        if not len(windows):
            return None
        dataset = tf.data.Dataset.from_tensor_slices((windows, windows if autoencodes else following))
        if shuffle:
            dataset = dataset.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
