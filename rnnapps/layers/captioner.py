"""Show, Attend and Tell: an image feature grid, attended over by the shared `AttentionDecoder`.

`CaptionDecoder` maps image features (from `ImageEncoder`, computed on the fly or read from a cache) and
caption tokens to next-token logits; `Captioner` puts an `ImageEncoder` in front of it, so raw images go
in. Decoding runs through `rnnapps.decoding` with `CaptionDecoder.encode` + `AttentionDecoder.step`.
"""

from __future__ import annotations

import keras
from keras import ops

from rnnapps.layers.decoder import AttentionDecoder
from rnnapps.layers.image_encoder import ImageEncoder
from rnnapps.special_tokens import PAD_ID


@keras.saving.register_keras_serializable(package="rnnapps")
class CaptionDecoder(keras.Model):
    """Image features + caption prefix -> next-token logits.

    The features are projected to the decoder width and a learned embedding of each grid cell's position is
    added (the attention memory): attention then tells the decoder *where* it looked, which position and
    relation words ("at the top left", "to the left of") need; a CNN's features alone say little about
    it. Their mean initialises every decoder state through a tanh layer per state, as in Show, Attend and
    Tell.

    Args:
        vocab_size: caption vocabulary size.
        embedding_dim, cell, units, num_layers, attention, dropout_rate, input_feeding: see
            `AttentionDecoder`.
        attention_regularization: weight of the "doubly stochastic" penalty that asks every grid cell to
            receive, summed over the caption, about as much attention as the others (0 = off).

    Call args:
        inputs: (features float [batch, cells, channels], target_in int32 [batch, time]).

    Returns:
        logits float32 [batch, time, vocab_size].
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 128, cell: str = "lstm", units: int = 256,
                 num_layers: int = 1, attention: str = "bahdanau", dropout_rate: float = 0.0,
                 attention_regularization: float = 0.0, input_feeding: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config_values = dict(vocab_size=vocab_size, embedding_dim=embedding_dim, cell=cell, units=units,
                                  num_layers=num_layers, attention=attention, dropout_rate=dropout_rate,
                                  attention_regularization=attention_regularization, input_feeding=input_feeding)
        self.attention_regularization = attention_regularization
        self.memory_projection = keras.layers.Dense(units, activation="relu", name="memory_projection")
        self.memory_dropout = keras.layers.Dropout(dropout_rate)
        self.decoder = AttentionDecoder(vocab_size, embedding_dim, cell, units, num_layers, attention, dropout_rate,
                                        input_feeding=input_feeding, name="decoder")
        self.bridges = [keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}")
                        for i in range(num_layers * self.decoder.states_per_layer)]

    def build(self, input_shape):
        features_shape, target_shape = input_shape
        self.memory_projection.build(features_shape)
        self.cell_positions = self.add_weight(
            name="cell_positions", shape=(features_shape[1], self.config_values["units"]),
            initializer=keras.initializers.RandomNormal(stddev=0.02))
        for bridge in self.bridges:
            bridge.build((features_shape[0], features_shape[-1]))
        memory_shape = (features_shape[0], features_shape[1], self.config_values["units"])
        self.decoder.build(target_shape, memory_shape)

    def encode(self, features, training=None):
        """Image features [batch, cells, channels] -> (memory [batch, cells, units], flat decoder states)."""
        memory = self.memory_projection(features) + ops.cast(self.cell_positions, self.compute_dtype)[None]
        memory = self.memory_dropout(memory, training=training)
        mean = ops.mean(features, axis=1)
        return memory, tuple(bridge(mean) for bridge in self.bridges)

    def call(self, inputs, training=None):
        features, target_in = inputs
        memory, states = self.encode(features, training=training)
        logits, weights = self.decoder(target_in, memory, initial_states=self.decoder.unflatten_states(states),
                                       training=training)
        if self.attention_regularization:
            self.add_loss(self.attention_regularization * attention_coverage_penalty(weights, target_in))
        return logits

    def get_config(self):
        return {**super().get_config(), **self.config_values}


def attention_coverage_penalty(weights, target_in):
    """Show, Attend and Tell's doubly stochastic regularisation: mean over the batch of
    sum_cells (1 - sum_steps attention)^2, counting only real (not padding) caption steps.

    Args:
        weights: float [batch, time, cells] attention weights.
        target_in: int32 [batch, time] decoder inputs (PAD_ID marks padding).

    Returns:
        A float32 scalar.
    """
    real = ops.cast(ops.not_equal(target_in, PAD_ID), "float32")[:, :, None]
    received = ops.sum(ops.cast(weights, "float32") * real, axis=1)  # [batch, cells]
    return ops.mean(ops.sum(ops.square(1.0 - received), axis=-1))


@keras.saving.register_keras_serializable(package="rnnapps")
class Captioner(keras.Model):
    """Raw images in: an `ImageEncoder` followed by a `CaptionDecoder`.

    Call args:
        inputs: (images float [batch, size, size, 3] in [0, 1], target_in int32 [batch, time]).

    Returns:
        logits float32 [batch, time, vocab_size].
    """

    def __init__(self, encoder: ImageEncoder, decoder: CaptionDecoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.caption_decoder = decoder

    def build(self, input_shape):
        images_shape, target_shape = input_shape
        # Either part may come built: a decoder trained on cached features, or parts restored from a file.
        if not self.encoder.built:
            self.encoder.build(images_shape)
        if not self.caption_decoder.built:
            self.caption_decoder.build((self.encoder.compute_output_shape(images_shape), target_shape))

    def call(self, inputs, training=None):
        images, target_in = inputs
        return self.caption_decoder((self.encoder(images, training=training), target_in), training=training)

    def get_config(self):
        return {**super().get_config(), "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.caption_decoder)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)
