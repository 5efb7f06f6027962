"""The forecast SavedModel module: raw history in the data's units in, the forecast and its quantiles in the
same units out; scaling, the model and the inverse scaling in one graph."""

from __future__ import annotations

import tensorflow as tf

from rnnapps.errors import UserError


class ForecastServing(tf.Module):
    """History float32 [batch, time >= L, channels] in data units -> forecast and quantiles in data units.

    The last L steps of each history are read. A history with the wrong number of channels, fewer than L steps
    or a NaN or infinite value fails with an InvalidArgumentError whose message says so.

    Args:
        preprocessor: the task's `ForecastPreprocessor` (scaling statistics, channel names, and the recipe's
            `[window]` section, where L and H are read).
        model: Keras model mapping scaled history [batch, L, channels] to [batch, H, targets, 1 + quantiles].

    Raises:
        UserError: the model was built for another L or H than the window section says (a bundle whose
            recipe.toml was edited after training).
    """

    signature_methods = {"serving_default": "forecast"}  # SavedModel signature -> method (Pipeline.export)

    def __init__(self, preprocessor, model):
        super().__init__(name="forecaster")
        window = preprocessor.window
        # The model keeps its own L and H (its Keras config needs them); they were taken from the window section
        # when it was built, so a disagreement means the recipe changed since, and every forecast would be wrong.
        built = (getattr(model, "lookback", window.lookback), getattr(model, "horizon", window.horizon))
        if built != (window.lookback, window.horizon):
            raise UserError(f"the model reads {built[0]} rows and forecasts {built[1]}, but its recipe says "
                            f"window.lookback = {window.lookback} and window.horizon = {window.horizon}")
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
        # L is read from the window section when this function is traced, and so is baked into the SavedModel's
        # graph as a constant: the exported module needs no recipe.
        lookback = pre.window.lookback
        names = ", ".join(pre.channel_names)
        checks = [
            tf.debugging.assert_equal(tf.shape(history)[2], len(pre.channel_names),
                                      message=f"history must have {len(pre.channel_names)} channels ({names}) "
                                              "in its last axis"),
            tf.debugging.assert_greater_equal(tf.shape(history)[1], lookback,
                                              message=f"history must have at least {lookback} steps (the "
                                                      "model's look-back)"),
        ]
        with tf.control_dependencies(checks):
            window = tf.debugging.assert_all_finite(history[:, -lookback:, :],
                                                    "history has NaN or infinite values; fill them first")
        outputs = pre.unscale(tf.cast(self.model(pre.scale(window), training=False), tf.float32))
        return {"forecast": outputs[..., 0], "quantiles": tf.sort(outputs[..., 1:], axis=-1)}
