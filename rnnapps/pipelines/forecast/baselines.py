"""The baselines every forecast evaluation reports beside the model, on the same (scaled) windows: the last
value (naive), the last season repeated (seasonal naive) and a linear map of the window (DLinear-style).

The linear baseline is fitted in closed form (ridge least squares) on the training windows, one map shared by
every channel, from the window minus its last value to the horizon minus it (NLinear's normalisation). DLinear's
trend/remainder decomposition is a linear reparametrisation of the same window, so the least-squares fit covers
it; what DLinear adds is gradient-descent training, which this fit replaces with the exact optimum.
"""

from __future__ import annotations

import pathlib

import numpy as np

BASELINES = ("naive", "seasonal_naive", "linear")
_CHUNK = 2048  # windows per chunk of the least-squares sums (bounded memory on long series)


def naive(history: np.ndarray, horizon: int) -> np.ndarray:
    """The last value repeated: history [windows, L, targets] -> [windows, H, targets]."""
    return np.repeat(history[:, -1:, :], horizon, axis=1)


def seasonal_naive(history: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """The window's last season repeated: y[t + h] = x[t + h - period * k] for the smallest k >= 1 that lies in
    the history; history [windows, L, targets] (L >= period) -> [windows, H, targets]."""
    steps = history.shape[1] - period + (np.arange(horizon) % period)
    return history[:, steps, :]


class LinearBaseline:
    """A ridge least-squares map of the window (minus its last value) to the horizon, shared by channels.

    Args:
        weights: float [L, H].
        bias: float [H].
    """

    FILE = "linear_baseline.npz"

    def __init__(self, weights: np.ndarray, bias: np.ndarray):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = np.asarray(bias, dtype=np.float64)

    @classmethod
    def fit(cls, history: np.ndarray, future: np.ndarray, ridge: float = 1.0) -> LinearBaseline:
        """Fit on training windows.

        Args:
            history: float [windows, L, targets] (scaled).
            future: float [windows, H, targets] (scaled).
            ridge: penalty added to the diagonal of the normal equations (not on the bias).
        """
        lookback, horizon = history.shape[1], future.shape[1]
        gram = np.zeros((lookback + 1, lookback + 1))
        moment = np.zeros((lookback + 1, horizon))
        for start in range(0, len(history), _CHUNK):
            x, y = _per_channel(history[start:start + _CHUNK], future[start:start + _CHUNK])
            x = np.concatenate([x, np.ones((len(x), 1))], axis=1)
            gram += x.T @ x
            moment += x.T @ y
        penalty = np.full(lookback + 1, ridge)
        penalty[-1] = 0.0
        solution = np.linalg.solve(gram + np.diag(penalty), moment)
        return cls(solution[:-1], solution[-1])

    def __call__(self, history: np.ndarray) -> np.ndarray:
        """history [windows, L, targets] -> forecast [windows, H, targets]."""
        last = history[:, -1:, :]
        relative = np.transpose(history - last, (0, 2, 1))  # [windows, targets, L]
        forecast = relative @ self.weights + self.bias  # [windows, targets, H]
        return np.transpose(forecast, (0, 2, 1)) + last

    def save(self, path: str | pathlib.Path) -> None:
        """Write the map to an .npz file."""
        with open(path, "wb") as handle:  # np.savez would append .npz to a name without it
            np.savez(handle, weights=self.weights.astype(np.float32), bias=self.bias.astype(np.float32))

    @classmethod
    def load(cls, path: str | pathlib.Path) -> LinearBaseline:
        """Read a map written by `save`."""
        with np.load(path) as stored:
            return cls(stored["weights"], stored["bias"])


def _per_channel(history: np.ndarray, future: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Windows of every channel as rows: ([windows * targets, L], [windows * targets, H]), minus the last value."""
    last = history[:, -1:, :]
    x = np.transpose(history - last, (0, 2, 1)).reshape(-1, history.shape[1])
    y = np.transpose(future - last, (0, 2, 1)).reshape(-1, future.shape[1])
    return x.astype(np.float64), y.astype(np.float64)
