"""The forecaster: a recurrent network that reads a window of L steps and forecasts the next H steps, with the
options the strongest published recurrent forecasters rely on. Pure keras / keras.ops: no TensorFlow import.

    history [batch, L, targets + covariates]  (scaled with the training statistics)
      -> per-window normalisation of the targets ("last_value": minus the last value, as in SegRNN/NLinear;
         "instance": minus the window mean, over its deviation, as in RevIN)
      -> channel folding (channel_independent: every target channel is its own sequence of one value plus the
         covariates, one network shared by all channels, as in PatchTST/SegRNN)
      -> segments (segment_length S > 0: the window is cut into L/S segments, each embedded by a dense layer,
         and the recurrence runs over segments, as in SegRNN; 0: over steps)
      -> the recurrent `[encoder]` stack
      -> a head: "direct" (the final state -> all H steps at once), "recurrent" (a decoder of the same cell
         rolls out the horizon segment by segment from the encoder's state, each step fed a learned position
         embedding) or "parallel" (SegRNN's parallel decoding: every horizon segment is one decoder step from
         the encoder's state, fed its position and channel embedding)
      (+ linear_skip: a linear map of the normalised window added to the output, LSTNet's highway)
      -> back to [batch, H, targets, 1 + quantiles] (the point forecast, then each quantile), de-normalised.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from rnnapps.layers import recurrent
from rnnapps.pipelines.forecast.window import check_shape  # not recipe's: that would import the series modules

_EPSILON = 1e-5


def build_model(recipe, num_targets: int, num_covariates: int) -> RecurrentForecaster:
    """The recipe's forecaster: history float32 [batch, L, num_targets + num_covariates] (scaled) ->
    float32 [batch, H, num_targets, 1 + len(quantiles)] (scaled).

    Args:
        recipe: a `ForecastRecipe` (its window, encoder and model sections).
        num_targets: the forecast channels (first in the history).
        num_covariates: channels read but not forecast (after the targets).
    """
    model, encoder, window = recipe.model, recipe.encoder, recipe.window
    return RecurrentForecaster(
        lookback=window.lookback, horizon=window.horizon, num_targets=num_targets,
        num_covariates=num_covariates, cell=encoder.cell, units=encoder.units, num_layers=encoder.num_layers,
        bidirectional=encoder.bidirectional, dropout_rate=encoder.dropout_rate,
        recurrent_dropout_rate=encoder.recurrent_dropout_rate, head=model.head,
        channel_independent=model.channel_independent, normalization=model.normalization,
        segment_length=model.segment_length, linear_skip=model.linear_skip, head_dropout_rate=model.dropout_rate,
        quantiles=tuple(model.quantiles), name="forecaster")


@keras.saving.register_keras_serializable(package="rnnapps")
class RecurrentForecaster(keras.Model):
    """Direct multi-horizon or sequence-to-sequence recurrent forecaster (see the module docstring).

    Args:
        lookback: L, steps of history read.
        horizon: H, steps forecast.
        num_targets: forecast channels, the first `num_targets` of the history.
        num_covariates: past covariates after them (read, not forecast).
        cell, units, num_layers, bidirectional, dropout_rate, recurrent_dropout_rate: the encoder stack
            (`rnnapps.layers.RecurrentStack`); the "recurrent" and "parallel" heads need a one-way encoder.
        head: "direct", "recurrent" or "parallel".
        channel_independent: model every target channel as its own sequence with shared weights.
        normalization: "none", "last_value" or "instance" (per window, per target channel).
        segment_length: S; recur over L/S segments and decode H/S segments (0 = step by step).
        linear_skip: add a linear map of the normalised window (per channel) to the forecast.
        head_dropout_rate: dropout on the encoder's final state (direct) or the decoder outputs.
        quantiles: quantile levels forecast besides the point forecast, e.g. (0.1, 0.5, 0.9).

    Call args:
        history: float tensor [batch, L, num_targets + num_covariates].

    Returns:
        float32 [batch, H, num_targets, 1 + len(quantiles)]: [..., 0] the point forecast, [..., 1 + i] the
        quantile `quantiles[i]`.
    """

    def __init__(self, lookback: int, horizon: int, num_targets: int, num_covariates: int = 0, cell: str = "gru",
                 units: int = 64, num_layers: int = 1, bidirectional: bool = False, dropout_rate: float = 0.0,
                 recurrent_dropout_rate: float = 0.0, head: str = "direct", channel_independent: bool = True,
                 normalization: str = "last_value", segment_length: int = 0, linear_skip: bool = False,
                 head_dropout_rate: float = 0.0, quantiles: Sequence[float] = (), **kwargs):
        super().__init__(**kwargs)
        check_shape(lookback, horizon, segment_length, head, normalization, bidirectional)
        # The one copy of L and H outside the recipe's window section, and a needed one: the layer shapes depend
        # on them and Keras rebuilds a saved model from `get_config` alone (model.keras has no recipe).
        # `build_model` passes the window section's values; the serving module checks they still agree.
        self.lookback, self.horizon = lookback, horizon
        self.num_targets, self.num_covariates = num_targets, num_covariates
        self.cell, self.units, self.num_layers = cell, units, num_layers
        self.bidirectional, self.dropout_rate = bidirectional, dropout_rate
        self.recurrent_dropout_rate = recurrent_dropout_rate
        self.head, self.channel_independent, self.normalization = head, channel_independent, normalization
        self.segment_length, self.linear_skip, self.head_dropout_rate = segment_length, linear_skip, head_dropout_rate
        self.quantiles = tuple(float(q) for q in quantiles)
        self.num_outputs = 1 + len(self.quantiles)
        # Per decoded position: the values of one sequence (1 channel, or all targets) for every output.
        self.sequence_channels = 1 if channel_independent else num_targets
        self.step = segment_length or 1
        self.input_steps = lookback // self.step
        self.output_steps = horizon // self.step

        self.segment_embedding = keras.layers.Dense(units, activation="relu", name="segment_embedding") \
            if segment_length else None
        decodes = head != "direct"
        self.encoder = recurrent.RecurrentStack(cell, units, num_layers, bidirectional, dropout_rate,
                                                recurrent_dropout_rate, return_sequences=False,
                                                return_state=decodes, name="encoder")
        self.head_dropout = keras.layers.Dropout(head_dropout_rate)
        per_position = self.step * self.sequence_channels * self.num_outputs
        if decodes:
            position_dim = units // 2 if channel_independent else units
            self.position_embedding = keras.layers.Embedding(self.output_steps, position_dim, name="position_embedding")
            self.channel_embedding = (
                keras.layers.Embedding(num_targets, units - position_dim, name="channel_embedding")
                if channel_independent else None)
            self.decoder = recurrent.CELLS[cell](units, return_sequences=True, recurrent_dropout=recurrent_dropout_rate,
                                                 name="decoder")
            self.output_projection = keras.layers.Dense(per_position, name="output_projection")
        else:
            self.output_projection = keras.layers.Dense(self.output_steps * per_position, name="output_projection")
        self.linear = keras.layers.Dense(horizon * (1 if channel_independent else num_targets), name="linear_skip") \
            if linear_skip else None

    def start_from_linear(self, weights, bias) -> None:
        """Start as the least-squares linear baseline: the linear skip holds its map and the recurrent part's
        output projection starts at zero, so training begins at the linear forecast and learns corrections.

        Args:
            weights: float [L, H], the baseline's map of the window minus its last value.
            bias: float [H].

        Raises:
            ValueError: the model has no linear skip, or normalises its windows otherwise than the baseline
                (channel independent, minus the last value).
        """
        if self.linear is None or not self.channel_independent or self.normalization != "last_value":
            raise ValueError("model.linear_skip starts from the linear baseline only with channel_independent = true "
                             "and normalization = 'last_value' (the baseline's form)")
        if not self.built:
            self(ops.zeros((1, self.lookback, self.num_targets + self.num_covariates)))
        self.linear.kernel.assign(ops.cast(weights, self.linear.kernel.dtype))
        self.linear.bias.assign(ops.cast(bias, self.linear.bias.dtype))
        for variable in self.output_projection.weights:
            variable.assign(ops.zeros_like(variable))

    def call(self, history, training=None):
        history = ops.cast(history, self.compute_dtype)
        targets = history[:, :, :self.num_targets]
        covariates = history[:, :, self.num_targets:]
        targets, restore = self._normalize(targets)
        sequences = self._fold_channels(targets, covariates)  # [batch * sequences, L, features]
        features = sequences
        if self.segment_embedding is not None:
            count = ops.shape(features)[0]
            features = ops.reshape(features, (count, self.input_steps, self.step * ops.shape(features)[-1]))
            features = self.segment_embedding(features)
        if self.head == "direct":
            final = self.head_dropout(self.encoder(features, training=training), training=training)
            outputs = self.output_projection(final)
        else:
            outputs = self._decode(features, training)
        count = ops.shape(sequences)[0]
        # [batch * sequences, H, sequence channels, outputs]
        outputs = ops.reshape(outputs, (count, self.horizon, self.sequence_channels, self.num_outputs))
        if self.linear is not None:
            window = ops.reshape(sequences[:, :, :self.sequence_channels],
                                 (count, self.lookback * self.sequence_channels))
            skip = ops.reshape(self.linear(window), (count, self.horizon, self.sequence_channels, 1))
            outputs = outputs + skip
        outputs = self._unfold_channels(outputs)  # [batch, H, targets, outputs]
        return ops.cast(restore(outputs), "float32")

    def _normalize(self, targets):
        """Per-window normalisation of targets [batch, L, targets]; returns them and the inverse for outputs
        [batch, H, targets, outputs]."""
        if self.normalization == "last_value":
            last = targets[:, -1:, :]
            return targets - last, lambda outputs: outputs + last[:, :, :, None]
        if self.normalization == "instance":
            mean = ops.mean(targets, axis=1, keepdims=True)
            std = ops.sqrt(ops.var(targets, axis=1, keepdims=True) + _EPSILON)
            return (targets - mean) / std, lambda outputs: outputs * std[:, :, :, None] + mean[:, :, :, None]
        return targets, lambda outputs: outputs

    def _fold_channels(self, targets, covariates):
        """[batch, L, targets] (+ covariates [batch, L, K]) -> [batch * targets, L, 1 + K] when channel
        independent (each channel a sequence, the covariates beside it), else [batch, L, targets + K]."""
        if not self.channel_independent:
            return ops.concatenate([targets, covariates], axis=-1) if self.num_covariates else targets
        batch = ops.shape(targets)[0]
        folded = ops.reshape(ops.transpose(targets, (0, 2, 1)), (-1, self.lookback, 1))
        if self.num_covariates:
            repeated = ops.repeat(covariates[:, None], self.num_targets, axis=1)
            folded = ops.concatenate([folded, ops.reshape(repeated, (batch * self.num_targets, self.lookback, -1))],
                                     axis=-1)
        return folded

    def _unfold_channels(self, outputs):
        """[batch * sequences, H, sequence channels, outputs] -> [batch, H, targets, outputs]."""
        if not self.channel_independent:
            return outputs
        outputs = ops.reshape(outputs, (-1, self.num_targets, self.horizon, self.num_outputs))
        return ops.transpose(outputs, (0, 2, 1, 3))

    def _decode(self, features, training):
        """The "recurrent" and "parallel" heads: [count, steps, units] -> [count, H/S, per-position values]."""
        _, *states = self.encoder(features, training=training)
        count = ops.shape(features)[0]
        positions = self.position_embedding(ops.arange(self.output_steps))  # [M, position_dim]
        inputs = ops.repeat(positions[None], count, axis=0)  # [count, M, position_dim]
        if self.channel_embedding is not None:
            channels = self.channel_embedding(ops.arange(self.num_targets))  # [targets, channel_dim]
            # Folded sequence i is channel i % targets (see _fold_channels).
            channels = ops.tile(channels, (count // self.num_targets, 1))
            inputs = ops.concatenate([inputs, ops.repeat(channels[:, None], self.output_steps, axis=1)], axis=-1)
        if self.head == "recurrent":
            decoded = self.decoder(inputs, initial_state=states, training=training)  # [count, M, units]
        else:
            # Every position is one step from the encoder's state: fold the positions into the batch.
            flat = ops.reshape(inputs, (count * self.output_steps, 1, self.units))
            flat_states = [ops.repeat(state, self.output_steps, axis=0) for state in states]
            decoded = ops.reshape(self.decoder(flat, initial_state=flat_states, training=training),
                                  (count, self.output_steps, self.units))
        return self.output_projection(self.head_dropout(decoded, training=training))

    def get_config(self):
        return {
            **super().get_config(),
            "lookback": self.lookback, "horizon": self.horizon, "num_targets": self.num_targets,
            "num_covariates": self.num_covariates, "cell": self.cell, "units": self.units,
            "num_layers": self.num_layers, "bidirectional": self.bidirectional, "dropout_rate": self.dropout_rate,
            "recurrent_dropout_rate": self.recurrent_dropout_rate, "head": self.head,
            "channel_independent": self.channel_independent, "normalization": self.normalization,
            "segment_length": self.segment_length, "linear_skip": self.linear_skip,
            "head_dropout_rate": self.head_dropout_rate, "quantiles": list(self.quantiles),
        }

