"""SavedModel export: serving signatures that take raw input and return raw output.

Each task has a `tf.Module` that holds its tokenizer(s) and Keras model and does preprocessing,
the forward pass and postprocessing in one graph, so `tf.saved_model.load(path)` (or TF Serving)
needs no rnnapps code. The pipelines call the same modules for prediction, so a bundle and its
SavedModel give the same answers.
"""

from __future__ import annotations

import pathlib

import tensorflow as tf

from rnnapps import atomic, decoding
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


class TranslatorServing(tf.Module):
    """Raw source strings in, translated strings out: tokenize, encode, decode (greedy or beam search with
    the shared `rnnapps.decoding` loop), detokenize, all in one graph.

    Args:
        source_tokenizer, target_tokenizer: the two sides' tokenizers.
        model: a `rnnapps.layers.seq2seq.Seq2Seq`.
        max_source_length: source tokens kept (longer inputs are truncated).
        max_output_length: most target tokens generated.
        beam_size: beam width of the `translate` signature.
        alpha: length-penalty exponent.
    """

    def __init__(self, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer, model, max_source_length: int,
                 max_output_length: int, beam_size: int, alpha: float):
        super().__init__(name="translator")
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.model = model
        self.max_source_length = max_source_length
        self.max_output_length = max_output_length
        self.beam_size = beam_size
        self.alpha = alpha

    @tf.function
    def translate_batch(self, text: tf.Tensor, beam_size: int, with_attention: bool = False) -> dict[str, tf.Tensor]:
        """Translate a batch; `beam_size` and `with_attention` are Python values (one graph per value).

        Args:
            text: string tensor [batch].
            beam_size: 1 = greedy search, more = beam search.
            with_attention: also return the ids and attention weights.

        Returns:
            {"translation": string [batch], "score": float32 [batch]} and, with attention,
            {"ids": int32 [batch, max_output_length], "attention": float32 [batch, max_output_length, source]}.
        """
        ids = encode_batch(self.source_tokenizer, text, self.max_source_length)
        memory, mask, states = self.model.encode(ids, training=False)
        context = (memory, mask, self.model.decoder.precompute_memory(memory))

        def step(tokens, state, context):
            return self.model.decoder.step(tokens, state, *context)

        batch = tf.shape(ids)[0]
        attention_size = tf.shape(ids)[1] if with_attention else None
        if beam_size > 1:
            result = decoding.beam_search(step, states, context, batch, self.max_output_length, beam_size,
                                          self.alpha, attention_size=attention_size)
        else:
            result = decoding.greedy(step, states, context, batch, self.max_output_length,
                                     attention_size=attention_size)
        outputs = {"translation": self.target_tokenizer.detokenize(result.ids), "score": result.scores}
        if with_attention:
            outputs.update(ids=result.ids, attention=result.attention)
        return outputs

    def translate_function(self, beam_size: int, with_attention: bool = False):
        """`translate_batch` for one beam size, traced once for any batch size: text [batch] -> outputs.

        A batch dimension of unknown size keeps the decoding loop's buffers shape-stable however the
        beam reorders them, and one graph serves every batch size.
        """
        return self.translate_batch.get_concrete_function(tf.TensorSpec([None], tf.string), beam_size,
                                                          with_attention)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def translate(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """Beam-search translation of raw strings [batch] -> {"translation": string [batch], "score": [batch]}."""
        return self.translate_batch(text, self.beam_size)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def translate_greedy(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """Greedy translation of raw strings [batch] -> {"translation": string [batch], "score": [batch]}."""
        return self.translate_batch(text, 1)


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
