"""The pretraining language model: the task's token embedding and recurrent layers, trained to predict the
next word (and, for a bidirectional encoder, the previous word with the backward layers), scored with a
sampled softmax against the tied embedding matrix. Backend-agnostic Keras (no TensorFlow here)."""

from __future__ import annotations

import math

import keras
from keras import ops

from rnnapps import embeddings, layers

# Large enough to remove a sampled word's logit, small enough to stay finite in float32 arithmetic.
_REMOVED_LOGIT = 1e9


@keras.saving.register_keras_serializable(package="rnnapps")
class SampledSoftmaxLoss(keras.layers.Layer):
    """Per-token cross-entropy of a next-word prediction against the true word and `num_sampled` words drawn
    from a log-uniform (Zipfian) distribution over the ids, with the usual correction for how often each was
    likely to be drawn (Jean et al. 2015). Vocabularies sorted by frequency (rnnapps' word and char
    tokenizers after the reserved ids) match that distribution well. Negatives are drawn once per batch and
    shared by every position; a negative that is the true word is removed.

    Args:
        vocab_size: ids scored (id 0, padding, is never drawn).
        num_sampled: words drawn per batch.
        seed: seed of the draws.

    Call args:
        hidden: float [batch, time, dim], the predictions in the embedding space.
        targets: int [batch, time], the true next ids.
        embedding_matrix: float [vocab_size, dim], the output word vectors (tied to the input embedding).

    Returns:
        float32 [batch, time]: -log p(target) under the sampled softmax.
    """

    def __init__(self, vocab_size: int, num_sampled: int = 512, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.num_sampled = num_sampled
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # The padding mask passes through to the per-token losses, which Keras then averages over real words.
        self.supports_masking = True

    def build(self, input_shape=None):
        self.output_bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="output_bias")

    def _log_expected_count(self, ids):
        """log(num_sampled * P(id)) under the log-uniform distribution over ranks id - 1."""
        rank = ops.cast(ids, "float32") - 1.0
        probability = (ops.log(rank + 2.0) - ops.log(rank + 1.0)) / math.log(self.vocab_size)
        return ops.log(self.num_sampled * probability)

    def call(self, hidden, targets, embedding_matrix):
        hidden = ops.cast(hidden, "float32")
        matrix = ops.cast(embedding_matrix, "float32")
        bias = ops.cast(self.output_bias, "float32")
        # Log-uniform draws over ranks 0 .. vocab_size - 2, i.e. ids 1 .. vocab_size - 1.
        uniform = keras.random.uniform((self.num_sampled,), seed=self.seed_generator)
        rank = ops.floor(ops.exp(uniform * math.log(self.vocab_size))) - 1.0
        sampled = ops.cast(ops.clip(rank, 0, self.vocab_size - 2), "int32") + 1  # [num_sampled]
        targets = ops.cast(targets, "int32")
        true_logits = (ops.sum(hidden * ops.take(matrix, targets, axis=0), axis=-1) + ops.take(bias, targets)
                       - self._log_expected_count(targets))  # [batch, time]
        sampled_logits = (ops.einsum("btd,kd->btk", hidden, ops.take(matrix, sampled, axis=0))
                          + ops.take(bias, sampled) - self._log_expected_count(sampled))  # [batch, time, k]
        hits = ops.cast(ops.equal(ops.expand_dims(targets, -1), sampled), "float32")
        sampled_logits = sampled_logits - hits * _REMOVED_LOGIT
        logits = ops.concatenate([ops.expand_dims(true_logits, -1), sampled_logits], axis=-1)
        return ops.logsumexp(logits, axis=-1) - true_logits

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "num_sampled": self.num_sampled,
                "seed": self.seed}


@keras.saving.register_keras_serializable(package="rnnapps")
class EncoderLanguageModel(keras.Model):
    """A task encoder's layers trained as a language model: token embedding -> recurrent layers read forward
    (predicting the next word) and, when bidirectional, read backward (predicting the previous word), each
    projected into the embedding space and scored by a sampled softmax over the tied embedding matrix.

    The two directions are separate stacks (a forward layer never sees a backward one's output, which
    would show it the word to predict). The layers are built like the task's (`RecurrentStack` defaults:
    cuDNN-eligible), so `rnnapps.pretraining.transfer` can copy them into the task's model.

    Args:
        vocab_size: ids of the tokenizer (reserved ids included).
        embedding_dim: embedding width.
        embedding_dropout_rate: spatial dropout on the embedded words.
        cell: "simple_rnn", "lstm" or "gru".
        units: units per direction per layer.
        num_layers: stacked layers per direction.
        bidirectional: also train a backward stack.
        layer_dropout_rate: dropout between stacked layers.
        output_dropout_rate: dropout on the last layer's outputs.
        num_sampled: words the sampled softmax draws per batch.
        seed: seed of those draws.

    Call args:
        window: int [batch, time + 2]: the words read are window[:, 1:-1]; the forward targets are
            window[:, 2:] and the backward ones window[:, :-2].

    Returns:
        float32 [batch, time]: the loss per position (the mean of both directions').

    Example:
        model = EncoderLanguageModel(vocab_size=500, embedding_dim=16, cell="gru", units=8, num_sampled=20)
        losses = model(np.random.randint(1, 500, size=(2, 12)))  # [2, 10]
    """

    def __init__(self, vocab_size: int, embedding_dim: int, embedding_dropout_rate: float = 0.0, cell: str = "gru",
                 units: int = 64, num_layers: int = 1, bidirectional: bool = False, layer_dropout_rate: float = 0.0,
                 output_dropout_rate: float = 0.0, num_sampled: int = 512, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        layers.recurrent.check_cell(cell)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.embedding_dropout_rate = embedding_dropout_rate
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.layer_dropout_rate = layer_dropout_rate
        self.output_dropout_rate = output_dropout_rate
        self.num_sampled = num_sampled
        self.seed = seed
        self.token_embedding = embeddings.TokenEmbedding(vocab_size, embedding_dim, dropout_rate=embedding_dropout_rate,
                                                         name="token_embedding")
        directions = ("forward", "backward") if bidirectional else ("forward",)
        self.stacks = {
            direction: [layers.recurrent.CELLS[cell](units, return_sequences=True, go_backwards=direction == "backward",
                                                     name=f"{direction}_{cell}_{index}")
                        for index in range(num_layers)]
            for direction in directions}
        self.projections = {direction: keras.layers.Dense(embedding_dim, name=f"{direction}_projection")
                            for direction in directions}
        self.layer_dropout = keras.layers.Dropout(layer_dropout_rate)
        self.output_dropout = keras.layers.Dropout(output_dropout_rate)
        self.sampled_softmax = SampledSoftmaxLoss(vocab_size, num_sampled, seed=seed, name="sampled_softmax")

    def _read(self, direction: str, x, training):
        """Outputs [batch, time, units] of one direction's stack, in reading order of the text."""
        for index, layer in enumerate(self.stacks[direction]):
            if index:
                x = self.layer_dropout(x, training=training)
            x = layer(x, training=training)
            if direction == "backward":
                x = ops.flip(x, axis=1)  # a go_backwards layer returns its steps last word first
        return self.output_dropout(x, training=training)

    def call(self, window, training=None):
        window = ops.cast(window, "int32")
        words = self.token_embedding(window[:, 1:-1], training=training)
        matrix = self.token_embedding.embedding.embeddings
        targets = {"forward": window[:, 2:], "backward": window[:, :-2]}
        losses = [self.sampled_softmax(self.projections[direction](self._read(direction, words, training)),
                                       targets[direction], matrix)
                  for direction in self.stacks]
        return losses[0] if len(losses) == 1 else (losses[0] + losses[1]) / 2.0

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim,
                "embedding_dropout_rate": self.embedding_dropout_rate, "cell": self.cell, "units": self.units,
                "num_layers": self.num_layers, "bidirectional": self.bidirectional,
                "layer_dropout_rate": self.layer_dropout_rate, "output_dropout_rate": self.output_dropout_rate,
                "num_sampled": self.num_sampled, "seed": self.seed}


def mean_token_loss(targets, token_losses):
    """The Keras loss of an `EncoderLanguageModel`, which computes its own per-token losses: returns them
    as they are (float32 [batch, time]) for Keras to average; `targets` is a placeholder."""
    return token_losses
