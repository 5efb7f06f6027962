"""Online updating of the detector's forecaster: the series is read in segments of `detector.refit_every_rows`
rows, and before each segment a copy of the forecaster is fine-tuned on the rows before it (the last
`detector.refit_rows`), so that it follows a series whose normal behaviour drifts. Each row is still forecast by
a model that has seen only earlier rows. The SavedModel detects with the weights it was exported with.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from rnnapps.pipelines.anomaly import data
from rnnapps.pipelines.anomaly import model as models
from rnnapps.pipelines.anomaly import serving as servings


def forecast_rows_updated(pipeline, series: data.Series, start: int) -> dict[str, np.ndarray]:
    """Every row's forecast and error (the serving module's `forecast_rows` outputs for one series, numpy), the rows
    from `start` on forecast segment by segment by a forecaster fine-tuned before each segment.

    Args:
        pipeline: the `AnomalyPipeline` (its recipe, preprocessor and trained model, which stays unchanged).
        series: the series, read in order.
        start: the first row forecast by an updated model (the rows before it are the ones the model learnt).

    Returns:
        {"forecast", "lower", "upper": float32 [rows, channels], "error": float32 [rows]}.
    """
    recipe, pre = pipeline.recipe, pipeline.preprocessor
    config, lookback = recipe.detector, pre.lookback
    forecaster = models.build_model(recipe)  # a copy: the pipeline's own model stays as trained
    forecaster(np.zeros((1, lookback, 1), np.float32))
    forecaster.set_weights(pipeline.model.get_weights())
    forecaster.compile(optimizer=keras.optimizers.Adam(recipe.training.learning_rate, clipnorm=1.0),
                       loss=models.build_loss(recipe))
    module = servings.AnomalyServing(pre, forecaster, config)
    values = series.values.astype(np.float32)
    start = max(start, lookback + 1)

    def forecast(first: int, stop: int) -> dict[str, np.ndarray]:
        """Rows [first, stop), each from the L rows before it."""
        outputs = module.forecast_rows(tf.constant(values[None, first - lookback:stop]))
        return {name: value.numpy()[0, lookback:] for name, value in outputs.items()}

    first_rows = module.forecast_rows(tf.constant(values[None, :start]))  # by the model trained on them
    parts = [{name: value.numpy()[0] for name, value in first_rows.items()}]
    for learnt, forecast_rows in segments(start, len(values), config.refit_every_rows, config.refit_rows):
        windows, following = pre.windows(data.RowRange(series, learnt.start, learnt.stop))
        targets = windows if recipe.model.kind == "autoencoder" else following
        forecaster.fit(windows, targets, batch_size=recipe.training.batch_size, epochs=config.refit_epochs,
                       shuffle=True, verbose=0)
        parts.append(forecast(forecast_rows.start, forecast_rows.stop))
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def segments(start: int, rows: int, every: int, learn_rows: int) -> list[tuple[range, range]]:
    """The update schedule: (rows learnt from, rows then forecast) per segment, from row `start` on, `every` rows
    a segment, each update learning from the `learn_rows` rows before its segment (never from the segment itself
    or later: the detector stays online)."""
    return [(range(max(0, first - learn_rows), first), range(first, min(first + every, rows)))
            for first in range(start, rows, every)]
