"""The forecaster's training loss and metrics: a point loss on the point forecast plus the pinball loss of
every quantile. Pure keras / keras.ops.

They subclass `keras.losses.Loss` directly: Keras's function-loss wrapper would squeeze the trailing output
axis of a point-only model ([batch, H, targets, 1]) to match the targets' rank.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from rnnapps import losses


class ForecastLoss(keras.losses.Loss):
    """Point loss (MSE or MAE) of [..., 0] plus `quantile_weight` times the mean pinball loss of [..., 1:].

    Call args:
        y_true: float [batch, H, targets] (scaled).
        y_pred: float [batch, H, targets, 1 + len(quantiles)] (the forecaster's output).

    Returns:
        float [batch] (Keras averages over the batch).
    """

    def __init__(self, quantiles: Sequence[float] = (), point_loss: str = "mse", quantile_weight: float = 1.0,
                 name: str = "forecast_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = tuple(float(q) for q in quantiles)
        self.point_loss = point_loss
        self.quantile_weight = quantile_weight

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        error = y_pred[..., 0] - y_true
        per_window = ops.mean(ops.square(error) if self.point_loss == "mse" else ops.abs(error), axis=(1, 2))
        if self.quantiles and self.quantile_weight:
            levels = ops.convert_to_tensor(self.quantiles, dtype=y_pred.dtype)
            pinball = losses.pinball(y_true[..., None], y_pred[..., 1:], levels)
            per_window = per_window + self.quantile_weight * ops.mean(pinball, axis=(1, 2, 3))
        return per_window

    def get_config(self):
        return {**super().get_config(), "quantiles": list(self.quantiles), "point_loss": self.point_loss,
                "quantile_weight": self.quantile_weight}


class PointError(keras.metrics.Mean):
    """Mean squared ("mse") or absolute ("mae") error of the point forecast [..., 0], over every element.

    update_state(y_true [batch, H, targets], y_pred [batch, H, targets, outputs]).
    """

    def __init__(self, kind: str = "mse", name: str | None = None, **kwargs):
        super().__init__(name=name or kind, **kwargs)
        self.kind = kind

    def update_state(self, y_true, y_pred, sample_weight=None):
        error = y_pred[..., 0] - ops.cast(y_true, y_pred.dtype)
        values = ops.square(error) if self.kind == "mse" else ops.abs(error)
        return super().update_state(ops.mean(values, axis=(1, 2)), sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}
