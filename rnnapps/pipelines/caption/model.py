"""The captioning models: Show, Attend and Tell, an image feature grid attended over by the shared
`AttentionDecoder`, and the recipe's builders.

`CaptionDecoder` maps image features (from `ImageEncoder`, computed on the fly or read from a cache) and
caption tokens to next-token logits; `Captioner` puts an `ImageEncoder` in front of it, so raw images go
in. Both decode themselves (`start_decoding`, `decoding_step`), driven by `rnnapps.decoding`. Pure Keras:
the models build and train on every backend.
"""

from __future__ import annotations

import keras
from keras import ops

from rnnapps import decoding
from rnnapps.errors import UserError
from rnnapps.layers import decoder as decoders
from rnnapps.layers import image_encoder
from rnnapps.pipelines.caption import recipe as caption_recipe
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
        self.decoder = decoders.AttentionDecoder(vocab_size, embedding_dim, cell, units, num_layers, attention,
                                                 dropout_rate, input_feeding=input_feeding, name="decoder")
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

    def start_decoding(self, features, training=False) -> decoding.DecodingStart:
        """Image features float [batch, cells, channels] -> the decoder's first state; the context is
        (memory, precomputed attention keys). See `rnnapps.decoding.Decodable`."""
        memory, states = self.encode(features, training=training)
        context = (memory, self.decoder.precompute_memory(memory))
        return decoding.DecodingStart(self.decoder.start_states(states), context, ops.shape(features)[0],
                                      memory_length=ops.shape(memory)[1])

    def decoding_step(self, token_ids, state, context):
        """One caption token per sequence int32 [n] -> (logits [n, vocab], new state, attention [n, cells])."""
        memory, processed_memory = context
        return self.decoder.step(token_ids, state, memory, None, processed_memory)

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

    def __init__(self, encoder: image_encoder.ImageEncoder, decoder: CaptionDecoder, **kwargs):
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

    def start_decoding(self, images, training=False) -> decoding.DecodingStart:
        """Images float [batch, size, size, 3] in [0, 1] -> the caption decoder's first state (see
        `CaptionDecoder.start_decoding`)."""
        return self.caption_decoder.start_decoding(self.encoder(images, training=training), training=training)

    def decoding_step(self, token_ids, state, context):
        """See `CaptionDecoder.decoding_step`."""
        return self.caption_decoder.decoding_step(token_ids, state, context)

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


# --------------------------------------------------------------------------- the recipe's models


def build_encoder(recipe: caption_recipe.CaptionRecipe) -> image_encoder.ImageEncoder:
    """The recipe's image encoder (weights loaded or downloaded as the recipe says), trainable or frozen
    as `encoder.trainable` says.

    Raises:
        UserError: the backbone's weights cannot be loaded (names the setting and the cause).
    """
    config = recipe.encoder
    try:
        encoder = image_encoder.ImageEncoder(config.backbone, config.image_size, config.weights, config.filters,
                                             name="image_encoder")
    except (OSError, ValueError) as error:
        raise UserError(f"encoder.weights = {config.weights!r}: cannot load the {config.backbone} weights "
                        f"({str(error).splitlines()[0]}); use \"none\" offline, or a local weights file") from None
    encoder.trainable = config.trainable
    return encoder


def build_decoder(recipe: caption_recipe.CaptionRecipe, vocab_size: int) -> CaptionDecoder:
    """The recipe's caption decoder: (features, caption ids) -> logits [batch, time, vocab_size]."""
    config = recipe.decoder
    return CaptionDecoder(vocab_size, config.embedding_dim, config.cell, config.units, config.num_layers,
                          config.attention, config.dropout_rate, config.attention_regularization,
                          config.input_feeding, name="caption_decoder")


def build_model(recipe: caption_recipe.CaptionRecipe, vocab_size: int,
                encoder: image_encoder.ImageEncoder) -> keras.Model:
    """The model to train: a `Captioner` on pixels, or only its `CaptionDecoder` when the recipe trains on
    cached features of a frozen `encoder` (see `with_encoder`)."""
    decoder = build_decoder(recipe, vocab_size)
    return decoder if recipe.cached else Captioner(encoder, decoder, name="captioner")


def with_encoder(encoder: image_encoder.ImageEncoder, decoder: CaptionDecoder) -> Captioner:
    """A `Captioner` of a built image encoder and a decoder trained on its features: raw images in, as in
    a captioner trained end to end."""
    model = Captioner(encoder, decoder, name="captioner")
    size = encoder.image_size
    model.build(((None, size, size, 3), (None, None)))  # both parts are built: this only marks it so
    return model
