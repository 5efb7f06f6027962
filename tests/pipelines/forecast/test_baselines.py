"""The baselines: naive and seasonal naive by hand, the linear baseline recovers a linear rule exactly."""

import numpy as np

from rnnapps.pipelines.forecast import baselines


def test_naive_and_seasonal_naive():
    history = np.arange(12, dtype=np.float32).reshape(1, 6, 2)  # channel 0: 0, 2, 4, 6, 8, 10
    np.testing.assert_array_equal(baselines.naive(history, 3)[0, :, 0], [10, 10, 10])
    # period 4: the last season is rows 2..5 (4, 6, 8, 10), repeated
    np.testing.assert_array_equal(baselines.seasonal_naive(history, 6, 4)[0, :, 0], [4, 6, 8, 10, 4, 6])


def test_linear_baseline_learns_a_linear_rule_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=(400, 3)), axis=0)
    lookback, horizon = 8, 2
    starts = np.arange(lookback, len(series) - horizon - 1)
    history = np.stack([series[s - lookback:s] for s in starts])
    # The rule: the next two values continue the last step's slope.
    slope = history[:, -1] - history[:, -2]
    future = np.stack([history[:, -1] + slope, history[:, -1] + 2 * slope], axis=1)
    fitted = baselines.LinearBaseline.fit(history, future, ridge=1e-6)
    np.testing.assert_allclose(fitted(history), future, atol=1e-4)
    fitted.save(tmp_path / baselines.LinearBaseline.FILE)
    reloaded = baselines.LinearBaseline.load(tmp_path / baselines.LinearBaseline.FILE)
    np.testing.assert_allclose(reloaded(history), fitted(history), atol=1e-4)
