"""The captioning SavedModel module: encoded image bytes in, captions out."""

from __future__ import annotations

import tensorflow as tf

from rnnapps import decoding, empty_answers
from rnnapps.pipelines.caption import model as caption_model
from rnnapps.pipelines.caption import preprocess


class CaptionerServing(tf.Module):
    """Encoded image bytes (JPEG, PNG, ...) in, captions out: decode and resize (the preprocessor), run the
    captioner's image encoder and decode the caption with the shared `rnnapps.decoding` loop (greedy or beam
    search), detokenize, all in one graph.

    Args:
        preprocessor: the captioning preprocessor (its tokenizer's tables are saved with the module).
        model: a `Captioner` (raw images in).
        max_output_length: most caption tokens generated.
        beam_size: beam width of the `caption` signature.
        alpha: length-penalty exponent.
    """

    signature_methods = {"serving_default": "caption", "caption_greedy": "caption_greedy"}

    def __init__(self, preprocessor: preprocess.CaptionPreprocessor, model: caption_model.Captioner,
                 max_output_length: int, beam_size: int, alpha: float):
        super().__init__(name="captioner")
        self.preprocessor = preprocessor  # a plain object: what the SavedModel keeps is tracked below
        self.tokenizer = preprocessor.tokenizer
        self.model = model
        self.max_output_length = max_output_length
        self.beam_size = beam_size
        self.alpha = alpha

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
        strategy = decoding.search_strategy(beam_size, self.alpha)
        result = decoding.decode(self.model, pixels, strategy, self.max_output_length, with_attention=with_attention)
        return result.outputs("caption", self.preprocessor.captions(result.ids), with_attention)

    def caption_function(self, beam_size: int, with_attention: bool = False):
        """`caption_pixels` for one beam size, traced once for any batch size: pixels -> outputs."""
        size = self.model.encoder.image_size
        return self.caption_pixels.get_concrete_function(tf.TensorSpec([None, size, size, 3], tf.float32),
                                                         beam_size, with_attention)

    def caption_bytes(self, image_bytes: tf.Tensor, beam_size: int) -> dict[str, tf.Tensor]:
        """Captions of encoded images [batch] -> {"caption": string [batch], "score": [batch]}; an empty
        string (no image) is captioned "" with score 0."""
        outputs = self.caption_pixels(self.preprocessor.decode_images(image_bytes), beam_size)
        return empty_answers.empty_answers(outputs, tf.equal(tf.strings.length(image_bytes), 0), "caption")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def caption(self, image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
        """Beam-search captions of encoded images [batch] -> {"caption": string [batch], "score": [batch]}."""
        return self.caption_bytes(image_bytes, self.beam_size)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def caption_greedy(self, image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
        """Greedy captions of encoded images [batch] -> {"caption": string [batch], "score": [batch]}."""
        return self.caption_bytes(image_bytes, 1)
