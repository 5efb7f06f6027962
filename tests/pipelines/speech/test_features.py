"""Log-mel features and training augmentation, in graph."""

import numpy as np
import pytest
import tensorflow as tf

from rnnapps.pipelines.speech import features
from rnnapps.pipelines.speech import recipe as recipes


def _tone(hz: float, seconds: float = 0.5, rate: int = 8000) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


@pytest.mark.parametrize("normalization", ["utterance", "none"])
def test_a_recording_has_the_same_frames_alone_and_padded_in_a_batch(normalization):
    log_mel = features.LogMel(recipes.FeaturesConfig(sample_rate=8000, mel_bins=20, normalization=normalization))
    short, long = _tone(440, 0.33), _tone(880, 1.0)
    batch = np.zeros((2, len(long)), np.float32)
    batch[0, :len(short)], batch[1] = short, long
    frames, counts = log_mel(batch, [len(short), len(long)])
    alone, alone_counts = log_mel(short[None], [len(short)])
    assert counts.numpy().tolist() == [-(-len(short) // 80), -(-len(long) // 80)] and alone_counts[0] == counts[0]
    np.testing.assert_allclose(frames[0, :counts[0]], alone[0], atol=1e-4)
    assert not np.any(frames.numpy()[0, counts[0]:])  # padding frames are zero


def test_global_normalisation_uses_the_training_statistics():
    config = recipes.FeaturesConfig(sample_rate=8000, mel_bins=20, normalization="global")
    recordings = [_tone(hz, 0.4) + np.random.default_rng(hz).normal(0, 0.05, 3200).astype(np.float32)
                  for hz in (300, 500, 700)]
    statistics = features.LogMel(config).fit_statistics(recordings, batch=2)
    frames, counts = features.LogMel(config, statistics)(np.stack(recordings), [3200] * 3)
    values = frames.numpy().reshape(-1, 20)
    assert np.abs(values.mean(axis=0)).max() < 1e-3 and np.abs(values.std(axis=0) - 1).max() < 1e-2
    with pytest.raises(ValueError, match="training statistics"):
        features.LogMel(config)(np.stack(recordings), [3200] * 3)


def test_vocal_tract_length_perturbation_moves_the_spectrum():
    log_mel = features.LogMel(recipes.FeaturesConfig(sample_rate=8000, mel_bins=24))
    tone = _tone(2000)[None]
    peak = {warp: int(log_mel.spectrogram(tone, True, warp=tf.constant(warp)).numpy()[0].mean(0).argmax())
            for warp in (0.8, 1.0, 1.25)}
    assert peak[0.8] > peak[1.0] > peak[1.25]  # read at f x 1.25: the tone shows lower


def test_spec_augment_masks_bands_inside_each_recording_only():
    tf.random.set_seed(1)
    augmenter = features.Augmenter(recipes.AugmentConfig(time_masks=2, time_mask_frames=5, frequency_masks=1,
                                                         frequency_mask_bins=3), 8000)
    frames = tf.ones((4, 30, 12))
    masked = augmenter.features(frames, tf.constant([30, 20, 10, 5])).numpy()
    assert masked.min() == 0 and masked.max() == 1
    assert (masked[:, :, :] == 0).all(axis=2).sum(axis=1).max() <= 10  # at most two masks of five frames
    assert masked[3, 5:].min() == 1  # nothing masked past a recording's end


def test_speed_perturbation_and_noise_change_lengths_and_samples():
    tf.random.set_seed(3)
    augmenter = features.Augmenter(recipes.AugmentConfig(speed_factors=(1.25,), noise_snr_db=10), 8000)
    samples = np.stack([_tone(300, 1.0), _tone(300, 1.0)])
    changed, lengths = augmenter.audio(tf.constant(samples), tf.constant([8000, 4000]))
    assert lengths.numpy().tolist() == [6400, 3200]  # played 1.25x faster
    assert changed.shape[1] == 6400 and not np.allclose(changed.numpy()[0, :100], samples[0, :100])
