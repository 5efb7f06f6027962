"""Sequence-to-sequence model: a recurrent encoder and an `AttentionDecoder`, usable whole for teacher
forcing and piecewise (`encode`, then `decoder.step`) for step-by-step decoding."""

from __future__ import annotations

import keras
from keras import ops

from rnnapps.embeddings import TokenEmbedding
from rnnapps.layers.decoder import AttentionDecoder
from rnnapps.layers.recurrent import RecurrentStack


@keras.saving.register_keras_serializable(package="rnnapps")
class Seq2Seq(keras.Model):
    """Encoder-decoder with attention.

    The encoder's final states (both directions concatenated) pass through a tanh layer per decoder
    state to initialise the decoder; the decoder attends over all encoder outputs.

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes.
        embedding_dim: source and target embedding width.
        encoder_cell, encoder_units, encoder_layers, bidirectional: the encoder's recurrent stack.
        decoder_cell, decoder_units, decoder_layers, attention, tie_embeddings, input_feeding: see
            `AttentionDecoder`.
        dropout_rate: dropout in encoder and decoder.

    Call args:
        inputs: (source_ids int32 [batch, source_time], target_input_ids int32 [batch, target_time]).

    Returns:
        logits float32 [batch, target_time, target_vocab_size].
    """

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int = 128,
                 encoder_cell: str = "gru", encoder_units: int = 128, encoder_layers: int = 1,
                 bidirectional: bool = True, decoder_cell: str = "gru", decoder_units: int = 256,
                 decoder_layers: int = 1, attention: str = "luong_general", dropout_rate: float = 0.0,
                 tie_embeddings: bool = False, input_feeding: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config_values = dict(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size, embedding_dim=embedding_dim,
            encoder_cell=encoder_cell, encoder_units=encoder_units, encoder_layers=encoder_layers,
            bidirectional=bidirectional, decoder_cell=decoder_cell, decoder_units=decoder_units,
            decoder_layers=decoder_layers, attention=attention, dropout_rate=dropout_rate,
            tie_embeddings=tie_embeddings, input_feeding=input_feeding)
        self.encoder_cell = encoder_cell
        self.source_embedding = TokenEmbedding(source_vocab_size, embedding_dim, dropout_rate=dropout_rate,
                                               name="source_embedding")
        self.encoder = RecurrentStack(encoder_cell, encoder_units, encoder_layers, bidirectional, dropout_rate,
                                      return_sequences=True, return_state=True, name="encoder")
        self.decoder = AttentionDecoder(target_vocab_size, embedding_dim, decoder_cell, decoder_units,
                                        decoder_layers, attention, dropout_rate, tie_embeddings, input_feeding,
                                        name="decoder")
        states = decoder_layers * self.decoder.states_per_layer
        self.bridges = [keras.layers.Dense(decoder_units, activation="tanh", name=f"bridge_{i}")
                        for i in range(states)]

    def encode(self, source_ids, training=None):
        """Run the encoder.

        Args:
            source_ids: int32 [batch, source_time], right-padded with 0.

        Returns:
            (memory [batch, source_time, encoder_units * directions], memory_mask bool [batch, source_time],
             initial decoder states as a flat tuple, each [batch, decoder_units]).
        """
        embedded = self.source_embedding(source_ids, training=training)
        mask = ops.not_equal(source_ids, 0)
        memory, *final = self.encoder(embedded, mask=mask, training=training)
        # LSTM states come as (h, c) per direction: h's feed h bridges, c's feed c bridges.
        per_direction = 2 if self.encoder_cell == "lstm" else 1
        summaries = [ops.concatenate(final[kind::per_direction], axis=-1) for kind in range(per_direction)]
        states = tuple(bridge(summaries[index % len(summaries)]) for index, bridge in enumerate(self.bridges))
        return memory, mask, states

    def call(self, inputs, training=None):
        source_ids, target_ids = inputs
        memory, mask, states = self.encode(source_ids, training=training)
        logits, _ = self.decoder(target_ids, memory, mask, self.decoder.unflatten_states(states), training=training)
        return logits

    def build(self, input_shape):
        source_shape, target_shape = input_shape
        self.source_embedding.build(source_shape)
        embedded = (*source_shape, self.config_values["embedding_dim"])
        self.encoder.build(embedded)
        memory_dim = self.encoder.output_size
        for bridge in self.bridges:  # each reads the final states of all directions: memory_dim wide
            bridge.build((None, memory_dim))
        self.decoder.build(target_shape, (None, None, memory_dim))

    def get_config(self):
        return {**super().get_config(), **self.config_values}
