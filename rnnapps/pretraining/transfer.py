"""Start a task's model from a pretrained `EncoderLanguageModel`: copy the embedding and the recurrent layers
that fit, and optionally keep them frozen for the first fine-tuning epochs (`GradientGate`)."""

from __future__ import annotations

import logging

import keras
from keras import ops

from rnnapps.errors import UserError

log = logging.getLogger(__name__)


def transfer(language_model, embedding, encoder, what: str = "encoder") -> list[str]:
    """Copy a pretrained language model's weights into a task model's layers.

    Args:
        language_model: a trained `EncoderLanguageModel`.
        embedding: the task's `TokenEmbedding` (built).
        encoder: the task's `RecurrentStack` (built), or None with what="embedding".
        what: "encoder" (embedding and recurrent layers) or "embedding".

    Returns:
        Names of the copied layers, e.g. ["token_embedding", "gru_0 (forward, backward)"]. A bidirectional
        stack's upper layers read both directions at once, which a language model cannot train, so only its
        first layer is copied (logged).

    Raises:
        UserError: the sizes differ (a recipe changed vocabulary, embedding or encoder after pretraining).
    """
    source = language_model.token_embedding.embedding
    target = embedding.embedding
    _check_same("the embedding (tokenizer.vocab_size, embedding.dim)", source.embeddings.shape, target.embeddings.shape)
    target.embeddings.assign(source.embeddings)
    copied = [embedding.name]
    if what == "embedding" or encoder is None:
        return copied
    if (encoder.cell, encoder.units, encoder.bidirectional) != (language_model.cell, language_model.units,
                                                                language_model.bidirectional):
        raise UserError(f"the pretrained encoder is a {_describe(language_model)} stack, the recipe's [encoder] a "
                        f"{_describe(encoder)} one; pretrain again or set pretraining.transfer = \"embedding\"")
    usable = 1 if encoder.bidirectional else min(encoder.num_layers, language_model.num_layers)
    for index in range(usable):
        layer = encoder.recurrent_layers[index]
        pairs = ([("forward", layer.forward_layer), ("backward", layer.backward_layer)] if encoder.bidirectional
                 else [("forward", layer)])
        for direction, task_layer in pairs:
            pretrained = language_model.stacks[direction][index]
            for task_weight, weight in zip(task_layer.weights, pretrained.weights, strict=True):
                _check_same(f"{layer.name} ({direction})", weight.shape, task_weight.shape)
                task_weight.assign(weight)
        copied.append(f"{layer.name} ({', '.join(direction for direction, _ in pairs)})")
    if usable < encoder.num_layers:
        log.info("pretrained layers copied: %s; layers %d-%d of the encoder start from random weights%s",
                 ", ".join(copied), usable + 1, encoder.num_layers,
                 " (a bidirectional stack's upper layers read both directions, which a language model cannot "
                 "train)" if encoder.bidirectional else "")
    return copied


def _describe(stack) -> str:
    return f"{stack.cell}-{stack.units} {'bidirectional' if stack.bidirectional else 'forward'}"


def _check_same(what: str, pretrained_shape, task_shape) -> None:
    if tuple(pretrained_shape) != tuple(task_shape):
        raise UserError(f"{what}: the pretrained weights are {tuple(pretrained_shape)}, the model's "
                        f"{tuple(task_shape)}; the recipe must keep the sizes it was pretrained with")


@keras.saving.register_keras_serializable(package="rnnapps")
class GradientGate(keras.layers.Layer):
    """Identity in the forward pass; while closed, no gradient flows back through it, so the layers before
    it (a pretrained embedding and encoder) stay as they are while the layers after it learn. `UnfreezeAfter`
    opens it. The state is a non-trainable variable, so it changes without recompiling the model.

    Call args:
        inputs: any float tensor.

    Returns:
        `inputs` unchanged.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape=None):
        self.closed = self.add_weight(shape=(), initializer="zeros", trainable=False, name="closed")

    def call(self, inputs):
        closed = ops.cast(self.closed, inputs.dtype)
        return closed * ops.stop_gradient(inputs) + (1.0 - closed) * inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class UnfreezeAfter(keras.callbacks.Callback):
    """Closes a model's `GradientGate` layers for the first `epochs` epochs and opens them after (resumed
    runs included: the state is set at the start of every epoch).

    Args:
        epochs: epochs to keep the layers before the gates frozen.
    """

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_begin(self, epoch, logs=None):
        gates = [layer for layer in self.model.layers if isinstance(layer, GradientGate)]
        for gate in gates:
            gate.closed.assign(1.0 if epoch < self.epochs else 0.0)
        if gates and epoch == self.epochs and epoch:
            log.info("epoch %d: the pretrained layers are fine-tuned from now on", epoch + 1)
