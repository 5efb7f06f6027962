"""The sentiment SavedModel module: raw strings in, label and probabilities out."""

from __future__ import annotations

import tensorflow as tf


class TextClassifierServing(tf.Module):
    """Raw strings in, label and probabilities out, all in one graph: the preprocessor turns the texts into
    ids exactly as for training, the model scores them and the preprocessor names the labels.

    Args:
        preprocessor: the task's `SentimentPreprocessor` (its tokenizer is tracked here, so the SavedModel
            holds its tables).
        model: Keras model mapping ids [batch, time] to class probabilities [batch, classes].
    """

    signature_methods = {"serving_default": "classify"}  # SavedModel signature -> method (Pipeline.export)

    def __init__(self, preprocessor, model):
        super().__init__(name="text_classifier")
        self.preprocessor = preprocessor
        self.tokenizer = preprocessor.tokenizer  # tracked: the SavedModel must hold the tokenizer's resources
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def classify(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """Classify a batch of raw strings.

        Args:
            text: string tensor [batch].

        Returns:
            {"label": string [batch], "probability": float32 [batch] (of that label),
             "probabilities": float32 [batch, classes], "label_id": int32 [batch]}.
        """
        ids = self.preprocessor.encode_batch(text)
        probabilities = tf.cast(self.model(ids, training=False), tf.float32)
        return self.preprocessor.decode(probabilities)
