"""The forecast SavedModel module: raw history in the data's units in, the forecast and its quantiles in the
same units out; scaling, the model and the inverse scaling in one graph."""

from __future__ import annotations

import tensorflow as tf


class ForecastServing(tf.Module):
    """History float32 [batch, time >= L, channels] in data units -> forecast and quantiles in data units.

    The last L steps of each history are read. A history with the wrong number of channels, fewer than L steps
    or a NaN or infinite value fails with an InvalidArgumentError whose message says so.

    Args:
        preprocessor: the task's `ForecastPreprocessor` (scaling statistics, window sizes, channel names).
        model: Keras model mapping scaled history [batch, L, channels] to [batch, H, targets, 1 + quantiles].
    """

    def __init__(self, preprocessor, model):
        super().__init__(name="forecaster")
        self.preprocessor = preprocessor
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.float32, name="history")])
    def forecast(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        """Forecast a batch of histories.

        Args:
            history: float32 [batch, time, channels], the channels in the bundle's order (targets, then
                covariates), time >= L.

        Returns:
            {"forecast": float32 [batch, H, targets], "quantiles": float32 [batch, H, targets, quantiles]
            (levels in the recipe's model.quantiles order, non-decreasing)}.
        """
        pre = self.preprocessor
        names = ", ".join(pre.channel_names)
        checks = [
            tf.debugging.assert_equal(tf.shape(history)[2], len(pre.channel_names),
                                      message=f"history must have {len(pre.channel_names)} channels ({names}) "
                                              "in its last axis"),
            tf.debugging.assert_greater_equal(tf.shape(history)[1], pre.lookback,
                                              message=f"history must have at least {pre.lookback} steps (the "
                                                      "model's look-back)"),
        ]
        with tf.control_dependencies(checks):
            window = tf.debugging.assert_all_finite(history[:, -pre.lookback:, :],
                                                    "history has NaN or infinite values; fill them first")
        outputs = pre.unscale(tf.cast(self.model(pre.scale(window), training=False), tf.float32))
        return {"forecast": outputs[..., 0], "quantiles": tf.sort(outputs[..., 1:], axis=-1)}
