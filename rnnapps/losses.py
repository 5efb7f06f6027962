"""Losses and metrics shared by tasks: sequence outputs (translation, captioning), where padding never counts, the
pinball loss of quantile forecasts (forecast, anomaly) and CTC (speech)."""

from __future__ import annotations

import keras
from keras import ops

from rnnapps.special_tokens import PAD_ID


def sequence_loss(label_smoothing: float = 0.0):
    """Token cross-entropy averaged over real (non-padding) target tokens.

    Args:
        label_smoothing: share of probability mass spread uniformly over the vocabulary.

    Returns:
        loss(y_true int [batch, time], logits [batch, time, vocab]) -> scalar.
    """

    def loss(y_true, logits):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y_true, PAD_ID), "float32")
        if label_smoothing:
            vocab = ops.shape(logits)[-1]
            targets = ops.one_hot(y_true, vocab) * (1 - label_smoothing) + label_smoothing / ops.cast(vocab, "float32")
            per_token = -ops.sum(targets * ops.log_softmax(logits, axis=-1), axis=-1)
        else:
            per_token = keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
        return ops.sum(per_token * mask) / ops.maximum(ops.sum(mask), 1.0)

    loss.__name__ = "sequence_loss"
    return loss


@keras.saving.register_keras_serializable(package="rnnapps")
class TokenAccuracy(keras.metrics.Metric):
    """Share of real target tokens whose most likely prediction is right (teacher forcing), counted over
    all tokens seen, not averaged per batch.

    update_state(y_true int [batch, time], logits [batch, time, vocab]).
    """

    def __init__(self, name: str = "token_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, logits, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y_true, PAD_ID), "float32")
        hits = ops.cast(ops.equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), y_true), "float32")
        self.correct.assign_add(ops.sum(hits * mask))
        self.total.assign_add(ops.sum(mask))

    def result(self):
        return self.correct / ops.maximum(self.total, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)


def pinball(actual, quantiles, levels):
    """The pinball (quantile) loss of each quantile forecast, as the forecasters train their quantiles.

    Args:
        actual: float [..., 1] (or broadcastable to `quantiles`), the value that came.
        quantiles: float [..., Q], the forecast quantiles.
        levels: float [Q], their levels in (0, 1).

    Returns:
        float [..., Q].
    """
    below = actual - quantiles  # > 0 where the actual lies above the quantile
    return ops.maximum(levels * below, (levels - 1.0) * below)


def ctc(labels, logits):
    """Connectionist temporal classification loss (Graves et al. 2006) with the padding id as the blank.

    The model's logits must already make padding frames certain blanks (as `speech.model.BlankOutside` does):
    then every path through the padded length is a path through the real length followed by blanks, so the
    loss over the whole padded length equals the loss over the real frames, and no frame count has to reach
    the loss.

    Args:
        labels: int [batch, target length], PAD_ID after each target's end.
        logits: float [batch, frames, classes]; class PAD_ID is the blank.

    Returns:
        float32 [batch]: minus the log probability of each target.
    """
    labels = ops.cast(labels, "int32")
    label_lengths = ops.sum(ops.cast(ops.not_equal(labels, PAD_ID), "int32"), axis=1)
    frames = ops.shape(logits)[1]
    logit_lengths = ops.full((ops.shape(logits)[0],), frames, dtype="int32")
    return ops.ctc_loss(labels, ops.cast(logits, "float32"), label_lengths, logit_lengths, mask_index=PAD_ID)
