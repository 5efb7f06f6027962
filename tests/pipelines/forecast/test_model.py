"""The forecaster: every head and option gives [batch, H, targets, 1 + quantiles]; it learns a toy series;
per-window normalisation makes it shift-equivariant; a saved and reloaded model answers the same."""

import subprocess
import sys
import types

import keras
import numpy as np
import pytest

from rnnapps.errors import UserError
from rnnapps.pipelines.forecast import losses
from rnnapps.pipelines.forecast.model import RecurrentForecaster
from rnnapps.pipelines.forecast.serving import ForecastServing
from rnnapps.pipelines.forecast.window import WindowConfig, check_shape


@pytest.mark.parametrize("options", [
    {"head": "direct"},
    {"head": "direct", "channel_independent": False, "normalization": "instance", "bidirectional": True},
    {"head": "recurrent", "segment_length": 4, "cell": "lstm", "num_layers": 2},
    {"head": "parallel", "segment_length": 4},
    {"head": "parallel", "channel_independent": False, "segment_length": 2, "cell": "simple_rnn"},
    {"head": "direct", "linear_skip": True, "normalization": "none", "segment_length": 2},
])
def test_every_configuration_gives_the_output_shape(options):
    model = RecurrentForecaster(lookback=8, horizon=4, num_targets=3, num_covariates=2, units=8,
                                quantiles=(0.1, 0.9), **options)
    out = model(np.random.default_rng(0).normal(size=(5, 8, 5)).astype("float32"))
    assert tuple(out.shape) == (5, 4, 3, 3)
    assert np.isfinite(keras.ops.convert_to_numpy(out)).all()


def test_last_value_normalisation_makes_the_forecast_follow_a_shift():
    model = RecurrentForecaster(lookback=6, horizon=3, num_targets=2, units=8, normalization="last_value")
    history = np.random.default_rng(1).normal(size=(4, 6, 2)).astype("float32")
    base = keras.ops.convert_to_numpy(model(history))
    shifted = keras.ops.convert_to_numpy(model(history + 5.0))
    np.testing.assert_allclose(shifted, base + 5.0, atol=1e-4)


def test_learns_a_sine_far_better_than_the_last_value():
    keras.utils.set_random_seed(0)
    steps = np.arange(3000)
    series = np.sin(2 * np.pi * steps / 12)[:, None].astype("float32")
    starts = np.arange(24, 2990)
    x = np.stack([series[s - 24:s] for s in starts])
    y = np.stack([series[s:s + 6] for s in starts])
    model = RecurrentForecaster(lookback=24, horizon=6, num_targets=1, units=16, segment_length=6)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=losses.ForecastLoss())
    model.fit(x, y, epochs=4, batch_size=64, verbose=0)
    error = np.mean((keras.ops.convert_to_numpy(model(x[:200]))[..., 0] - y[:200]) ** 2)
    naive = np.mean((x[:200, -1:, :] - y[:200]) ** 2)
    assert error < 0.05 * naive


def test_saved_and_reloaded_model_answers_the_same(tmp_path):
    model = RecurrentForecaster(lookback=8, horizon=4, num_targets=2, num_covariates=1, units=8, head="parallel",
                                segment_length=4, quantiles=(0.5,), linear_skip=True)
    history = np.random.default_rng(2).normal(size=(3, 8, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(model(history))
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(history)), expected, atol=1e-6)


@pytest.mark.parametrize("args, message", [
    ((10, 4, 4, "direct", "none", False), "must divide window.lookback"),
    ((8, 4, 0, "recurrent", "none", True), "one-way encoder"),
    ((8, 4, 0, "sideways", "none", False), "is not one of"),
])
def test_window_and_head_that_do_not_fit_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        check_shape(*args)


def test_the_model_module_imports_no_series_reader():
    code = ("import sys; import rnnapps.pipelines.forecast.model; print([m for m in sys.modules if "
            "m.startswith('rnnapps') and ('reader' in m or m.endswith(('forecast.data', 'datasets.series')))])")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", found.stdout


def test_serving_refuses_a_model_built_for_another_window():
    model = RecurrentForecaster(lookback=8, horizon=4, num_targets=1, units=4)
    ForecastServing(types.SimpleNamespace(window=WindowConfig(lookback=8, horizon=4)), model)
    with pytest.raises(UserError, match="the model reads 8 rows and forecasts 4, but its recipe says "
                                        "window.lookback = 16 and window.horizon = 4"):
        ForecastServing(types.SimpleNamespace(window=WindowConfig(lookback=16, horizon=4)), model)


def test_loss_is_the_point_loss_plus_the_weighted_pinball_loss():
    y_true = np.array([[[1.0]], [[3.0]]], dtype="float32")  # [batch 2, H 1, targets 1]
    y_pred = np.array([[[[2.0, 0.0, 2.0]]], [[[3.0, 4.0, 1.0]]]], dtype="float32")  # point, q0.1, q0.9
    loss = losses.ForecastLoss((0.1, 0.9), "mse", quantile_weight=0.5)
    # window 1: mse 1; pinball q0.1 on e = 1 -> 0.1, q0.9 on e = -1 -> 0.1; window 2: mse 0;
    # q0.1 on e = -1 -> 0.9, q0.9 on e = 2 -> 1.8
    expected = np.mean([1 + 0.5 * (0.1 + 0.1) / 2, 0 + 0.5 * (0.9 + 1.8) / 2])
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)
    metric = losses.PointError("mae")
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(0.5)


def test_linear_skip_starts_as_the_least_squares_baseline():
    from rnnapps.pipelines.forecast import baselines

    rng = np.random.default_rng(3)
    history = np.cumsum(rng.normal(size=(64, 12, 2)), axis=1).astype("float32")
    future = history[:, -4:] + rng.normal(size=(64, 4, 2)).astype("float32")
    linear = baselines.LinearBaseline.fit(history, future)
    model = RecurrentForecaster(lookback=12, horizon=4, num_targets=2, units=8, linear_skip=True, quantiles=(0.5,))
    model.start_from_linear(linear.weights, linear.bias)
    out = keras.ops.convert_to_numpy(model(history))
    np.testing.assert_allclose(out[..., 0], linear(history), atol=1e-4)
    np.testing.assert_allclose(out[..., 1], linear(history), atol=1e-4)  # the quantiles start there too
    with pytest.raises(ValueError, match="only with channel_independent"):
        RecurrentForecaster(lookback=12, horizon=4, num_targets=2, normalization="instance",
                            linear_skip=True).start_from_linear(linear.weights, linear.bias)
