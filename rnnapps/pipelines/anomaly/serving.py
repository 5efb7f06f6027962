"""The anomaly SavedModel module: a raw history in the data's units in; each row's forecast interval, error,
anomaly score and flag out. Scaling, the forecaster and the online detector in one graph."""

from __future__ import annotations

import tensorflow as tf

from rnnapps.pipelines.anomaly import likelihood
from rnnapps.pipelines.anomaly import model as models

# The narrowest forecast interval an error is measured in (scaled units: a hundredth of the learning rows'
# deviation), so that a series forecast perfectly does not turn rounding into huge errors.
MIN_INTERVAL_WIDTH = 0.01
HISTORY = tf.TensorSpec([None, None, None], tf.float32, name="history")


class AnomalyServing(tf.Module):
    """History float32 [batch, rows, channels] in data units -> per-row forecasts, errors, scores and flags. With
    the window autoencoder (model.kind), the "forecast" is the reconstruction of the row and there is no interval
    (NaN).

    Row t's outputs read rows 0..t only. The first L rows (the forecaster's look-back) have no forecast: NaN
    forecasts and zero error, score and flag. A history with the wrong number of channels, at most L rows or a
    NaN or infinite value fails with an InvalidArgumentError whose message says so.

    Args:
        preprocessor: the task's `AnomalyPreprocessor` (scaling, channel names, L).
        model: Keras model mapping scaled windows [count, L, 1] to [count, 3] (low, median, high).
        detector: the recipe's `[detector]` section.
    """

    signature_methods = {"serving_default": "detect"}  # SavedModel signature -> method (Pipeline.export)

    def __init__(self, preprocessor, model, detector):
        super().__init__(name="anomaly_detector")
        self.preprocessor = preprocessor
        self.model = model
        self.detector = detector
        self.autoencodes = isinstance(model, models.WindowAutoencoder)

    @tf.function(input_signature=[HISTORY])
    def detect(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        """Detect anomalies in a batch of histories.

        Args:
            history: float32 [batch, rows, channels], the bundle's value columns in order, rows > L.

        Returns:
            {"forecast", "lower", "upper": float32 [batch, rows, channels], the median and interval forecast of
            each row from the L rows before it (data units); "error": float32 [batch, rows], the largest
            channel's distance from its median in interval widths; "anomaly_score": float32 [batch, rows] in
            [0, 1]; "is_anomaly": bool [batch, rows]}.
        """
        return self.detect_after(history, tf.constant(0))

    @tf.function(input_signature=[HISTORY, tf.TensorSpec([], tf.int32, name="quiet_rows")])
    def detect_after(self, history: tf.Tensor, quiet_rows: tf.Tensor) -> dict[str, tf.Tensor]:
        """`detect`, with no score or flag in the first `quiet_rows` rows (the rows the forecaster learnt from,
        which an evaluation does not score: a flag there would hold back the flags after them)."""
        forecasts = self.forecast_rows(history)
        return {**forecasts, **self.score_errors(forecasts["error"], quiet_rows)}

    @tf.function(input_signature=[HISTORY])
    def forecast_rows(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        """Each row's forecast from the L rows before it, and its error: `detect`'s "forecast", "lower", "upper"
        and "error" (NaN forecasts and zero errors for the first L rows)."""
        pre = self.preprocessor
        lookback, channels = pre.lookback, len(pre.channel_names)
        checks = [
            tf.debugging.assert_equal(tf.shape(history)[2], channels,
                                      message=f"history must have {channels} channels "
                                              f"({', '.join(pre.channel_names)}) in its last axis"),
            tf.debugging.assert_greater(tf.shape(history)[1], lookback,
                                        message=f"history must have more than {lookback} rows (the forecaster's "
                                                "look-back)"),
        ]
        with tf.control_dependencies(checks):
            history = tf.debugging.assert_all_finite(history, "history has NaN or infinite values; fill them first")
        scaled = pre.scaler.transform_graph(history)  # [batch, rows, channels]
        batch, rows = tf.shape(scaled)[0], tf.shape(scaled)[1]
        count = rows - lookback
        if self.autoencodes:
            # Windows ending at each scored row: [batch, rows - L, L, channels] -> one-channel windows.
            windows = tf.signal.frame(scaled[:, 1:], lookback, 1, axis=1)
        else:
            # Windows ending just before each forecast row.
            windows = tf.signal.frame(scaled[:, :-1], lookback, 1, axis=1)
        flat = tf.reshape(tf.transpose(windows, (0, 1, 3, 2)), (-1, lookback, 1))
        outputs = tf.cast(self.model(flat, training=False), tf.float32)
        if self.autoencodes:
            # [count, L, 1] reconstructions: the error of the window's newest row (the row scored), which is also
            # the "forecast"; there is no interval.
            rebuilt = tf.reshape(outputs[:, :, 0], (batch, count, channels, lookback))
            last = rebuilt[..., -1]
            errors = tf.reduce_max(tf.abs(last - scaled[:, lookback:]), axis=-1)
            nothing = tf.fill(tf.shape(last), float("nan"))
            predicted = tf.stack([nothing, last, nothing], axis=-1)
        else:
            predicted = tf.reshape(outputs, (batch, count, channels, 3))
            actual = scaled[:, lookback:]
            width = tf.maximum(predicted[..., 2] - predicted[..., 0], MIN_INTERVAL_WIDTH)
            errors = tf.reduce_max(tf.abs(actual - predicted[..., 1]) / width, axis=-1)  # [batch, count]
        # [batch, rows, 3, channels]: low, median, high of every channel, NaN before the first forecast.
        forecasts = tf.pad(pre.scaler.inverse_graph(tf.transpose(predicted, (0, 1, 3, 2))),
                           [[0, 0], [lookback, 0], [0, 0], [0, 0]], constant_values=float("nan"))
        return {"forecast": forecasts[:, :, 1], "lower": forecasts[:, :, 0], "upper": forecasts[:, :, 2],
                "error": tf.pad(errors, [[0, 0], [lookback, 0]])}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="error"),
                                  tf.TensorSpec([], tf.int32, name="quiet_rows")])
    def score_errors(self, errors: tf.Tensor, quiet_rows: tf.Tensor) -> dict[str, tf.Tensor]:
        """Anomaly scores and flags of each row's error float32 [batch, rows] (`forecast_rows`' "error"; the first L
        rows have none): {"anomaly_score": float32 [batch, rows], "is_anomaly": bool [batch, rows]}."""
        config, lookback = self.detector, self.preprocessor.lookback
        scores = likelihood.likelihood_scores(errors[:, lookback:], config.average_rows, config.history_rows,
                                              config.min_deviation)
        scores = tf.pad(scores, [[0, 0], [lookback, 0]])
        scores = tf.where(tf.range(tf.shape(errors)[1])[None] < quiet_rows, 0.0, scores)
        return {"anomaly_score": scores, "is_anomaly": likelihood.held_flags(scores, config.threshold,
                                                                            config.hold_rows)}
