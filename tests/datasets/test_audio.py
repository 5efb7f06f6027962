"""Audio reading, WAV decoding in graph and the band-limited resampler."""

import io

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from rnnapps.datasets import audio
from rnnapps.errors import UserError


def _tone(rate: int, seconds: float = 0.5, hz: float = 440.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


def _file_bytes(samples: np.ndarray, rate: int, subtype: str, format: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, subtype=subtype, format=format)
    return buffer.getvalue()


@pytest.mark.parametrize(("from_rate", "to_rate"), [(44100, 16000), (22050, 16000), (8000, 16000), (16000, 8000)])
def test_resample_keeps_a_tone(from_rate, to_rate):
    resampled = audio.resample(_tone(from_rate), from_rate, to_rate).numpy()
    assert len(resampled) == audio.resampled_length(len(_tone(from_rate)), from_rate, to_rate)
    expected = _tone(to_rate)[:len(resampled)]
    assert np.abs(resampled - expected)[200:-200].max() < 1e-3  # the edges see zeros beyond the signal


def test_resample_removes_what_the_lower_rate_cannot_hold():
    # A 7 kHz tone at 16 kHz has no place at 8 kHz (Nyquist 4 kHz): it must vanish, not fold to 1 kHz.
    folded = audio.resample(_tone(16000, hz=7000), 16000, 8000).numpy()
    assert np.abs(folded[200:-200]).max() < 1e-2


def test_resample_with_rates_as_tensors_matches_python_rates():
    tone = _tone(22050)
    assert np.allclose(audio.resample(tf.constant(tone), tf.constant(22050), tf.constant(16000)).numpy(),
                       audio.resample(tone, 22050, 16000).numpy(), atol=1e-6)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_read_audio_reads_every_wav_sample_format_and_downmixes(subtype):
    tone = _tone(16000)
    read = audio.read_audio(_file_bytes(np.stack([tone, tone], axis=1), 16000, subtype), "tone.wav")
    assert read.rate == 16000
    assert np.abs(read.samples - tone).max() < 1e-3


def test_read_audio_reads_flac():
    read = audio.read_audio(_file_bytes(_tone(8000), 8000, "PCM_16", "FLAC"), "tone.flac")
    assert read.rate == 8000 and np.abs(read.samples - _tone(8000)).max() < 1e-3


@pytest.mark.parametrize(("data", "message"), [
    (b"", "is empty"), (b"hello, this is text and not audio", "not audio"), (None, "truncated"),
])
def test_read_audio_refuses_bad_bytes_in_one_line(data, message):
    if data is None:
        data = _file_bytes(_tone(8000), 8000, "PCM_16")[:30]
    with pytest.raises(UserError, match=message) as raised:
        audio.read_audio(data, "bad.wav")
    assert "\n" not in str(raised.value) and "bad.wav" in str(raised.value)


def test_read_audio_refuses_a_missing_file_and_too_long_audio(tmp_path):
    with pytest.raises(UserError, match="no such audio file"):
        audio.read_audio(tmp_path / "missing.wav")
    with pytest.raises(UserError, match="at most 0.01 minutes"):
        audio.read_audio(_file_bytes(_tone(8000, seconds=1.0), 8000, "PCM_16"), "long.wav", max_seconds=0.6)


def test_decode_wav_in_graph_matches_read_audio():
    tone = _tone(8000)
    data = _file_bytes(np.stack([tone, tone], axis=1), 8000, "PCM_16")
    samples, rate = audio.decode_wav(tf.constant(data))
    assert int(rate) == 8000
    assert np.allclose(samples.numpy(), audio.read_audio(data).samples, atol=1e-4)
    assert np.abs(audio.read_audio(audio.encode_wav(tone, 8000)).samples - tone).max() < 1e-3
