"""The speech SavedModel module: WAV bytes (or samples) in, text out, in one graph."""

from __future__ import annotations

import tensorflow as tf


class SpeechRecognizerServing(tf.Module):
    """Audio in, text out: the preprocessor decodes, resamples and turns the audio into log-mel frames exactly
    as in training, the model scores every frame and CTC decoding writes the text.

    Args:
        preprocessor: the task's `SpeechPreprocessor` (its tokenizer is tracked, so the SavedModel holds it).
        model: the Keras recogniser ((frames, frame counts) -> logits).
        beam_size: the CTC beam width of the signatures (1 = greedy).
    """

    # SavedModel signature -> method (Pipeline.export)
    signature_methods = {"serving_default": "transcribe", "transcribe_samples": "transcribe_samples"}

    def __init__(self, preprocessor, model, beam_size: int):
        super().__init__(name="speech_recognizer")
        self.preprocessor = preprocessor
        self.tokenizer = preprocessor.tokenizer  # tracked: the SavedModel must hold the tokenizer's tables
        self.model = model
        self.beam_size = beam_size

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="audio")])
    def transcribe(self, audio: tf.Tensor) -> dict[str, tf.Tensor]:
        """Transcribe WAV files (16-bit PCM, any rate, mono or stereo).

        Args:
            audio: string [batch], each a whole WAV file.

        Returns:
            {"text": string [batch], "score": float32 [batch] (log probability), "seconds": float32 [batch]}.
        """
        samples, lengths = self.preprocessor.decode_wavs(audio)
        return self._transcribe(samples, lengths, self.beam_size)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="samples"),
                                  tf.TensorSpec([None], tf.int32, name="lengths")])
    def transcribe_samples(self, samples: tf.Tensor, lengths: tf.Tensor) -> dict[str, tf.Tensor]:
        """Transcribe mono recordings already at the model's sample rate.

        Args:
            samples: float32 [batch, samples] in [-1, 1], right-padded.
            lengths: int32 [batch], the real samples of each row.

        Returns:
            As `transcribe`.
        """
        return self._transcribe(samples, lengths, self.beam_size)

    def samples_function(self, beam_size: int):
        """`transcribe_samples` with beam width `beam_size`, traced once per width for any batch: (samples,
        lengths) -> outputs."""
        return self._transcribe_with_beam.get_concrete_function(*self.transcribe_samples.input_signature, beam_size)

    def frame_scores_function(self):
        """(samples float32 [batch, samples], lengths int32 [batch]) -> (CTC log probabilities float32 [batch,
        steps, classes], steps int32 [batch]), traced once for any batch: what decoding with a language model
        (on the host) starts from."""
        return self._frame_scores.get_concrete_function(*self.transcribe_samples.input_signature)

    @tf.function
    def _frame_scores(self, samples: tf.Tensor, lengths: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        frames, counts = self.preprocessor.features(samples, lengths)
        logits = self.model((frames, counts), training=False)
        return tf.nn.log_softmax(tf.cast(logits, tf.float32)), self.preprocessor.output_counts(counts)

    @tf.function
    def _transcribe_with_beam(self, samples: tf.Tensor, lengths: tf.Tensor, beam_size: int) -> dict[str, tf.Tensor]:
        return self._transcribe(samples, lengths, beam_size)

    def _transcribe(self, samples, lengths, beam_size: int) -> dict[str, tf.Tensor]:
        frames, counts = self.preprocessor.features(samples, lengths)
        logits = self.model((frames, counts), training=False)
        texts, scores = self.preprocessor.decode(logits, counts, beam_size)
        seconds = tf.cast(lengths, tf.float32) / float(self.preprocessor.sample_rate)
        return {"text": texts, "score": scores, "seconds": seconds}
