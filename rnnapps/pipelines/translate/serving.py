"""The translation SavedModel module: raw source strings in, translations out."""

from __future__ import annotations

import tensorflow as tf

from rnnapps import decoding, empty_answers, tokenizers


class TranslatorServing(tf.Module):
    """Raw source strings in, translated strings out: the preprocessor's source encoding, the model's
    decoding contract driven by the shared `rnnapps.decoding.decode` (greedy or beam search), and the
    preprocessor's detokenizing, all in one graph.

    Args:
        preprocessor: a `TranslatePreprocessor` (tokenizers and the source truncation length).
        model: a `Seq2Seq` (anything with `start_decoding` / `decoding_step`).
        max_output_length: most target tokens generated.
        beam_size: beam width of the `translate` signature.
        alpha: length-penalty exponent.
    """

    signature_methods = {"serving_default": "translate", "translate_greedy": "translate_greedy",
                         "translate_attention": "translate_attention"}

    def __init__(self, preprocessor, model, max_output_length: int, beam_size: int, alpha: float):
        super().__init__(name="translator")
        self.preprocessor = preprocessor
        # The tokenizers (tf.Modules) are attributes of their own so that the SavedModel tracks their lookup
        # tables and assets: a tf.Module does not look inside the plain-Python preprocessor.
        self.source_tokenizer = preprocessor.source_tokenizer
        self.target_tokenizer = preprocessor.target_tokenizer
        self.model = model
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
            {"translation": string [batch] ("" for a text without tokens), "score": float32 [batch], the
            log-probability divided by the GNMT length penalty (0 for "")} and, with attention,
            {"ids": int32 [batch, max_output_length], "attention": float32 [batch, max_output_length, source]}.
        """
        ids = self.preprocessor.encode_sources(text)
        decoded = decoding.decode(self.model, ids, decoding.search_strategy(beam_size, self.alpha),
                                  self.max_output_length, with_attention=with_attention)
        # An empty or blank text (no source token) translates to "".
        nothing = tf.reduce_all(tf.equal(ids, tokenizers.PAD_ID), axis=1)
        translations = self.preprocessor.translations(decoded, with_attention)
        return empty_answers.empty_answers(translations, nothing, "translation")

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

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def translate_attention(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """Beam-search translation with the attention behind it (what an attention heatmap shows).

        Args:
            text: raw strings [batch].

        Returns:
            {"translation": string [batch], "score": float32 [batch],
             "attention": float32 [batch, max_output_length, source]: row t is where the decoder looked when
             it wrote target token t, "source_tokens": string [batch, source] and
             "target_tokens": string [batch, max_output_length], each token's text ("" for padding and END)}.
        """
        outputs = self.translate_batch(text, self.beam_size, with_attention=True)
        source_ids = self.preprocessor.encode_sources(text)
        return {"translation": outputs["translation"], "score": outputs["score"], "attention": outputs["attention"],
                "source_tokens": tokenizers.token_texts(self.source_tokenizer, source_ids),
                "target_tokens": tokenizers.token_texts(self.target_tokenizer, outputs["ids"])}
