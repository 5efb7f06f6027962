"""Many-to-one reductions of a masked sequence: max, mean or attention pooling."""

from __future__ import annotations

import keras
from keras import ops

from rnnapps import numerics

POOLINGS = ("max", "mean", "max_mean", "attention")


@keras.saving.register_keras_serializable(package="rnnapps")
class SequencePooling(keras.layers.Layer):
    """Reduce [batch, time, features] to [batch, features'] ignoring padded steps.

    A sequence with no real steps (an empty text) pools to zeros rather than -inf or NaN.

    Args:
        mode: "max", "mean", "max_mean" (both, concatenated: 2 * features) or "attention"
            (a learned additive score per step, softmax over real steps, weighted sum).
        attention_units: hidden size of the attention scorer.

    Call args:
        inputs: float tensor [batch, time, features].
        mask: optional bool tensor [batch, time].

    Returns:
        float tensor [batch, features] ([batch, 2 * features] for "max_mean").
    """

    def __init__(self, mode: str = "max", attention_units: int = 64, **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLINGS:
            raise ValueError(f"pooling mode must be one of {POOLINGS}, got {mode!r}")
        self.mode = mode
        self.attention_units = attention_units
        self.supports_masking = True
        if mode == "attention":
            self.score_hidden = keras.layers.Dense(attention_units, activation="tanh", name="score_hidden")
            self.score = keras.layers.Dense(1, use_bias=False, name="score")

    def build(self, input_shape):
        if self.mode == "attention":
            self.score_hidden.build(input_shape)
            self.score.build((*input_shape[:-1], self.attention_units))

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        real = ops.expand_dims(ops.cast(mask, "bool"), -1)  # [batch, time, 1]
        weights = ops.cast(real, inputs.dtype)
        has_steps = ops.any(real, axis=1)  # [batch, 1]
        # Padded steps get the dtype's lowest value so they never win a max or a softmax.
        lowest = ops.full_like(inputs[..., :1], numerics.lowest(inputs.dtype))
        if self.mode == "attention":
            scores = self.score(self.score_hidden(inputs))  # [batch, time, 1]
            attention = ops.softmax(ops.where(real, scores, lowest), axis=1) * weights
            return ops.sum(attention * inputs, axis=1)
        mean = ops.sum(inputs * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        maximum = ops.max(ops.where(real, inputs, lowest), axis=1)
        maximum = ops.where(has_steps, maximum, ops.zeros_like(maximum))
        if self.mode == "mean":
            return mean
        if self.mode == "max":
            return maximum
        return ops.concatenate([maximum, mean], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        features = input_shape[-1] * (2 if self.mode == "max_mean" else 1)
        return (input_shape[0], features)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "attention_units": self.attention_units}
