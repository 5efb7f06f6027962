"""The trainer says when building batches takes a large share of each train step on a CPU."""

import logging
import time

import keras
import numpy as np
import tensorflow as tf

from rnnapps import input_watch, training
from rnnapps.config import TrainingConfig

SLEEP = 0.05


def _batches(count, sleep=0.0):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(count * 16, 8)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("int32")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    if not sleep:
        return dataset

    def slow(features, labels):
        time.sleep(sleep)  # an expensive per-batch preprocessing step
        return features, labels

    def slowed(features, labels):
        features, labels = tf.numpy_function(slow, [features, labels], (tf.float32, tf.int32), stateful=True)
        return tf.ensure_shape(features, [None, 8]), tf.ensure_shape(labels, [None])

    return dataset.map(slowed)


def _build():
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(2, activation="softmax")])


def test_seconds_per_batch_times_the_pipeline_alone():
    assert input_watch.seconds_per_batch(_batches(12, SLEEP)) >= SLEEP
    assert input_watch.seconds_per_batch(_batches(input_watch.PROBE_BATCHES + input_watch.SKIPPED_BATCHES - 1)) is None


def test_slow_input_pipeline_is_reported_after_the_first_epoch(tmp_path, caplog):
    config = TrainingConfig(epochs=2, learning_rate=0.01, early_stopping_patience=0)
    with caplog.at_level(logging.INFO, logger="rnnapps"):
        training.train(_build, _batches(12, SLEEP), _batches(12, SLEEP), config, tmp_path,
                       loss="sparse_categorical_crossentropy", verbose=0)
    reports = [record for record in caplog.records if record.name == "rnnapps.input_watch"]
    assert len(reports) == 1 and reports[0].levelno == logging.WARNING  # once, after the first epoch
    assert "ms per batch on its own" in reports[0].getMessage()


def test_an_input_pipeline_that_costs_nothing_is_only_a_debug_line(caplog):
    watch = input_watch.InputPipelineWatch(input_seconds=0.0)
    with caplog.at_level(logging.DEBUG, logger="rnnapps"):
        watch.on_epoch_begin(0)
        watch.on_train_batch_begin(0)
        watch.on_train_batch_end(0)
        watch.on_epoch_end(0)
    assert watch.share == 0.0
    assert [record.levelno for record in caplog.records] == [logging.DEBUG]


def test_the_probe_leaves_the_training_batches_as_they_were(tmp_path, monkeypatch):
    def shuffled(seed):
        return _batches(16).unbatch().shuffle(256, seed=seed, reshuffle_each_iteration=True).batch(16)

    def trained_weights(run_dir):
        config = TrainingConfig(epochs=2, learning_rate=0.01, early_stopping_patience=0)
        result = training.train(_build, shuffled(1), shuffled(2), config, run_dir,
                                loss="sparse_categorical_crossentropy", verbose=0)
        return result.model.get_weights()

    probed = trained_weights(tmp_path / "probed")
    monkeypatch.setattr(training, "_input_pipeline_watch", lambda *args: None)
    unprobed = trained_weights(tmp_path / "unprobed")
    for with_probe, without in zip(probed, unprobed, strict=True):
        np.testing.assert_array_equal(with_probe, without)
