"""Streaming transcription: audio fed chunk by chunk, the text written as it is heard, and at the end the same text
as transcribing the whole recording at once with the same model.

Exact because every stage carries what it needs across chunks: the spectrogram keeps the samples of frames not yet
complete, each causal convolution of the front-end keeps its last input steps, the one-way recurrent layers keep
their states, and greedy CTC decoding keeps the last class it saw (so a character split by a chunk boundary is
not written twice). A stream needs a one-way encoder and a normalisation that does not wait for the end of the
recording (`features.normalization` "global" or "none").
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator

import keras
import numpy as np
import tensorflow as tf

from rnnapps.errors import UserError
from rnnapps.layers import recurrent
from rnnapps.special_tokens import PAD_ID, RESERVED_TOKENS


def check_streamable(recipe) -> None:
    """Raise `UserError` unless the recipe's model can transcribe a stream (says what to change)."""
    if recipe.encoder.bidirectional:
        raise UserError("--stream needs a one-way encoder: this model is bidirectional (it reads each recording "
                        "backwards too, so it waits for the end); train one with --set encoder.bidirectional=false")
    if recipe.features.normalization == "utterance":
        raise UserError("--stream needs features that do not wait for the end of the recording: this model "
                        "normalises over the whole recording; train one with --set features.normalization=global")


@dataclasses.dataclass
class StreamReport:
    """What a stream cost.

    Attributes:
        text: the whole transcript.
        seconds: seconds of audio heard.
        compute_seconds: seconds spent transcribing (reading the input not counted).
        chunks: chunks fed.
        latency_ms: the mean time from a chunk's arrival to its text, in milliseconds.
    """

    text: str
    seconds: float
    compute_seconds: float
    chunks: int
    latency_ms: float

    @property
    def compute_per_audio_second(self) -> float:
        """Seconds of computing per second of audio (the real-time factor)."""
        return self.compute_seconds / max(self.seconds, 1e-9)


class StreamingTranscriber:
    """Greedy CTC transcription of one stream of samples at the model's rate.

    Args:
        preprocessor: the model's `SpeechPreprocessor` (log-mel features, the alphabet).
        model: the trained recogniser (`speech.model.build_model`), one-way.
        recipe: its recipe (checked with `check_streamable`).

    Example:
        transcriber = StreamingTranscriber(preprocessor, model, recipe)
        for chunk in chunks:
            print(transcriber.accept(chunk), end="")   # the characters heard in it
        print(transcriber.finish())
    """

    def __init__(self, preprocessor, model, recipe):
        check_streamable(recipe)
        self.log_mel = preprocessor.log_mel
        self.vocabulary = preprocessor.tokenizer.tokens()
        self.frontend = model.get_layer("frontend")
        self.dense = model.get_layer("characters")
        encoder = model.get_layer("encoder")
        self.cell, self.units = encoder.cell, encoder.units
        # The trained layers again, returning their final states too, to start the next chunk from.
        self.layers = recurrent.stepping_layers(encoder.cell, encoder.units, encoder.num_layers)
        width = self.frontend.compute_output_shape((1, None, recipe.features.mel_bins))[-1]
        for copy, trained in zip(self.layers, encoder.recurrent_layers):
            copy.build((1, None, width))
            copy.set_weights(trained.get_weights())
            width = encoder.units
        self.no_dropout = keras.layers.Dropout(0.0)  # run_layers puts one between layers
        self.reset()

    def reset(self) -> None:
        """Start a new stream."""
        self.pending = np.zeros(0, np.float32)  # samples from the next frame's first on
        self.samples = 0
        # Per convolution: its input steps from two before its next output's last input step on (zeros before
        # the stream, as a whole recording is padded).
        self.contexts, channels, bins = [], 1, self.log_mel.config.mel_bins
        for _ in self.frontend.convolutions:
            self.contexts.append(np.zeros((1, self.frontend.CONTEXT, bins, channels), np.float32))
            channels, bins = self.frontend.filters, -(-bins // 2)
        self.states = recurrent.zero_states(self.cell, len(self.layers), 1, self.units)
        self.last_class = PAD_ID
        self.text = ""

    def accept(self, samples: np.ndarray) -> str:
        """Feed the next samples (float32 [samples] at the model's rate); returns the text they completed."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        self.samples += len(samples)
        self.pending = np.concatenate([self.pending, samples])
        window, hop = self.log_mel.frame_length, self.log_mel.frame_step
        complete = (len(self.pending) - window) // hop + 1 if len(self.pending) >= window else 0
        if not complete:
            return ""
        mel = self.log_mel.spectrogram(tf.constant(self.pending[None, :(complete - 1) * hop + window]), pad_end=False)
        self.pending = self.pending[complete * hop:]
        return self._read(mel)

    def finish(self) -> str:
        """End the stream: the frames that run past its end (zeros there, as for a whole recording); returns the
        last text. `text` then holds the whole transcript."""
        piece = ""
        if len(self.pending):
            piece = self._read(self.log_mel.spectrogram(tf.constant(self.pending[None]), pad_end=True))
        self.pending = np.zeros(0, np.float32)
        return piece

    def _read(self, mel: tf.Tensor) -> str:
        """Log-mel frames [1, frames, bins] through the front-end, the recurrent layers and greedy decoding."""
        x = np.asarray(self.log_mel.normalise(mel, tf.fill([1], tf.shape(mel)[1])))[..., np.newaxis]
        for index, convolution in enumerate(self.frontend.convolutions):
            x = np.concatenate([self.contexts[index], x], axis=1)
            steps = (x.shape[1] - 3) // 2 + 1 if x.shape[1] >= 3 else 0  # outputs whose inputs have all come
            self.contexts[index] = x[:, 2 * steps:]
            if not steps:
                return ""
            x = np.asarray(convolution(self.frontend.pad(x[:, :2 * steps + 1], context=False)))
        if self.frontend.convolutions:
            x = x.reshape(1, x.shape[1], -1)
        else:
            x = x[..., 0]
        x, self.states = recurrent.run_layers(self.layers, self.cell, x, None, self.states, self.no_dropout,
                                                 training=False)
        piece = ""
        for class_id in np.argmax(np.asarray(self.dense(x))[0], axis=-1).tolist():
            if class_id != self.last_class and class_id >= len(RESERVED_TOKENS):
                piece += self.vocabulary[class_id]
            self.last_class = class_id
        self.text += piece
        return piece


def stream(transcriber: StreamingTranscriber, chunks: Iterable[np.ndarray], rate: int) -> Iterator[tuple[str, object]]:
    """Feed `chunks` (float32 samples at the model's `rate`) to a fresh stream.

    Yields:
        ("text", piece) for each piece of text as it is heard, then ("report", StreamReport) once.
    """
    transcriber.reset()
    latencies = []  # seconds of computing per chunk
    for chunk in chunks:
        started = time.perf_counter()
        piece = transcriber.accept(chunk)
        latencies.append(time.perf_counter() - started)
        if piece:
            yield "text", piece
    started = time.perf_counter()
    piece = transcriber.finish()
    compute = sum(latencies) + time.perf_counter() - started
    if piece:
        yield "text", piece
    # Spaces tidied as for a whole recording (`preprocess.tidy_spaces`): one between words, none at the ends.
    text = " ".join(word for word in transcriber.text.split(" ") if word)
    yield "report", StreamReport(text, transcriber.samples / rate, compute, len(latencies),
                                 1000 * float(np.mean(latencies)) if latencies else 0.0)
