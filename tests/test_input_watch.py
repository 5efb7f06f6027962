"""The trainer says when building batches takes a large share of each train step on a CPU."""

import logging
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps import input_watch, training
from rnnapps.sections import TrainingConfig

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


def test_slow_input_pipeline_is_reported_after_the_first_epoch(tmp_path, caplog, monkeypatch):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("the trainer only probes the input pipeline on a CPU")
    # The trainer probes the validation data and installs the watch, which reports once, after the first epoch.
    # The probe's answer is fixed far above any train step's time, so what is tested does not depend on how
    # fast this machine is or how busy (a real 50 ms pipeline can be under a quarter of a step on a loaded host);
    # that the probe times a real pipeline is test_seconds_per_batch_times_the_pipeline_alone's.
    probed = []
    monkeypatch.setattr(input_watch, "seconds_per_batch", lambda dataset: probed.append(dataset) or 1000.0)
    config = TrainingConfig(epochs=2, learning_rate=0.01, early_stopping_patience=0)
    validation = _batches(12)
    with caplog.at_level(logging.INFO, logger="rnnapps"):
        training.train(_build, _batches(12), validation, config, tmp_path, loss="sparse_categorical_crossentropy",
                       verbose=0)
    assert len(probed) == 1
    reports = [record for record in caplog.records if record.name == "rnnapps.input_watch"]
    assert len(reports) == 1 and reports[0].levelno == logging.WARNING  # once, after the first epoch
    assert "1000000 ms per batch on its own" in reports[0].getMessage()


def test_an_input_pipeline_that_costs_nothing_is_only_a_debug_line(caplog):
    watch = input_watch.InputPipelineWatch(input_seconds=0.0)
    with caplog.at_level(logging.DEBUG, logger="rnnapps"):
        watch.on_epoch_begin(0)
        watch.on_train_batch_begin(0)
        watch.on_train_batch_end(0)
        watch.on_epoch_end(0)
    assert watch.share == 0.0
    assert [record.levelno for record in caplog.records] == [logging.DEBUG]


class RecordingModel(keras.Model):
    """A small classifier whose train steps write down the batches they receive: each batch as the bytes of
    its feature rows, in the order the steps get them."""

    def __init__(self, seen):
        super().__init__()
        self.note = seen.append  # not the list itself: Keras would track a copy of it
        self.hidden = keras.layers.Dense(4)
        self.out = keras.layers.Dense(2, activation="softmax")

    def call(self, inputs):
        return self.out(self.hidden(inputs))

    def train_step(self, data):
        features, _ = data

        def record(batch):
            self.note([row.tobytes() for row in batch.numpy()])
            return 0

        tf.py_function(record, [features], tf.int32)
        return super().train_step(data)


def test_the_probe_leaves_the_training_batches_as_they_were(tmp_path, monkeypatch):
    """What the probe could change is the data training sees, not the arithmetic: the train steps get the
    same batches, in the same order, with the probe as without it. (Trained weights are not compared: two
    trainings need not be bit-identical.)"""
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("the trainer only probes the input pipeline on a CPU")
    examples = _batches(16).unbatch().as_numpy_iterator()
    example = {features.tobytes(): number for number, (features, _) in enumerate(examples)}  # row bytes -> number

    def shuffled(seed):
        return _batches(16).unbatch().shuffle(256, seed=seed, reshuffle_each_iteration=True).batch(16)

    def batches_seen(run_dir):
        seen = []
        # The datasets' shuffle order depends on the global seed when they are built (train() sets it):
        # set it first, as the pipelines do, so that both runs start from the same order whatever ran before.
        training.set_seed(0)
        config = TrainingConfig(epochs=2, learning_rate=0.01, early_stopping_patience=0)
        training.train(lambda: RecordingModel(seen), shuffled(1), shuffled(2), config, run_dir,
                       loss="sparse_categorical_crossentropy", verbose=0)
        return [[example[row] for row in batch] for batch in seen]  # example numbers, batch by batch

    probes = []
    timed = input_watch.seconds_per_batch

    def probe(*args, **kwargs):
        probes.append(args)
        return timed(*args, **kwargs)

    monkeypatch.setattr(input_watch, "seconds_per_batch", probe)
    probed = batches_seen(tmp_path / "probed")
    assert probes, "the trainer did not probe the input pipeline, so this test compares nothing"
    monkeypatch.setattr(training, "_input_pipeline_watch", lambda *args: None)
    unprobed = batches_seen(tmp_path / "unprobed")

    assert len(unprobed) == 2 * 16  # every train step of both epochs
    assert sorted(sum(unprobed[:16], [])) == list(range(256))  # an epoch sees every example once
    # The training data reshuffles every pass, so a pass the probe took from it would move training's order.
    assert unprobed[:16] != unprobed[16:]
    assert probed == unprobed
