"""The translation model: a recurrent encoder and an `AttentionDecoder`, trained whole with teacher forcing
and decoded step by step through its decoding contract (`start_decoding`, `decoding_step`) by
`rnnapps.decoding`. Pure Keras 3 (no TensorFlow import), so it also builds and decodes on JAX or PyTorch."""

from __future__ import annotations

import typing

import keras
from keras import ops

from rnnapps import decoding
from rnnapps.embeddings import token_embedding
from rnnapps.layers import decoder as attention_decoder
from rnnapps.layers import recurrent

if typing.TYPE_CHECKING:  # the recipe module reads data configs; the model needs none of it at run time
    from rnnapps.pipelines.translate import recipe as recipes


@keras.saving.register_keras_serializable(package="rnnapps")
class Seq2Seq(keras.Model):
    """Encoder-decoder with attention (registered as "rnnapps>Seq2Seq", so bundles saved when it lived in
    rnnapps.layers.seq2seq still load).

    The encoder's final states (both directions concatenated) pass through a tanh layer per decoder
    state to initialise the decoder; the decoder attends over all encoder outputs.

    Every argument is keyword-only: most are ints or strings side by side (two vocabulary sizes, three
    widths, two layer counts, two cell names), and a call site that swapped two of them would still build
    a model, just another one. Saved configs (`get_config`) revive through `cls(**config)` all the same.

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

    Example:
        model = Seq2Seq(source_vocab_size=4000, target_vocab_size=4000, embedding_dim=64, encoder_units=64,
                        decoder_units=128)
        logits = model((source_ids, target_input_ids))                      # teacher forcing
        result = decoding.decode(model, source_ids, decoding.BeamSearch(4), max_length=60)  # translate
    """

    def __init__(self, *, source_vocab_size: int, target_vocab_size: int, embedding_dim: int = 128,
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
        self.source_embedding = token_embedding.TokenEmbedding(vocab_size=source_vocab_size, dim=embedding_dim,
                                                               dropout_rate=dropout_rate, name="source_embedding")
        self.encoder = recurrent.RecurrentStack(cell=encoder_cell, units=encoder_units, num_layers=encoder_layers,
                                                bidirectional=bidirectional, dropout_rate=dropout_rate,
                                                return_sequences=True, return_state=True, name="encoder")
        self.decoder = attention_decoder.AttentionDecoder(
            vocab_size=target_vocab_size, embedding_dim=embedding_dim, cell=decoder_cell, units=decoder_units,
            num_layers=decoder_layers, attention=attention, dropout_rate=dropout_rate,
            tie_embeddings=tie_embeddings, input_feeding=input_feeding, name="decoder")
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

    def start_decoding(self, source_ids, training=False) -> decoding.DecodingStart:
        """Encode source ids int32 [batch, source_time] (right-padded with 0) into the decoder's first state;
        the context is (memory, memory_mask, precomputed attention keys). See `rnnapps.decoding.Decodable`."""
        memory, mask, states = self.encode(source_ids, training=training)
        return decoding.DecodingStart(self.decoder.start_states(states),
                                      (memory, mask, self.decoder.precompute_memory(memory)),
                                      ops.shape(source_ids)[0], memory_length=ops.shape(source_ids)[1])

    def decoding_step(self, token_ids, state, context):
        """One target token per sequence int32 [n] -> (logits [n, vocab], new state, attention [n, source_time])."""
        return self.decoder.step(token_ids, state, *context)

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


def build_model(recipe: recipes.TranslateRecipe, *, source_vocab_size: int, target_vocab_size: int) -> Seq2Seq:
    """The encoder-decoder a recipe describes: (source ids [batch, source_time], target input ids
    [batch, target_time]) -> logits [batch, target_time, target_vocab_size].

    Args:
        recipe: a `TranslateRecipe` (its `[model]`, `[encoder]` and `[decoder]` sections).
        source_vocab_size, target_vocab_size: the two tokenizers' vocabulary sizes (keyword-only: they are
            equal with a shared tokenizer, so a swap would go unnoticed until the sides differ).

    Returns:
        An unbuilt, uncompiled `Seq2Seq` named "translator".
    """
    model, encoder, decoder = recipe.model, recipe.encoder, recipe.decoder
    return Seq2Seq(
        source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
        embedding_dim=model.embedding_dim, dropout_rate=model.dropout_rate,
        encoder_cell=encoder.cell, encoder_units=encoder.units, encoder_layers=encoder.num_layers,
        bidirectional=encoder.bidirectional,
        decoder_cell=decoder.cell, decoder_units=decoder.units, decoder_layers=decoder.num_layers,
        attention=decoder.attention, tie_embeddings=decoder.tie_embeddings, input_feeding=decoder.input_feeding,
        name="translator")
