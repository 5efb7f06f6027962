"""SavedModel export: serving signatures that take raw input and return raw output.

Each task has a `tf.Module` that holds its tokenizer(s) and Keras model and does preprocessing,
the forward pass and postprocessing in one graph, so `tf.saved_model.load(path)` (or TF Serving)
needs no rnnapps code. The pipelines call the same modules for prediction, so a bundle and its
SavedModel give the same answers.
"""

from __future__ import annotations

import pathlib

import tensorflow as tf

from rnnapps import atomic
from rnnapps.tokenizers import PAD_ID, Tokenizer


def encode_batch(tokenizer: Tokenizer, texts: tf.Tensor, max_length: int, keep: str = "start") -> tf.Tensor:
    """Tokenize, truncate and right-pad a batch of strings.

    Args:
        tokenizer: any rnnapps tokenizer.
        texts: string tensor [batch].
        max_length: tokens kept per text.
        keep: keep the "start" or the "end" of a text that is too long.

    Returns:
        int32 tensor [batch, time] padded with PAD_ID; time >= 1 even when every text is empty, so
        recurrent layers always see at least one (masked) step.
    """
    ids = tokenizer.tokenize(texts)
    ids = ids[:, -max_length:] if keep == "end" else ids[:, :max_length]
    dense = ids.to_tensor(default_value=PAD_ID)
    return tf.pad(dense, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(dense)[1])]], constant_values=PAD_ID)


class TextClassifierServing(tf.Module):
    """Raw strings in, label and probabilities out.

    Args:
        tokenizer: the classifier's tokenizer.
        model: Keras model mapping ids [batch, time] to class probabilities [batch, classes].
        label_names: class names, position = class id.
        max_length: tokens kept per text.
        truncation: keep the "start" or the "end" of long texts.
    """

    def __init__(self, tokenizer: Tokenizer, model, label_names: list[str], max_length: int, truncation: str):
        super().__init__(name="text_classifier")
        self.tokenizer = tokenizer
        self.model = model
        self.max_length = max_length
        self.truncation = truncation
        self.label_names = tf.constant(label_names, dtype=tf.string)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def classify(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """Classify a batch of raw strings.

        Args:
            text: string tensor [batch].

        Returns:
            {"label": string [batch], "probability": float32 [batch] (of that label),
             "probabilities": float32 [batch, classes], "label_id": int32 [batch]}.
        """
        ids = encode_batch(self.tokenizer, text, self.max_length, self.truncation)
        probabilities = tf.cast(self.model(ids, training=False), tf.float32)
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {
            "label": tf.gather(self.label_names, label_id),
            "probability": tf.reduce_max(probabilities, axis=-1),
            "probabilities": probabilities,
            "label_id": label_id,
        }


def save(module: tf.Module, path: str | pathlib.Path, signatures: dict) -> pathlib.Path:
    """Write a SavedModel atomically (temporary directory, then rename).

    Args:
        module: the serving module (tracks the tokenizer tables and model variables).
        path: target directory (replaced if it exists).
        signatures: signature name -> concrete tf.function, e.g. {"serving_default": module.classify}.

    Returns:
        The SavedModel directory.
    """
    return atomic.write_directory(path, lambda tmp: tf.saved_model.save(module, str(tmp), signatures=signatures))
