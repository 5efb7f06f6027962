"""Stacks of recurrent layers: SimpleRNN, LSTM or GRU, optionally bidirectional, with dropout between."""

from __future__ import annotations

import logging

import keras

log = logging.getLogger(__name__)

CELLS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


@keras.saving.register_keras_serializable(package="rnnapps")
class RecurrentStack(keras.layers.Layer):
    """`num_layers` recurrent layers, each reading the previous one's output sequence.

    Defaults keep the fused cuDNN kernel conditions (tanh/sigmoid activations, no recurrent dropout,
    no unrolling, biases on) and the mask is passed through, so right-padded batches skip padding.

    Args:
        cell: "simple_rnn", "lstm" or "gru".
        units: units per direction.
        num_layers: number of stacked layers.
        bidirectional: wrap each layer in `keras.layers.Bidirectional` (outputs concatenated).
        dropout_rate: dropout applied to the outputs of every layer but the last.
        recurrent_dropout_rate: dropout on recurrent state (disables cuDNN when > 0).
        return_sequences: return every step's output of the last layer (True) or its final output.
        return_state: also return the final states of the last layer (forward then backward).

    Call args:
        inputs: float tensor [batch, time, features].
        mask: optional bool tensor [batch, time], True on real (not padding) steps.

    Returns:
        [batch, time, units * directions] if return_sequences, else [batch, units * directions];
        with return_state, a tuple (outputs, state, ...) where LSTM contributes (h, c) per direction.

    Example:
        >>> stack = RecurrentStack("gru", units=8, num_layers=2, bidirectional=True)
        >>> stack(keras.ops.zeros((2, 5, 4))).shape
        (2, 5, 16)
    """

    def __init__(self, cell: str = "gru", units: int = 64, num_layers: int = 1, bidirectional: bool = False,
                 dropout_rate: float = 0.0, recurrent_dropout_rate: float = 0.0, return_sequences: bool = True,
                 return_state: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_cell(cell)
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout_rate = dropout_rate
        self.recurrent_dropout_rate = recurrent_dropout_rate
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.supports_masking = True
        if recurrent_dropout_rate > 0 and cell != "simple_rnn":
            log.info("recurrent_dropout_rate = %s: %s layers cannot use the fused cuDNN kernel on a GPU",
                     recurrent_dropout_rate, cell)
        self.recurrent_layers = []
        for index in range(num_layers):
            last = index == num_layers - 1
            layer = CELLS[cell](
                units,
                return_sequences=return_sequences or not last,
                return_state=return_state and last,
                recurrent_dropout=recurrent_dropout_rate,
                name=f"{cell}_{index}",
            )
            if bidirectional:
                layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{index}")
            self.recurrent_layers.append(layer)
        self.dropouts = [keras.layers.Dropout(dropout_rate) for _ in range(num_layers - 1)]

    @property
    def output_size(self) -> int:
        """Features per step in the output: units times directions."""
        return self.units * (2 if self.bidirectional else 1)

    @property
    def num_states(self) -> int:
        """Final states returned with return_state: (h, c) for LSTM, h otherwise, per direction."""
        return (2 if self.cell == "lstm" else 1) * (2 if self.bidirectional else 1)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.recurrent_layers:
            layer.build(shape)
            shape = (*shape[:-1], self.output_size)

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            output_shape = (*input_shape[:-1], self.output_size)
        else:
            output_shape = (input_shape[0], self.output_size)
        if self.return_state:
            return (output_shape, *[(input_shape[0], self.units)] * self.num_states)
        return output_shape

    def call(self, inputs, mask=None, training=None, initial_state=None):
        outputs = inputs
        for index, layer in enumerate(self.recurrent_layers):
            if index > 0:
                outputs = self.dropouts[index - 1](outputs, training=training)
            last = index == len(self.recurrent_layers) - 1
            state = initial_state if (last and initial_state is not None) else None
            outputs = layer(outputs, mask=mask, training=training, initial_state=state)
        return outputs

    def compute_mask(self, inputs, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * self.num_states
        return output_mask

    def get_config(self):
        return {
            **super().get_config(),
            "cell": self.cell,
            "units": self.units,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "dropout_rate": self.dropout_rate,
            "recurrent_dropout_rate": self.recurrent_dropout_rate,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
        }


# --------------------------------------------------------------------------- step-by-step use
# Decoders and language models keep the recurrent layers themselves (not a RecurrentStack) because
# decoding needs every layer's state. These helpers are their shared state handling.


def run_layers(recurrent_layers, cell: str, inputs, mask, initial_states, dropout, training=None):
    """Run stacked recurrent layers (built with return_sequences and return_state) from given states.

    Args:
        recurrent_layers: `CELLS[cell]` layers, each with return_sequences=True, return_state=True.
        cell: their cell kind ("lstm" states are [h, c] pairs).
        inputs: float [batch, time, features].
        mask: bool [batch, time] or None; masked steps carry the state through unchanged.
        initial_states: one state per layer (a tensor [batch, units]; LSTM: [h, c]).
        dropout: a Dropout layer applied between layers.

    Returns:
        (outputs [batch, time, units] of the last layer, the new per-layer states).
    """
    x, states = inputs, []
    for index, layer in enumerate(recurrent_layers):
        if index:
            x = dropout(x, training=training)
        outputs = layer(x, mask=mask, initial_state=initial_states[index], training=training)
        x, layer_states = outputs[0], list(outputs[1:])
        states.append(layer_states if cell == "lstm" else layer_states[0])
    return x, states


def step_layers(recurrent_layers, cell: str, inputs, states):
    """Advance stacked recurrent layers by ONE step through their cells.

    Calling a recurrent layer on a one-step sequence runs its whole sequence loop (a while loop per layer
    inside the decoding loop); the cell does the same arithmetic without it, which makes compiled
    decoding several times faster. Inference only (no dropout, no mask).

    Args:
        recurrent_layers: `CELLS[cell]` layers.
        cell: their cell kind ("lstm" states are [h, c] pairs).
        inputs: float [batch, features], this step's input.
        states: one state per layer (a tensor [batch, units]; LSTM: [h, c]).

    Returns:
        (outputs [batch, units] of the last layer, the new per-layer states).
    """
    x, new_states = inputs, []
    for layer, state in zip(recurrent_layers, states):
        x, layer_states = layer.cell(x, list(state) if cell == "lstm" else [state], training=False)
        new_states.append(list(layer_states) if cell == "lstm" else layer_states[0])
    return x, new_states


def check_cell(cell: str) -> None:
    """ValueError unless `cell` names a recurrent layer kind ("simple_rnn", "lstm" or "gru")."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")


def stepping_layers(cell: str, units: int, num_layers: int, recurrent_dropout: float = 0.0) -> list:
    """`num_layers` recurrent layers named "{cell}_{i}" that return sequences and states, for `run_layers`
    (whole sequences, from given states) and `step_layers` (one token at a time)."""
    check_cell(cell)
    return [CELLS[cell](units, return_sequences=True, return_state=True, recurrent_dropout=recurrent_dropout,
                        name=f"{cell}_{i}") for i in range(num_layers)]


class StackedStates:
    """For a layer whose `cell` attribute names its recurrent kind: its per-layer states <-> one flat tuple."""

    def flatten_states(self, states) -> tuple:
        """Per-layer states (LSTM: [h, c] pairs) -> one flat tuple of tensors [batch, units]."""
        return flatten_states(self.cell, states)

    def unflatten_states(self, flat) -> list:
        """Inverse of `flatten_states`."""
        return unflatten_states(self.cell, flat)


def zero_states(cell: str, num_layers: int, batch_size, units: int) -> list:
    """All-zero per-layer states for `run_layers` (LSTM: [h, c] per layer), each [batch, units]."""
    zeros = keras.ops.zeros((batch_size, units))
    return [[zeros, zeros] if cell == "lstm" else zeros for _ in range(num_layers)]


def flatten_states(cell: str, states) -> tuple:
    """Per-layer states (LSTM: [h, c] pairs) -> one flat tuple of tensors, as decoding loops carry them."""
    flat = []
    for state in states:
        flat.extend(state if cell == "lstm" else [state])
    return tuple(flat)


def unflatten_states(cell: str, flat) -> list:
    """Inverse of `flatten_states`."""
    if cell != "lstm":
        return list(flat)
    return [[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)]
