"""Audio in: files of any format libsndfile reads (WAV of any sample format, FLAC, OGG, MP3, ...) as mono float
samples, WAV bytes decoded in graph, and a band-limited resampler in graph, so that training data, `predict` and
the SavedModel all hear the same thing at the model's rate.
"""

from __future__ import annotations

import dataclasses
import io
import math
import pathlib
import re

import numpy as np
import tensorflow as tf

from rnnapps.errors import UserError

MAX_SECONDS = 600.0  # the longest audio one call transcribes (10 minutes): memory grows with the length
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".w64", ".caf")
CONVERT_HINT = "convert it to WAV first, e.g. 'ffmpeg -i INPUT -ac 1 OUTPUT.wav'"

# The resampler's windowed-sinc filter spans this many zero crossings on each side of an output sample; more is
# sharper (16 leaves aliasing under -60 dB in the passband's first 90%).
_ZERO_CROSSINGS = 16
_BLOCK = 16384  # output samples computed per step, so that a 10-minute file needs little memory


@dataclasses.dataclass(frozen=True)
class Audio:
    """Mono audio as read from a file.

    Attributes:
        samples: float32 [samples] in [-1, 1].
        rate: samples per second.
    """

    samples: np.ndarray
    rate: int


def read_audio(source: str | pathlib.Path | bytes, name: str = "", max_seconds: float = MAX_SECONDS) -> Audio:
    """Read an audio file (or its bytes) as mono float32 samples; channels are averaged.

    Args:
        source: a path, or the file's bytes.
        name: how errors name the audio (default: the path).
        max_seconds: longer audio is refused (0 = no limit).

    Returns:
        The `Audio` at the file's own rate.

    Raises:
        UserError: a missing or empty file, bytes that are not audio libsndfile reads, no samples, or audio
            longer than `max_seconds`; the message names the file and says what to do.
    """
    import soundfile  # a light import, but only audio tasks need it

    name = name or str(source)
    if not isinstance(source, bytes):
        path = pathlib.Path(source)
        if not path.is_file():
            raise UserError(f"{name}: no such audio file")
        source = path.read_bytes()
    if not source:
        raise UserError(f"{name}: the file is empty (0 bytes); expected audio such as a WAV file")
    try:
        samples, rate = soundfile.read(io.BytesIO(source), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        what = "a truncated or damaged WAV file" if source[:4] == b"RIFF" else "not audio that libsndfile can read"
        reason = re.sub(r"^Error opening .*?>: ", "", str(error).strip()) or type(error).__name__
        raise UserError(f"{name}: {what} ({reason.rstrip('.')}); {CONVERT_HINT}") from None
    if not len(samples):
        raise UserError(f"{name}: the audio has no samples (0 seconds)")
    seconds = len(samples) / rate
    if max_seconds and seconds > max_seconds:
        raise UserError(f"{name}: {seconds / 60:.1f} minutes of audio; at most {max_seconds / 60:g} minutes are "
                        "transcribed at once: cut it into shorter files (e.g. 'ffmpeg -i IN -f segment "
                        "-segment_time 300 OUT%03d.wav') or stream it with --stream")
    return Audio(np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32), int(rate))


def read_at_rate(source: str | pathlib.Path | bytes, rate: int, name: str = "",
                 max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """`read_audio`, resampled to `rate`: mono float32 [samples]. Raises as `read_audio`."""
    found = read_audio(source, name, max_seconds)
    return np.asarray(resample(found.samples, found.rate, rate))


def audio_files(folder: pathlib.Path) -> list[pathlib.Path]:
    """The audio files (by `AUDIO_SUFFIXES`) anywhere under `folder`, sorted."""
    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file())


def encode_wav(samples: np.ndarray, rate: int) -> bytes:
    """Mono float samples [samples] in [-1, 1] -> the bytes of a 16-bit PCM WAV file."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(np.asarray(samples, np.float32), -1, 1), int(rate), subtype="PCM_16",
                    format="WAV")
    return buffer.getvalue()


def decode_wav(data: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One WAV file's bytes -> (mono float32 samples [samples], sample rate int32 scalar), in graph.

    16-bit PCM only (TensorFlow's WAV decoder); other sample formats raise InvalidArgumentError, whose message
    says what the file holds.
    """
    decoded = tf.audio.decode_wav(data)
    return tf.reduce_mean(decoded.audio, axis=-1), decoded.sample_rate


def resampled_length(length, from_rate, to_rate):
    """Samples at `to_rate` of `length` samples at `from_rate`: ceil(length * to_rate / from_rate). Works on
    Python ints and on int tensors alike."""
    if isinstance(length, int) and isinstance(from_rate, int) and isinstance(to_rate, int):
        return -(-length * to_rate // from_rate)
    length, from_rate, to_rate = (tf.cast(value, tf.int64) for value in (length, from_rate, to_rate))
    return tf.cast((length * to_rate + from_rate - 1) // from_rate, tf.int32)


def resample(samples: tf.Tensor, from_rate, to_rate) -> tf.Tensor:
    """Band-limited resampling (windowed sinc), in graph, of one signal or a batch of them.

    Every output sample is the sum of the input samples around its position weighted by a Hann-windowed sinc
    whose cutoff is the lower of the two Nyquist frequencies, so downsampling does not alias. Positions are
    computed in integers, so a 10-minute file at 44.1 kHz lands exactly; the work goes in blocks of outputs.

    Args:
        samples: float32 [samples] or [batch, samples].
        from_rate: the input's rate (int or int32 scalar tensor).
        to_rate: the output's rate (int or int32 scalar tensor).

    Returns:
        float32 [resampled_length(samples)] or [batch, resampled_length(samples)]; `samples` itself when the
        rates are equal.
    """
    if isinstance(from_rate, int) and isinstance(to_rate, int):
        if from_rate == to_rate:
            return tf.convert_to_tensor(samples, tf.float32)
        common = math.gcd(from_rate, to_rate)
        from_rate, to_rate = from_rate // common, to_rate // common
    samples = tf.convert_to_tensor(samples, tf.float32)
    single = samples.shape.rank == 1
    batch = samples[tf.newaxis] if single else samples
    from_rate, to_rate = tf.cast(from_rate, tf.int64), tf.cast(to_rate, tf.int64)
    output = tf.cond(tf.equal(from_rate, to_rate), lambda: batch, lambda: _resample_batch(batch, from_rate, to_rate))
    return output[0] if single else output


def _resample_batch(batch: tf.Tensor, from_rate: tf.Tensor, to_rate: tf.Tensor) -> tf.Tensor:
    """`resample` of float32 [batch, samples] with int64 rates that differ."""
    length = tf.shape(batch, out_type=tf.int64)[1]
    out_length = (length * to_rate + from_rate - 1) // from_rate
    cutoff = tf.minimum(1.0, tf.cast(to_rate, tf.float32) / tf.cast(from_rate, tf.float32))
    half = tf.cast(tf.math.ceil(_ZERO_CROSSINGS / cutoff), tf.int64)  # input samples on each side
    offsets = tf.range(-half + 1, half + 1)  # [taps]
    padded = tf.pad(batch, [[0, 0], [half, half + 1]])
    blocks = (out_length + _BLOCK - 1) // _BLOCK

    def block(index):
        positions = index * _BLOCK + tf.range(_BLOCK, dtype=tf.int64)  # output sample numbers
        center = positions * from_rate // to_rate  # the input sample at or before each output's position
        fraction = tf.cast(positions * from_rate % to_rate, tf.float32) / tf.cast(to_rate, tf.float32)
        distance = tf.cast(offsets, tf.float32)[tf.newaxis] - fraction[:, tf.newaxis]  # [block, taps]
        window = 0.5 + 0.5 * tf.cos(math.pi * distance / tf.cast(half, tf.float32))
        weights = cutoff * _sinc(cutoff * distance) * window
        taps = tf.clip_by_value(center[:, tf.newaxis] + offsets[tf.newaxis] + half, 0,
                                tf.shape(padded, out_type=tf.int64)[1] - 1)
        return tf.einsum("bkt,kt->bk", tf.gather(padded, taps, axis=1), weights)  # [batch, block]

    outputs = tf.map_fn(block, tf.range(blocks), fn_output_signature=tf.TensorSpec([None, _BLOCK], tf.float32))
    outputs = tf.reshape(tf.transpose(outputs, [1, 0, 2]), [tf.shape(batch)[0], -1])
    return outputs[:, :out_length]


def _sinc(x: tf.Tensor) -> tf.Tensor:
    """sin(pi x) / (pi x), 1 at 0."""
    safe = tf.where(tf.equal(x, 0), tf.ones_like(x), x)
    return tf.where(tf.equal(x, 0), tf.ones_like(x), tf.sin(math.pi * safe) / (math.pi * safe))
