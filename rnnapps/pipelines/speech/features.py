"""Audio -> log-mel frames in graph (`tf.signal`), and the training-only augmentation (speed perturbation, added
noise, SpecAugment masks). The speech preprocessor calls these in `tf.data` and in the SavedModel alike."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from rnnapps.datasets import audio
from rnnapps.pipelines.speech import recipe as recipes

_LOG_FLOOR = 1e-6  # added to mel energies before the log: digital silence stays finite
_LOWEST_HZ = 20.0


class LogMel:
    """Log-mel spectrogram of a batch of padded recordings, normalised per mel bin.

    Args:
        config: the recipe's `[features]` section.
        statistics: for normalization "global": (mean, standard deviation) of each mel bin over the training
            recordings, float [mel_bins] each (`fit_statistics`).

    Example:
        frames, counts = LogMel(FeaturesConfig(sample_rate=8000))(samples, lengths)  # [2, 101, 80], [101, 60]
    """

    def __init__(self, config: recipes.FeaturesConfig, statistics: tuple[np.ndarray, np.ndarray] | None = None):
        self.config = config
        rate = config.sample_rate
        self.frame_length = int(round(rate * config.window_ms / 1000))
        self.frame_step = int(round(rate * config.hop_ms / 1000))
        self.fft_length = 2 ** math.ceil(math.log2(self.frame_length))
        self.mel_matrix = tf.signal.linear_to_mel_weight_matrix(
            config.mel_bins, self.fft_length // 2 + 1, rate, _LOWEST_HZ, rate / 2)
        self.statistics = None if statistics is None else tuple(np.asarray(s, np.float32) for s in statistics)

    def frame_counts(self, lengths: tf.Tensor) -> tf.Tensor:
        """Frames of recordings of `lengths` samples (int [batch]): ceil(length / hop), int32 [batch]."""
        lengths = tf.cast(lengths, tf.int32)
        return (lengths + self.frame_step - 1) // self.frame_step

    def __call__(self, samples: tf.Tensor, lengths: tf.Tensor, warp: tf.Tensor | None = None
                 ) -> tuple[tf.Tensor, tf.Tensor]:
        """Log-mel frames of padded recordings.

        Args:
            samples: float32 [batch, samples] at the recipe's rate, right-padded.
            lengths: int [batch], the real samples of each row.
            warp: a float32 scalar: read the spectrum at frequency f x warp (vocal tract length perturbation, in
                training only); None = as recorded.

        Returns:
            (features float32 [batch, frames, mel_bins], zero on padding frames; frame counts int32 [batch]).
        """
        samples = tf.convert_to_tensor(samples, tf.float32)
        # At least one frame, so that a batch of very short recordings still has a time axis.
        samples = tf.pad(samples, [[0, 0], [0, tf.maximum(self.frame_step - tf.shape(samples)[1], 0)]])
        counts = self.frame_counts(lengths)
        return self.normalise(self.spectrogram(samples, pad_end=True, warp=warp), counts), counts

    def spectrogram(self, samples: tf.Tensor, pad_end: bool, warp: tf.Tensor | None = None) -> tf.Tensor:
        """Unnormalised log-mel frames, float32 [batch, frames, mel_bins], of samples float32 [batch, samples]:
        frame i reads samples [i * hop, i * hop + window); `pad_end` adds the frames that run past the end (zeros
        there), as a whole recording has; without, only complete frames (a stream's). `warp`: as in `__call__`."""
        power = tf.square(tf.abs(tf.signal.stft(samples, self.frame_length, self.frame_step, self.fft_length,
                                                pad_end=pad_end)))
        if warp is not None:
            power = _warped(power, warp)
        return tf.math.log(tf.tensordot(power, self.mel_matrix, 1) + _LOG_FLOOR)

    def normalise(self, mel: tf.Tensor, counts: tf.Tensor) -> tf.Tensor:
        """Log-mel frames [batch, frames, mel_bins] of recordings of `counts` frames -> normalised as the recipe
        says, padding frames zero."""
        mask = tf.sequence_mask(counts, tf.shape(mel)[1], dtype=tf.float32)[..., tf.newaxis]
        if self.config.normalization == "utterance":
            frames = tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)
            mean = tf.reduce_sum(mel * mask, axis=1, keepdims=True) / frames
            variance = tf.reduce_sum(tf.square((mel - mean) * mask), axis=1, keepdims=True) / frames
            mel = (mel - mean) * tf.math.rsqrt(variance + 1e-5)
        elif self.config.normalization == "global":
            if self.statistics is None:
                raise ValueError("normalization 'global' needs the training statistics (LogMel(statistics=...))")
            mean, deviation = self.statistics
            mel = (mel - mean) / deviation
        return mel * mask

    def fit_statistics(self, recordings: list[np.ndarray], batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard deviation) of each mel bin over every frame of `recordings` (float32 [samples] each),
        float32 [mel_bins] each; the deviation at least 1e-3."""
        total = np.zeros(self.config.mel_bins, np.float64)
        squares = np.zeros(self.config.mel_bins, np.float64)
        frames = 0
        for start in range(0, len(recordings), batch):
            part = recordings[start:start + batch]
            lengths = np.array([len(r) for r in part])
            padded = keras.utils.pad_sequences(part, maxlen=max(int(lengths.max()), self.frame_step), dtype="float32",
                                               padding="post")
            mel = self.spectrogram(tf.constant(padded), pad_end=True).numpy().astype(np.float64)
            mask = np.arange(mel.shape[1])[None, :] < self.frame_counts(lengths).numpy()[:, None]
            total += mel[mask].sum(axis=0)
            squares += np.square(mel[mask]).sum(axis=0)
            frames += int(mask.sum())
        mean = total / max(frames, 1)
        deviation = np.sqrt(np.maximum(squares / max(frames, 1) - mean ** 2, 1e-6))
        return mean.astype(np.float32), deviation.astype(np.float32)


class Augmenter:
    """The recipe's `[augment]`: applied to training batches only.

    Args:
        config: the `[augment]` section.
        sample_rate: the recordings' rate.
    """

    def __init__(self, config: recipes.AugmentConfig, sample_rate: int):
        self.config = config
        self.sample_rate = sample_rate

    def warp(self) -> tf.Tensor | None:
        """A frequency warp for one batch, drawn from [1 - vtlp, 1 + vtlp] (None without `vtlp`)."""
        if not self.config.vtlp:
            return None
        return tf.random.uniform([], 1 - self.config.vtlp, 1 + self.config.vtlp)

    @property
    def changes_audio(self) -> bool:
        """Whether it changes the samples (speed or noise) rather than only the features."""
        return bool(self.config.speed_factors or self.config.noise_snr_db)

    def audio(self, samples: tf.Tensor, lengths: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Speed perturbation (one factor per batch) and added noise, float32 [batch, samples] and int [batch]
        -> the same, lengths changed by the speed."""
        config, rate = self.config, self.sample_rate
        if config.speed_factors:
            # Played at speed f: the samples read as if recorded at f x rate, resampled back to rate.
            def at_speed(factor):
                source = int(round(rate * factor))
                return lambda: (audio.resample(samples, source, rate),
                                audio.resampled_length(tf.cast(lengths, tf.int64), source, rate))

            choice = tf.random.uniform([], 0, len(config.speed_factors), dtype=tf.int32)
            samples, lengths = tf.switch_case(choice, [at_speed(factor) for factor in config.speed_factors])
            lengths = tf.cast(lengths, tf.int32)
        if config.noise_snr_db:
            mask = tf.sequence_mask(lengths, tf.shape(samples)[1], dtype=tf.float32)
            power = tf.reduce_sum(tf.square(samples) * mask, axis=1, keepdims=True) / tf.maximum(
                tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)
            snr_db = tf.random.uniform(tf.shape(power), config.noise_snr_db, config.noise_snr_db + 20)
            scale = tf.sqrt(power / 10 ** (snr_db / 10))
            samples = samples + tf.random.normal(tf.shape(samples)) * scale * mask
        return samples, lengths

    def features(self, features: tf.Tensor, counts: tf.Tensor) -> tf.Tensor:
        """SpecAugment (Park et al. 2019): time and frequency bands set to zero (the normalised mean), float32
        [batch, frames, bins] with frame counts int32 [batch] -> the same shape."""
        config = self.config
        shape = tf.shape(features)
        keep = tf.ones_like(features)
        for _ in range(config.time_masks):
            keep *= _band_mask(shape[0], shape[1], counts, config.time_mask_frames)[:, :, tf.newaxis]
        for _ in range(config.frequency_masks):
            bins = tf.fill([shape[0]], shape[2])
            keep *= _band_mask(shape[0], shape[2], bins, config.frequency_mask_bins)[:, tf.newaxis, :]
        return features * keep


def _warped(power: tf.Tensor, warp: tf.Tensor) -> tf.Tensor:
    """Power spectra [..., bins] read at bin k x warp (linear interpolation; zero past the last bin): the
    formants move as a longer or shorter vocal tract would move them (Jaitly and Hinton 2013)."""
    bins = tf.shape(power)[-1]
    positions = tf.cast(tf.range(bins), tf.float32) * warp
    low = tf.cast(tf.floor(positions), tf.int32)
    fraction = positions - tf.cast(low, tf.float32)
    last = bins - 1
    below = tf.gather(power, tf.minimum(low, last), axis=-1)
    above = tf.gather(power, tf.minimum(low + 1, last), axis=-1)
    inside = tf.cast(positions <= tf.cast(last, tf.float32), power.dtype)
    return (below * (1 - fraction) + above * fraction) * inside


def _band_mask(batch: tf.Tensor, size: tf.Tensor, extent: tf.Tensor, widest: int) -> tf.Tensor:
    """float32 [batch, size]: 0 on one random band of up to `widest` positions inside each row's first `extent`
    positions, 1 elsewhere."""
    width = tf.random.uniform([batch], 0, widest + 1, dtype=tf.int32)
    width = tf.minimum(width, tf.cast(extent, tf.int32))
    start = tf.cast(tf.random.uniform([batch]) * tf.cast(tf.cast(extent, tf.int32) - width + 1, tf.float32), tf.int32)
    positions = tf.range(size)[tf.newaxis]
    inside = (positions >= start[:, tf.newaxis]) & (positions < (start + width)[:, tf.newaxis])
    return 1.0 - tf.cast(inside, tf.float32)
