"""Token embedding with padding mask and dropout, optionally initialised from pretrained vectors."""

from __future__ import annotations

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="rnnapps")
class TokenEmbedding(keras.layers.Layer):
    """Embed token ids; padding id 0 is masked; dropout on the embedded tokens while training.

    Args:
        vocab_size: number of ids.
        dim: embedding width.
        dropout_rate: dropout on embedded vectors (noise_shape drops whole feature channels across
            time, the "spatial dropout" that regularises text models better than per-value dropout).
        trainable_embeddings: False freezes the embedding matrix (e.g. pretrained vectors).
        initial_matrix: optional array [vocab_size, dim] to start from (not stored in the config;
            the trained values are in the weights).

    Call args:
        ids: int tensor [batch, time].

    Returns:
        float tensor [batch, time, dim] with a mask [batch, time] (True where id != 0).
    """

    def __init__(self, vocab_size: int, dim: int, dropout_rate: float = 0.0, trainable_embeddings: bool = True,
                 initial_matrix: np.ndarray | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.dim = dim
        self.dropout_rate = dropout_rate
        self.trainable_embeddings = trainable_embeddings
        initializer = "uniform" if initial_matrix is None else keras.initializers.Constant(initial_matrix)
        self.embedding = keras.layers.Embedding(vocab_size, dim, mask_zero=True, embeddings_initializer=initializer,
                                                trainable=trainable_embeddings, name="embedding")
        self.dropout = keras.layers.Dropout(dropout_rate, noise_shape=(None, 1, dim))

    def build(self, input_shape):
        self.embedding.build(input_shape)

    def call(self, ids, training=None):
        return self.dropout(self.embedding(ids), training=training)

    def compute_mask(self, ids, mask=None):
        return self.embedding.compute_mask(ids)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim,
                "dropout_rate": self.dropout_rate, "trainable_embeddings": self.trainable_embeddings}
