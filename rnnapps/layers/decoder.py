"""An attention decoder shared by translation (over encoder outputs) and captioning (over an image grid).

Layout (Luong et al., 2015): the recurrent layers read the target tokens; each output attends over the
memory (encoder outputs or image features); [output; context] goes through a tanh layer and then the
vocabulary projection. Attention comes after the recurrence, so training runs every layer over the whole
target sequence at once (fused kernels, no Python loop), and `step` runs the same weights one token at a
time for `rnnapps.decoding`. The scoring function is selectable: additive (Bahdanau) or multiplicative
(Luong dot / general).

With `input_feeding` (Luong et al.'s input feeding; Show, Attend and Tell also feeds its context into the
LSTM), the attentional vector of step t - 1 is part of the input of step t, so the recurrence knows what it
attended to: which object a caption has described, which source words are translated. Training then
loops over the steps (`keras.ops.scan`) instead of running fused recurrent kernels over the sequence.
"""

from __future__ import annotations

import keras
from keras import ops

from rnnapps.embeddings import TokenEmbedding
from rnnapps.layers import recurrent
from rnnapps.layers.attention import make_attention


@keras.saving.register_keras_serializable(package="rnnapps")
class AttentionDecoder(recurrent.StackedStates, keras.layers.Layer):
    """Target tokens + memory -> next-token logits.

    Args:
        vocab_size: target vocabulary size.
        embedding_dim: target embedding width.
        cell: "simple_rnn", "lstm" or "gru".
        units: recurrent units per layer (also the attention query width).
        num_layers: stacked recurrent layers.
        attention: "bahdanau", "luong_dot" or "luong_general".
        dropout_rate: dropout on embeddings and between layers.
        tie_embeddings: reuse the target embedding matrix as the output projection (needs
            embedding_dim == units).
        input_feeding: concatenate the previous step's attentional vector to the embedded token.

    Call args:
        target_ids: int32 [batch, target_time], the decoder inputs (START followed by the target).
        memory: float [batch, source_time, memory_dim], what is attended over.
        memory_mask: bool [batch, source_time] or None.
        initial_states: list with one state per layer (a tensor [batch, units]; LSTM: [h, c]).

    Returns:
        (logits float32 [batch, target_time, vocab_size], attention [batch, target_time, source_time]).
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 128, cell: str = "gru", units: int = 256,
                 num_layers: int = 1, attention: str = "luong_general", dropout_rate: float = 0.0,
                 tie_embeddings: bool = False, input_feeding: bool = False, **kwargs):
        super().__init__(**kwargs)
        if tie_embeddings and embedding_dim != units:
            raise ValueError(f"tied embeddings need embedding_dim == units, got {embedding_dim} and {units}")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.attention_kind = attention
        self.dropout_rate = dropout_rate
        self.tie_embeddings = tie_embeddings
        self.input_feeding = input_feeding
        self.embedding = TokenEmbedding(vocab_size, embedding_dim, dropout_rate=dropout_rate, name="target_embedding")
        self.recurrent_layers = recurrent.stepping_layers(cell, units, num_layers)
        self.dropout = keras.layers.Dropout(dropout_rate)
        self.attention = make_attention(attention, units)
        self.combine = keras.layers.Dense(units, activation="tanh", name="attentional_hidden")
        if not tie_embeddings:
            self.projection = keras.layers.Dense(vocab_size, name="projection")
        self.output_bias = self.add_weight(shape=(vocab_size,), initializer="zeros", name="output_bias") \
            if tie_embeddings else None

    @property
    def states_per_layer(self) -> int:
        """Recurrent state tensors per layer: 2 for LSTM (h, c), 1 otherwise."""
        return 2 if self.cell == "lstm" else 1

    def build(self, target_ids_shape, memory_shape=None):
        # Argument names follow call()'s, so Keras can build the layer inside functional models too.
        self.embedding.build(target_ids_shape)
        fed = self.units if self.input_feeding else 0
        shape = (target_ids_shape[0], target_ids_shape[1], self.embedding_dim + fed)
        for layer in self.recurrent_layers:
            layer.build(shape)
            shape = (*shape[:-1], self.units)
        memory_dim = memory_shape[-1] if memory_shape is not None else self.units
        self.attention.build((None, None, self.units), (None, None, memory_dim))
        self.combine.build((None, None, self.units + memory_dim))
        if not self.tie_embeddings:
            self.projection.build((None, None, self.units))

    def _project(self, hidden):
        if self.tie_embeddings:
            return ops.matmul(hidden, ops.transpose(self.embedding.embedding.embeddings)) + self.output_bias
        return self.projection(hidden)

    def _run(self, target_ids, memory, memory_mask, initial_states, processed_memory=None, training=None):
        """Recurrence over all given steps, then attention and projection; returns logits, weights, states."""
        if self.input_feeding:
            return self._run_input_feeding(target_ids, memory, memory_mask, initial_states, processed_memory,
                                           training)
        x = self.embedding(target_ids, training=training)
        x, states = recurrent.run_layers(self.recurrent_layers, self.cell, x, self.embedding.compute_mask(target_ids),
                                         initial_states, self.dropout, training)
        logits, weights = self._attend_and_project(x, memory, memory_mask, processed_memory, training)
        return logits, weights, states

    def _run_input_feeding(self, target_ids, memory, memory_mask, initial_states, processed_memory, training):
        """`_run` one step at a time, each step reading the previous attentional vector. Dropout applies to
        the embeddings and before the projection, not inside the loop."""
        x = self.embedding(target_ids, training=training)
        if processed_memory is None:
            processed_memory = self.precompute_memory(memory)
        flat = self.flatten_states(initial_states)
        no_weights = ops.zeros((ops.shape(target_ids)[0], ops.shape(memory)[1]), "float32")

        def one_step(carry, x_t):  # carry: the step state (its last entry the fed vector), then the weights
            _, weights, state = self._advance(x_t, carry[:-1], memory, memory_mask, processed_memory)
            carry = (*state, ops.cast(weights, "float32"))
            return carry, carry  # the TensorFlow backend's scan wants outputs shaped like the carry

        last, steps = ops.scan(one_step, (*self.start_states(flat), no_weights), ops.transpose(x, (1, 0, 2)))
        hidden = ops.transpose(steps[len(flat)], (1, 0, 2))  # the fed vectors: [batch, time, units]
        weights = ops.transpose(steps[-1], (1, 0, 2))  # [batch, time, source_time]
        hidden = self.dropout(hidden, training=training)
        return ops.cast(self._project(hidden), "float32"), weights, self.unflatten_states(last[:len(flat)])

    def _attend(self, x, memory, memory_mask, processed_memory):
        """Recurrent outputs [batch, time, units] -> (attentional vectors [batch, time, units], weights)."""
        context, weights = self.attention(x, memory, mask=memory_mask, processed_keys=processed_memory)
        return self.combine(ops.concatenate([x, ops.cast(context, x.dtype)], axis=-1)), weights

    def _attend_and_project(self, x, memory, memory_mask, processed_memory, training=None):
        """Recurrent outputs [batch, time, units] -> (logits float32 [batch, time, vocab], attention weights)."""
        hidden, weights = self._attend(x, memory, memory_mask, processed_memory)
        hidden = self.dropout(hidden, training=training)
        return ops.cast(self._project(hidden), "float32"), weights

    def call(self, target_ids, memory, memory_mask=None, initial_states=None, training=None):
        logits, weights, _ = self._run(target_ids, memory, memory_mask, self._default_states(target_ids,
                                       initial_states), training=training)
        return logits, weights

    def _default_states(self, target_ids, initial_states):
        if initial_states is not None:
            return initial_states
        return recurrent.zero_states(self.cell, self.num_layers, ops.shape(target_ids)[0], self.units)

    def precompute_memory(self, memory):
        """Attention keys computed once per input (e.g. Bahdanau's W_k h), reused at every step."""
        return self.attention.precompute_keys(memory)

    def start_states(self, flat_states) -> tuple:
        """The first state of `step` from the initial recurrent states (a flat tuple, see `flatten_states`):
        the same tuple, and with input feeding a zero attentional vector [n, units] after it."""
        flat_states = tuple(flat_states)
        if not self.input_feeding:
            return flat_states
        return (*flat_states, ops.zeros_like(flat_states[0]))

    def step(self, token_ids, states, memory, memory_mask, processed_memory):
        """One decoding step for `rnnapps.decoding`.

        Args:
            token_ids: int32 [n], the previous tokens.
            states: flat tuple of state tensors [n, units], as `start_states` makes it.
            memory, memory_mask, processed_memory: as from the encoder / `precompute_memory`.

        Returns:
            (logits float32 [n, vocab], new flat state tuple, attention weights [n, source_time]).
        """
        x = self.embedding(ops.expand_dims(token_ids, 1), training=False)[:, 0]
        hidden, weights, new_states = self._advance(x, states, memory, memory_mask, processed_memory)
        return ops.cast(self._project(hidden), "float32"), new_states, weights

    def _advance(self, x, states, memory, memory_mask, processed_memory):
        """One step of the recurrence and attention, shared by `step` and input-feeding training.

        Args:
            x: float [n, embedding_dim], the embedded previous tokens.
            states: the flat step state (`start_states`; with input feeding its last entry is the fed vector).

        Returns:
            (attentional vectors [n, units], attention weights [n, source_time], the new flat step state).
        """
        if self.input_feeding:
            states, fed = states[:-1], states[-1]
            x = ops.concatenate([x, fed], axis=-1)
        x, new_states = recurrent.step_layers(self.recurrent_layers, self.cell, x, self.unflatten_states(states))
        hidden, weights = self._attend(ops.expand_dims(x, 1), memory, memory_mask, processed_memory)
        hidden, new_flat = hidden[:, 0], self.flatten_states(new_states)
        return hidden, weights[:, 0], (*new_flat, hidden) if self.input_feeding else new_flat

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim,
                "cell": self.cell, "units": self.units, "num_layers": self.num_layers,
                "attention": self.attention_kind, "dropout_rate": self.dropout_rate,
                "tie_embeddings": self.tie_embeddings, "input_feeding": self.input_feeding}
