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


def decoded_outputs(name: str, tokenizer: Tokenizer, step, states: tuple, context: tuple, batch_size, max_length: int,
                    beam_size: int, alpha: float, attention_size=None) -> dict[str, tf.Tensor]:
    """Run the shared search (`rnnapps.decoding.search`) and detokenize: the outputs of every serving
    signature that writes text token by token until an end token.

    Args:
        name: key of the output strings ("translation", "caption").
        tokenizer: detokenizes the generated ids.
        step, states, context, batch_size, max_length, beam_size, alpha: as in `decoding.search`.
        attention_size: memory positions attended over, to also return the attention; None = do not.

    Returns:
        {name: string [batch], "score": float32 [batch] (log-probability / length penalty)} and, with
        attention, {"ids": int32 [batch, max_length], "attention": float32 [batch, max_length, memory]}.
    """
    result = decoding.search(step, states, context, batch_size, max_length, beam_size, alpha,
                             attention_size=attention_size)
    outputs = {name: tokenizer.detokenize(result.ids), "score": result.scores}
    if attention_size is not None:
        outputs.update(ids=result.ids, attention=result.attention)
    return outputs


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
            {"translation": string [batch], "score": float32 [batch], the log-probability divided by the
            GNMT length penalty} and, with attention,
            {"ids": int32 [batch, max_output_length], "attention": float32 [batch, max_output_length, source]}.
        """
        ids = encode_batch(self.source_tokenizer, text, self.max_source_length)
        memory, mask, states = self.model.encode(ids, training=False)
        context = (memory, mask, self.model.decoder.precompute_memory(memory))

        def step(tokens, state, context):
            return self.model.decoder.step(tokens, state, *context)

        return decoded_outputs("translation", self.target_tokenizer, step, self.model.decoder.start_states(states),
                               context, tf.shape(ids)[0], self.max_output_length, beam_size, self.alpha,
                               attention_size=tf.shape(ids)[1] if with_attention else None)

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


class TextGeneratorServing(tf.Module):
    """Prompt strings in, generated text out: tokenize the prompt, read it into the recurrent state, sample
    one token at a time with the shared `rnnapps.decoding.sample` loop, detokenize, all in one graph.

    Args:
        tokenizer: the language model's tokenizer.
        model: a `rnnapps.layers.RecurrentLanguageModel`.
        empty_prompt: text read in place of an empty prompt (the model needs one token to start from).
        max_prompt_length: prompt tokens kept (the end of a longer prompt).
        max_length: most tokens generated per call (longer requests are cut to it).
    """

    def __init__(self, tokenizer: Tokenizer, model, empty_prompt: str, max_prompt_length: int, max_length: int):
        super().__init__(name="text_generator")
        self.tokenizer = tokenizer
        self.model = model
        self.empty_prompt = empty_prompt
        self.max_prompt_length = max_prompt_length
        self.max_length = max_length

    @tf.function
    def generate_batch(self, prompt: tf.Tensor, length: tf.Tensor, temperature: tf.Tensor, top_k: tf.Tensor,
                       top_p: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        """Continue every prompt; all arguments are tensors, so one graph serves every value.

        Args:
            prompt: string [batch].
            length: int32 scalar, tokens to generate (clipped to [0, max_length]).
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
        ]
        with tf.control_dependencies(checks):
            length = tf.clip_by_value(tf.cast(length, tf.int32), 0, self.max_length)
        read = tf.where(tf.strings.length(prompt) > 0, prompt, self.empty_prompt)
        ids = encode_batch(self.tokenizer, read, self.max_prompt_length, keep="end")
        lengths = tf.reduce_sum(tf.cast(ids != PAD_ID, tf.int32), axis=1)
        last = tf.gather(ids, tf.maximum(lengths - 1, 0), batch_dims=1)
        # The prompt without its last token primes the state (padding leaves a state unchanged); the last
        # token is the first input of the sampling loop.
        is_last = tf.range(tf.shape(ids)[1])[tf.newaxis, :] >= (lengths - 1)[:, tf.newaxis]
        _, states = self.model.run(tf.where(is_last, PAD_ID, ids), training=False)
        batch = tf.shape(ids)[0]
        uniforms = tf.random.stateless_uniform([length, batch], seed=tf.stack([tf.cast(seed, tf.int64), 0]))
        result = decoding.sample(self.model.step, self.model.flatten_states(states), (), batch, length,
                                 uniforms=uniforms, temperature=temperature, top_k=top_k, top_p=top_p,
                                 start_ids=last)
        generated = self.tokenizer.detokenize(result.ids)
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


class CaptionerServing(tf.Module):
    """Encoded image bytes (JPEG, PNG, ...) in, captions out: decode and resize, run the image encoder,
    decode the caption with the shared `rnnapps.decoding` loop (greedy or beam search), detokenize, all in
    one graph.

    Args:
        tokenizer: the caption tokenizer.
        model: a `rnnapps.layers.Captioner`.
        max_output_length: most caption tokens generated.
        beam_size: beam width of the `caption` signature.
        alpha: length-penalty exponent.
    """

    def __init__(self, tokenizer: Tokenizer, model, max_output_length: int, beam_size: int, alpha: float):
        super().__init__(name="captioner")
        self.tokenizer = tokenizer
        self.model = model
        self.max_output_length = max_output_length
        self.beam_size = beam_size
        self.alpha = alpha

    def decode_images(self, image_bytes: tf.Tensor) -> tf.Tensor:
        """Encoded images string [batch] -> float32 [batch, size, size, 3] in [0, 1]."""
        from rnnapps.datasets import images  # the image checks live with the data readers

        size = self.model.encoder.image_size
        return tf.map_fn(lambda data: images.decode_and_resize(data, size), image_bytes,
                         fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32))

    @tf.function
    def caption_pixels(self, pixels: tf.Tensor, beam_size: int, with_attention: bool = False) -> dict[str, tf.Tensor]:
        """Caption decoded images; `beam_size` and `with_attention` are Python values (one graph per value).

        Args:
            pixels: float32 [batch, size, size, 3] in [0, 1].
            beam_size: 1 = greedy search, more = beam search.
            with_attention: also return the ids and the attention over the feature grid.

        Returns:
            {"caption": string [batch], "score": float32 [batch] (log-probability / length penalty)} and,
            with attention, {"ids": int32 [batch, max_output_length],
            "attention": float32 [batch, max_output_length, grid cells]}.
        """
        decoder = self.model.caption_decoder
        memory, states = decoder.encode(self.model.encoder(pixels, training=False), training=False)
        context = (memory, decoder.decoder.precompute_memory(memory))

        def step(tokens, state, context):
            memory, processed = context
            return decoder.decoder.step(tokens, state, memory, None, processed)

        return decoded_outputs("caption", self.tokenizer, step, decoder.decoder.start_states(states), context,
                               tf.shape(pixels)[0], self.max_output_length, beam_size, self.alpha,
                               attention_size=tf.shape(memory)[1] if with_attention else None)

    def caption_function(self, beam_size: int, with_attention: bool = False):
        """`caption_pixels` for one beam size, traced once for any batch size: pixels -> outputs."""
        size = self.model.encoder.image_size
        return self.caption_pixels.get_concrete_function(tf.TensorSpec([None, size, size, 3], tf.float32),
                                                         beam_size, with_attention)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def caption(self, image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
        """Beam-search captions of encoded images [batch] -> {"caption": string [batch], "score": [batch]}."""
        return self.caption_pixels(self.decode_images(image_bytes), self.beam_size)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def caption_greedy(self, image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
        """Greedy captions of encoded images [batch] -> {"caption": string [batch], "score": [batch]}."""
        return self.caption_pixels(self.decode_images(image_bytes), 1)


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
