"""The generation model: a recurrent language model (embedding -> stacked SimpleRNN/LSTM/GRU layers ->
vocabulary projection) and `build_model`, which makes it from a recipe.

Training reads whole windows at once (fused kernels); `run` continues from given states (streaming evaluation
over a long text); `start_decoding` reads prompts into the state and `decoding_step` advances one token, the
decoding contract that `rnnapps.decoding` drives. With `stateful_batch_size`, training carries the state from
one batch to the next (truncated backpropagation through time over contiguous streams, see
`rnnapps.datasets.batching.contiguous_streams`). Pure keras / keras.ops: no TensorFlow import.
"""

from __future__ import annotations

import keras
from keras import ops

from rnnapps import decoding, numerics
from rnnapps.embeddings import TokenEmbedding
from rnnapps.layers import recurrent
from rnnapps.pipelines.generate import recipe as recipes
from rnnapps.special_tokens import PAD_ID, RESERVED_TOKENS


def build_model(recipe: recipes.GenerateRecipe, vocab_size: int) -> RecurrentLanguageModel:
    """The recipe's language model: ids int32 [batch, time] -> next-character logits float32 [batch, time, vocab].

    Args:
        recipe: the generation recipe (its `embedding`, `decoder`, `model.stateful` and `training.batch_size`).
        vocab_size: the tokenizer's vocabulary size (reserved ids included).

    Returns:
        An unbuilt, uncompiled `RecurrentLanguageModel` named "language_model".
    """
    stack = recipe.decoder
    return RecurrentLanguageModel(vocab_size, recipe.embedding.dim, stack.cell, stack.units, stack.num_layers,
                                  dropout_rate=stack.dropout_rate,
                                  embedding_dropout_rate=recipe.embedding.dropout_rate,
                                  recurrent_dropout_rate=stack.recurrent_dropout_rate,
                                  stateful_batch_size=recipe.training.batch_size if recipe.model.stateful else 0,
                                  name="language_model")


@keras.saving.register_keras_serializable(package="rnnapps")
class RecurrentLanguageModel(recurrent.StackedStates, keras.Model):
    """Next-token scores for every position of a token sequence.

    Args:
        vocab_size: number of token ids (reserved ids included).
        embedding_dim: token embedding width.
        cell: "simple_rnn", "lstm" or "gru".
        units: units per recurrent layer.
        num_layers: stacked recurrent layers.
        dropout_rate: dropout between recurrent layers and before the projection.
        embedding_dropout_rate: dropout on the embedded tokens.
        recurrent_dropout_rate: dropout on the recurrent state (no fused cuDNN kernel when > 0).
        stateful_batch_size: 0, or the fixed training batch size of stateful training: each training
            batch then starts from the states the previous one ended with (row i continues row i), and
            `reset_states` zeroes them (at every epoch start, see `ResetStatesEachEpoch`). Inference and
            validation always start from zero states or the states given.

    Call args:
        ids: int32 [batch, time]; padding id 0 is masked (the state carries through it).

    Returns:
        logits float32 [batch, time, vocab_size]: scores of the token that follows each position.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 64, cell: str = "lstm", units: int = 256,
                 num_layers: int = 2, dropout_rate: float = 0.0, embedding_dropout_rate: float = 0.0,
                 recurrent_dropout_rate: float = 0.0, stateful_batch_size: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.dropout_rate = dropout_rate
        self.embedding_dropout_rate = embedding_dropout_rate
        self.recurrent_dropout_rate = recurrent_dropout_rate
        self.stateful_batch_size = stateful_batch_size
        carried = num_layers * (2 if cell == "lstm" else 1) if stateful_batch_size else 0
        self.carried_states = [self.add_weight(shape=(stateful_batch_size, units), initializer="zeros",
                                               trainable=False, name=f"carried_state_{i}") for i in range(carried)]
        self.embedding = TokenEmbedding(vocab_size, embedding_dim, dropout_rate=embedding_dropout_rate,
                                        name="token_embedding")
        self.recurrent_layers = recurrent.stepping_layers(cell, units, num_layers, recurrent_dropout_rate)
        self.dropout = keras.layers.Dropout(dropout_rate)
        self.projection = keras.layers.Dense(vocab_size, name="projection")

    def build(self, ids_shape):
        # `run` may have built the sub-layers already (it can be called before the model is).
        if not self.embedding.built:
            self.embedding.build(ids_shape)
        shape = (ids_shape[0], ids_shape[1], self.embedding_dim)
        for layer in self.recurrent_layers:
            if not layer.built:
                layer.build(shape)
            shape = (*shape[:-1], self.units)
        if not self.projection.built:
            self.projection.build(shape)

    def call(self, ids, training=None):
        if not (training and self.carried_states):
            logits, _ = self.run(ids, training=training)
            return logits
        states = self.unflatten_states([ops.cast(v, self.compute_dtype) for v in self.carried_states])
        logits, new_states = self.run(ids, states, training=training)
        # Gradients stop at the batch boundary (truncated backpropagation through time).
        for variable, value in zip(self.carried_states, self.flatten_states(new_states)):
            variable.assign(ops.stop_gradient(ops.cast(value, variable.dtype)))
        return logits

    def reset_states(self) -> None:
        """Zero the states carried between training batches (stateful training only)."""
        for variable in self.carried_states:
            variable.assign(ops.zeros(variable.shape, variable.dtype))

    def run(self, ids, states=None, training=None):
        """Read `ids` starting from `states` (None = zeros).

        Args:
            ids: int32 [batch, time], right-padded with 0.
            states: per-layer states as returned by `run` or `zero_states`, or None.

        Returns:
            (logits float32 [batch, time, vocab_size], per-layer states after the last real token).
        """
        if states is None:
            states = self.zero_states(ops.shape(ids)[0])
        x = self.embedding(ids, training=training)
        x, states = recurrent.run_layers(self.recurrent_layers, self.cell, x, self.embedding.compute_mask(ids),
                                         states, self.dropout, training)
        x = self.dropout(x, training=training)
        return ops.cast(self.projection(x), "float32"), states

    def zero_states(self, batch_size) -> list:
        """All-zero per-layer states for a batch (LSTM: [h, c] per layer), each [batch, units]."""
        return recurrent.zero_states(self.cell, self.num_layers, batch_size, self.units)

    def start_decoding(self, prompt_ids, training=False) -> decoding.DecodingStart:
        """Read prompts into the state: all but each prompt's last token prime it (padding leaves a state
        unchanged), and the last token is the first input of the loop.

        Args:
            prompt_ids: int32 [batch, time], right-padded with 0; every row holds at least one token.

        Returns:
            A `rnnapps.decoding.DecodingStart` with no context and the prompts' last tokens as start_ids.
        """
        prompt_ids = ops.cast(prompt_ids, "int32")
        lengths = ops.sum(ops.cast(ops.not_equal(prompt_ids, PAD_ID), "int32"), axis=1)
        last_index = ops.maximum(lengths - 1, 0)
        last = ops.take_along_axis(prompt_ids, ops.expand_dims(last_index, 1), axis=1)[:, 0]
        is_last = ops.expand_dims(ops.arange(ops.shape(prompt_ids)[1]), 0) >= ops.expand_dims(lengths - 1, 1)
        _, states = self.run(ops.where(is_last, PAD_ID, prompt_ids), training=training)
        return decoding.DecodingStart(self.flatten_states(states), (), ops.shape(prompt_ids)[0], start_ids=last)

    def decoding_step(self, token_ids, states, context=()):
        """One generation step (see `rnnapps.decoding.Decodable`).

        Reserved ids (padding, unknown, start, end) are never generated: their scores are set to a
        large negative value, so sampling needs no end-of-text handling.

        Args:
            token_ids: int32 [n], the previous tokens.
            states: flat tuple of state tensors [n, units] (see `flatten_states`).
            context: unused (language models have no per-sequence constants).

        Returns:
            (logits float32 [n, vocab_size], new flat state tuple, None).
        """
        x = self.embedding(ops.expand_dims(token_ids, 1), training=False)[:, 0]
        x, new_states = recurrent.step_layers(self.recurrent_layers, self.cell, x, self.unflatten_states(states))
        logits = ops.cast(self.projection(x), "float32")
        reserved = ops.arange(self.vocab_size) < len(RESERVED_TOKENS)
        return ops.where(reserved, numerics.NEG_INF, logits), self.flatten_states(new_states), None

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim,
                "cell": self.cell, "units": self.units, "num_layers": self.num_layers,
                "dropout_rate": self.dropout_rate, "embedding_dropout_rate": self.embedding_dropout_rate,
                "recurrent_dropout_rate": self.recurrent_dropout_rate,
                "stateful_batch_size": self.stateful_batch_size}


class ResetStatesEachEpoch(keras.callbacks.Callback):
    """Start every training epoch of a stateful language model from zero states (the streams restart)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.reset_states()
