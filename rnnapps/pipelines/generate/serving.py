"""The generation SavedModel module: prompts in, sampled text out."""

from __future__ import annotations

import tensorflow as tf

from rnnapps import decoding, tokenizers


class TextGeneratorServing(tf.Module):
    """Prompt strings in, generated text out, all in one graph: the preprocessor reads the prompts into ids,
    the model's decoding contract primes its state with them (`start_decoding`), the shared sampling loop
    (`rnnapps.decoding.decode` with `decoding.Sampling`) draws one token at a time, and the preprocessor
    turns the ids back into text.

    Args:
        preprocessor: the task's `GeneratePreprocessor` (its tokenizer is tracked here, so the SavedModel
            holds its tables).
        model: a `RecurrentLanguageModel` (`rnnapps.pipelines.generate.model`).
        max_length: most tokens generated per call (a longer request fails before any work).
        stop_at: a sample ends just before the first time it writes this text ("" = never: `length` tokens);
            sampling itself stops once every sample of a call has written it (its tokens, `stop_ids`).
    """

    signature_methods = {"serving_default": "generate", "generate_filtered": "generate_filtered"}

    def __init__(self, preprocessor, model, max_length: int, stop_at: str = ""):
        super().__init__(name="text_generator")
        self.preprocessor = preprocessor
        self.tokenizer = preprocessor.tokenizer  # tracked: the SavedModel must hold the tokenizer's resources
        self.model = model
        self.max_length = max_length
        self.stop_at = stop_at
        self.stop_ids = stop_ids(preprocessor.tokenizer, stop_at)

    @tf.function
    def generate_batch(self, prompt: tf.Tensor, length: tf.Tensor, temperature: tf.Tensor, top_k: tf.Tensor,
                       top_p: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        """Continue every prompt; all arguments are tensors, so one graph serves every value.

        Args:
            prompt: string [batch].
            length: int32 scalar, tokens to generate, in [0, max_length].
            temperature: float32 scalar > 0.
            top_k: int32 scalar >= 0 (0 = no top-k filter).
            top_p: float32 scalar in (0, 1] (1 = no nucleus filter).
            seed: int64 scalar; the same seed, prompts and settings give the same text.

        Returns:
            {"generated": string [batch], the continuation (up to `stop_at`, when given); "text": string
            [batch], prompt + continuation}.
        """
        checks = [
            tf.debugging.assert_positive(temperature, message="temperature must be > 0"),
            tf.debugging.assert_non_negative(top_k, message="top_k must be >= 0 (0 = off)"),
            tf.debugging.assert_positive(top_p, message="top_p must be in (0, 1]"),
            tf.debugging.assert_less_equal(top_p, 1.0, message="top_p must be in (0, 1]"),
            tf.debugging.assert_non_negative(length, message="length must be >= 0"),
            tf.debugging.assert_less_equal(length, self.max_length,
                                           message=f"length must be at most {self.max_length:,} ("
                                                   f"{self.preprocessor.unit} per request)"),
        ]
        with tf.control_dependencies(checks):
            length = tf.identity(tf.cast(length, tf.int32))
        ids = self.preprocessor.encode_prompts(prompt)
        # One uniform number per step and sequence, from the seed alone: the same seed gives the same text.
        uniforms = tf.random.stateless_uniform([length, tf.shape(ids)[0]], seed=tf.stack([tf.cast(seed, tf.int64), 0]))
        result = decoding.decode(self.model, ids, decoding.Sampling(temperature, top_k, top_p, self.stop_ids), length,
                                 uniforms=uniforms)
        generated = self.preprocessor.decode(result.ids)
        if self.stop_at:  # a Python value: the cut is part of the traced graph only where a recipe asks for it
            generated = self.cut_at_stop(prompt, generated)
        return {"generated": generated, "text": tf.strings.join([prompt, generated])}

    def cut_at_stop(self, prompt: tf.Tensor, generated: tf.Tensor) -> tf.Tensor:
        """Each continuation up to where `stop_at` first appears, counting a stop that begins in the prompt's
        last characters (a prompt ending in "\\n" and a continuation starting with one end a tune at once).

        Args:
            prompt, generated: string [batch].

        Returns:
            string [batch]: `generated`, cut.
        """
        carried = len(self.stop_at) - 1  # prompt characters a stop could begin in
        prompt_length = tf.strings.length(prompt, unit="UTF8_CHAR")
        tail_length = tf.minimum(prompt_length, carried)
        tail = tf.strings.substr(prompt, prompt_length - tail_length, tail_length, unit="UTF8_CHAR")
        cut = tf.strings.regex_replace(tf.strings.join([tail, generated]), "(?s)" + _re2_literal(self.stop_at) + ".*",
                                       "")
        cut_length = tf.strings.length(cut, unit="UTF8_CHAR")
        start = tf.minimum(tail_length, cut_length)
        return tf.strings.substr(cut, start, cut_length - start, unit="UTF8_CHAR")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompt"),
                                  tf.TensorSpec([], tf.int32, name="length"),
                                  tf.TensorSpec([], tf.float32, name="temperature"),
                                  tf.TensorSpec([], tf.int64, name="seed")])
    def generate(self, prompt, length, temperature, seed):
        """Sample `length` tokens after each prompt [batch] -> {"generated", "text"}: string [batch]."""
        return self.generate_batch(prompt, length, temperature, tf.constant(0), tf.constant(1.0), seed)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompt"),
                                  tf.TensorSpec([], tf.int32, name="length"),
                                  tf.TensorSpec([], tf.float32, name="temperature"),
                                  tf.TensorSpec([], tf.int32, name="top_k"),
                                  tf.TensorSpec([], tf.float32, name="top_p"),
                                  tf.TensorSpec([], tf.int64, name="seed")])
    def generate_filtered(self, prompt, length, temperature, top_k, top_p, seed):
        """`generate` with top-k and nucleus (top-p) filtering -> {"generated", "text"}: string [batch]."""
        return self.generate_batch(prompt, length, temperature, top_k, top_p, seed)


def stop_ids(tokenizer, stop_at: str) -> tuple[int, ...]:
    """The token ids of `stop_at` ((): none, or a stop the vocabulary cannot spell, which only the text cut finds)."""
    ids = tuple(tokenizer.tokenize_python(stop_at)[0]) if stop_at else ()
    return () if tokenizers.UNK_ID in ids else ids


def _re2_literal(text: str) -> str:
    """`text` as an RE2 pattern that matches it literally (every character but letters and digits as \\x{HEX})."""
    return "".join(char if char.isascii() and char.isalnum() else f"\\x{{{ord(char):x}}}" for char in text)
