"""The generation SavedModel module: prompts in, sampled text out."""

from __future__ import annotations

import tensorflow as tf

from rnnapps import decoding


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
    """

    signature_methods = {"serving_default": "generate", "generate_filtered": "generate_filtered"}

    def __init__(self, preprocessor, model, max_length: int):
        super().__init__(name="text_generator")
        self.preprocessor = preprocessor
        self.tokenizer = preprocessor.tokenizer  # tracked: the SavedModel must hold the tokenizer's resources
        self.model = model
        self.max_length = max_length

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
            {"generated": string [batch], the continuation; "text": string [batch], prompt + continuation}.
        """
        checks = [
            tf.debugging.assert_positive(temperature, message="temperature must be > 0"),
            tf.debugging.assert_non_negative(top_k, message="top_k must be >= 0 (0 = off)"),
            tf.debugging.assert_positive(top_p, message="top_p must be in (0, 1]"),
            tf.debugging.assert_less_equal(top_p, 1.0, message="top_p must be in (0, 1]"),
            tf.debugging.assert_non_negative(length, message="length must be >= 0"),
            tf.debugging.assert_less_equal(length, self.max_length,
                                           message=f"length must be at most {self.max_length:,} (characters "
                                                   "per request)"),
        ]
        with tf.control_dependencies(checks):
            length = tf.identity(tf.cast(length, tf.int32))
        ids = self.preprocessor.encode_prompts(prompt)
        # One uniform number per step and sequence, from the seed alone: the same seed gives the same text.
        uniforms = tf.random.stateless_uniform([length, tf.shape(ids)[0]], seed=tf.stack([tf.cast(seed, tf.int64), 0]))
        result = decoding.decode(self.model, ids, decoding.Sampling(temperature, top_k, top_p), length,
                                 uniforms=uniforms)
        generated = self.preprocessor.decode(result.ids)
        return {"generated": generated, "text": tf.strings.join([prompt, generated])}

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
