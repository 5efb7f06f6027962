"""The preprocessor: scaling from the training rows only, training batches that are the split's windows
scaled, and the in-graph scaling the SavedModel uses."""

import dataclasses

import numpy as np

from rnnapps.pipelines.forecast import data, preprocess
from rnnapps.pipelines.forecast.recipe import ForecastRecipe
from rnnapps.pipelines.forecast.window import WindowConfig

RECIPE = ForecastRecipe(window=WindowConfig(lookback=48, horizon=12))


def demo_splits(length=600):
    config = dataclasses.replace(RECIPE.data, demo_length=length)
    return data.read_splits(config, RECIPE.window)


def fitted(splits, **window):
    recipe = dataclasses.replace(RECIPE, window=dataclasses.replace(RECIPE.window, **window))
    return preprocess.ForecastPreprocessor.fit(recipe, splits, run_dir=None)


def test_scaling_uses_the_training_rows_only():
    splits = demo_splits()
    pre = fitted(splits)
    training = splits.series.values[:splits.train.stop]
    np.testing.assert_allclose(pre.scaler.offset, training.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pre.scaler.scale, training.std(axis=0), rtol=1e-5)
    splits.series.values[splits.train.stop:] += 1000.0  # later rows change nothing
    np.testing.assert_allclose(fitted(splits).scaler.offset, pre.scaler.offset, rtol=1e-6)


def test_batches_are_the_windows_scaled_and_every_window_comes_once_per_epoch():
    splits = demo_splits()
    pre = fitted(splits)
    batches = list(pre.batches(splits.train, 16, shuffle=True, seed=0))
    history = np.concatenate([x.numpy() for x, _ in batches])
    future = np.concatenate([y.numpy() for _, y in batches])
    assert len(history) == len(splits.train)
    expected_history, expected_future = splits.train.windows()
    order = np.argsort(history[:, 0, 0])
    np.testing.assert_allclose(np.sort(history[:, 0, 0]), np.sort(pre.scaler.transform(expected_history)[:, 0, 0]),
                               rtol=1e-5)
    # each window's future follows its own history
    first = order[0]
    match = np.argmin(np.abs(pre.scaler.transform(expected_history)[:, 0, 0] - history[first, 0, 0]))
    np.testing.assert_allclose(future[first], pre.scaler.transform(expected_future)[match], rtol=1e-5)


def test_in_graph_scaling_matches_numpy():
    splits = demo_splits()
    pre = fitted(splits)
    history, _ = splits.test.windows()
    np.testing.assert_allclose(pre.scale(history.astype("float32")).numpy(), pre.scaler.transform(history), atol=1e-5)
    outputs = np.random.default_rng(0).normal(size=(2, 12, 2, 4)).astype("float32")
    np.testing.assert_allclose(pre.unscale(outputs).numpy()[..., 1],
                               pre.scaler.inverse(outputs[..., 1]), atol=1e-4)


def test_stride_thins_the_training_windows():
    splits = demo_splits()
    assert len(splits.train.starts(4)) == -(-len(splits.train) // 4)
