"""The anomaly detector's models, pure keras / keras.ops (no TensorFlow import). The next-row forecaster reads the
last L rows of one channel and forecasts the next row's median and a central prediction interval; the window
autoencoder (`WindowAutoencoder`, the method compared with it) reconstructs the last L rows.

    window [batch, L, 1] (scaled)  -> minus its last value (the forecaster learns changes, so a level it has
    never seen is not an error in itself) -> the recurrent `[encoder]` stack -> final state -> dense
    -> median, median - softplus(a), median + softplus(b) (an interval that cannot cross) -> plus the last value.
"""

from __future__ import annotations

import keras
from keras import ops

from rnnapps import losses
from rnnapps.layers import recurrent


def build_model(recipe) -> NextRowForecaster | WindowAutoencoder:
    """The recipe's model (model.kind): the forecaster, float32 [batch, L, 1] (scaled) -> float32 [batch, 3] (low,
    median, high of the next row); or the autoencoder, [batch, L, 1] -> [batch, L, 1]."""
    encoder = recipe.encoder
    kind = NextRowForecaster if recipe.model.kind == "forecaster" else WindowAutoencoder
    return kind(lookback=recipe.model.lookback, cell=encoder.cell, units=encoder.units, num_layers=encoder.num_layers,
                dropout_rate=encoder.dropout_rate, recurrent_dropout_rate=encoder.recurrent_dropout_rate,
                head_dropout_rate=recipe.model.dropout_rate, name=recipe.model.kind)


def build_loss(recipe) -> keras.losses.Loss:
    """The training loss of the recipe's model: the interval's pinball loss, or the autoencoder's squared error."""
    if recipe.model.kind == "forecaster":
        return IntervalLoss(recipe.model.interval)
    return keras.losses.MeanSquaredError()


class WindowModel(keras.Model):
    """What both models share: the window length and a one-way encoder stack over one-channel windows, with
    dropout on its final state. Subclasses add their head and `call`.

    Args:
        lookback: L, rows read.
        cell, units, num_layers, dropout_rate, recurrent_dropout_rate: the one-way encoder stack
            (`rnnapps.layers.RecurrentStack`).
        head_dropout_rate: dropout on the encoder's final state.
    """

    def __init__(self, lookback: int, cell: str = "gru", units: int = 32, num_layers: int = 1,
                 dropout_rate: float = 0.0, recurrent_dropout_rate: float = 0.0, head_dropout_rate: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.lookback, self.cell, self.units, self.num_layers = lookback, cell, units, num_layers
        self.dropout_rate, self.recurrent_dropout_rate = dropout_rate, recurrent_dropout_rate
        self.head_dropout_rate = head_dropout_rate
        self.encoder = recurrent.RecurrentStack(cell, units, num_layers, False, dropout_rate, recurrent_dropout_rate,
                                                return_sequences=False, name="encoder")
        self.head_dropout = keras.layers.Dropout(head_dropout_rate)

    def get_config(self):
        return {**super().get_config(), "lookback": self.lookback, "cell": self.cell, "units": self.units,
                "num_layers": self.num_layers, "dropout_rate": self.dropout_rate,
                "recurrent_dropout_rate": self.recurrent_dropout_rate, "head_dropout_rate": self.head_dropout_rate}


@keras.saving.register_keras_serializable(package="rnnapps")
class NextRowForecaster(WindowModel):
    """Median and prediction interval of the next row of a one-channel window (see the module docstring).

    Args:
        lookback, **kwargs: as `WindowModel`.

    Call args:
        window: float tensor [batch, L, 1].

    Returns:
        float32 [batch, 3]: the interval's lower end, the median, the interval's upper end (in that order,
        never crossing), in the window's units.
    """

    def __init__(self, lookback: int, **kwargs):
        super().__init__(lookback, **kwargs)
        self.output_projection = keras.layers.Dense(3, name="output_projection")

    def call(self, window, training=None):
        window = ops.cast(window, self.compute_dtype)
        last = window[:, -1, :]  # [batch, 1]
        final = self.head_dropout(self.encoder(window - last[:, None, :], training=training), training=training)
        outputs = self.output_projection(final)
        median = outputs[:, 1:2]
        low = median - ops.softplus(outputs[:, 0:1])
        high = median + ops.softplus(outputs[:, 2:3])
        return ops.cast(ops.concatenate([low, median, high], axis=-1) + last, "float32")


class IntervalLoss(keras.losses.Loss):
    """Pinball loss of the interval's ends at levels (1 - interval) / 2 and (1 + interval) / 2, and of the median
    at 0.5 (half the absolute error), averaged.

    Call args:
        y_true: float [batch, 1], the next row (scaled).
        y_pred: float [batch, 3], the forecaster's output.

    Returns:
        float [batch].
    """

    def __init__(self, interval: float = 0.9, name: str = "interval_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.interval = interval

    def call(self, y_true, y_pred):
        tail = (1.0 - self.interval) / 2
        levels = ops.convert_to_tensor([tail, 0.5, 1.0 - tail], dtype=y_pred.dtype)
        return ops.mean(losses.pinball(ops.cast(y_true, y_pred.dtype), y_pred, levels), axis=-1)

    def get_config(self):
        return {**super().get_config(), "interval": self.interval}



@keras.saving.register_keras_serializable(package="rnnapps")
class WindowAutoencoder(WindowModel):
    """An LSTM/GRU autoencoder of one-channel windows (Malhotra et al. 2016): the encoder stack reads the window
    minus its mean, its final state is repeated L times, a decoder layer of the same cell reads it back out, and
    a dense layer gives each row. What it cannot reconstruct, it has not seen as normal.

    Args:
        lookback, **kwargs: as `WindowModel`.

    Call args:
        window: float tensor [batch, L, 1].

    Returns:
        float32 [batch, L, 1], the reconstructed window.
    """

    def __init__(self, lookback: int, **kwargs):
        super().__init__(lookback, **kwargs)
        self.decoder = recurrent.CELLS[self.cell](self.units, return_sequences=True, name="decoder")
        self.output_projection = keras.layers.Dense(1, name="output_projection")

    def call(self, window, training=None):
        window = ops.cast(window, self.compute_dtype)
        mean = ops.mean(window, axis=1, keepdims=True)
        code = self.head_dropout(self.encoder(window - mean, training=training), training=training)
        repeated = ops.repeat(code[:, None, :], self.lookback, axis=1)
        return ops.cast(self.output_projection(self.decoder(repeated, training=training)) + mean, "float32")
