"""The shared trainer: resume with optimizer state, kill -9 safety, early stopping, NaN stop, mirrored."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps import training
from rnnapps.sections import TrainingConfig

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _toy_data(count=256, seed=0):
    """Learnable toy task: is the sum of 8 inputs positive?"""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, 8)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(32)


def _build():
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(2, activation="softmax")])


def _train(run_dir, **overrides):
    config = TrainingConfig(**{"epochs": 2, "learning_rate": 0.01, "early_stopping_patience": 0, **overrides})
    return training.train(_build, _toy_data(), _toy_data(seed=1), config, run_dir, verbose=0, steps_per_epoch=8,
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def test_learns_and_writes_history(tmp_path):
    result = _train(tmp_path, epochs=5)
    assert result.epochs_completed == 5 and result.resumed_from_epoch == 0
    assert result.history["val_accuracy"][-1] > 0.85
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert len(lines) == 6 and lines[0].startswith("epoch,")
    columns = lines[0].split(",")
    for line in lines[1:]:
        cells = line.split(",")
        epoch_seconds, validation_seconds = (float(cells[columns.index(name)])
                                             for name in ("epoch_seconds", "validation_seconds"))
        assert 0 < validation_seconds < epoch_seconds
    state = json.loads((tmp_path / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 5 and state["last_weights"] == "epoch-0005.weights.h5"
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "best.weights.h5", "epoch-0005.weights.h5", "state.json"]


def test_resume_continues_after_last_epoch_with_optimizer_state(tmp_path):
    first = _train(tmp_path, epochs=1)
    assert int(first.model.optimizer.iterations.numpy()) == 8  # 256 examples / 32
    second = _train(tmp_path, epochs=3)
    assert second.resumed_from_epoch == 1 and second.epochs_completed == 3
    # Adam's step counter carried over: 3 epochs x 8 steps, not 2 x 8.
    assert int(second.model.optimizer.iterations.numpy()) == 24
    assert len(second.history["loss"]) == 3
    # A finished run is not trained again.
    third = _train(tmp_path, epochs=3)
    assert third.resumed_from_epoch == 3 and len(third.history["loss"]) == 3


def test_early_stopping_survives_resume(tmp_path):
    result = _train(tmp_path, epochs=30, learning_rate=0.0, early_stopping_patience=2)
    assert result.stop_reason == "early_stopping" and result.epochs_completed == 3
    assert result.best_epoch == 1
    again = _train(tmp_path, epochs=30, learning_rate=0.0, early_stopping_patience=2)
    assert again.epochs_completed == 3 and again.stop_reason == "early_stopping"


def _nan_loss(y_true, y_pred):
    """A loss that is NaN whatever the model computes: NaN inputs alone are not enough, since some CPU
    kernels (ReLU among them) turn NaN into 0 and the loss stays finite."""
    return keras.ops.mean(y_pred, axis=-1) + float("nan")


def test_nan_loss_stops_training(tmp_path):
    x = np.ones((64, 8), dtype="float32")
    data = tf.data.Dataset.from_tensor_slices((x, np.zeros(64, "int32"))).batch(32)
    config = TrainingConfig(epochs=5, early_stopping_patience=0)
    result = training.train(_build, data, data, config, tmp_path, verbose=0, loss=_nan_loss)
    assert result.stop_reason == "nan" and result.epochs_completed <= 1


def test_unknown_monitor_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="training.monitor = 'val_f1' is not a logged metric"):
        _train(tmp_path, monitor="val_f1")


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    script = textwrap.dedent(f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import sys; sys.path.insert(0, {str(ROOT / 'tests')!r})
        import keras
        from rnnapps import training
        from rnnapps.sections import TrainingConfig
        from test_training import _toy_data
        replicas = []
        def build():
            replicas.append(tf.distribute.get_strategy().num_replicas_in_sync)
            return keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
        config = TrainingConfig(epochs=3, learning_rate=0.05, distribute="mirrored", early_stopping_patience=0)
        result = training.train(build, _toy_data(), _toy_data(seed=1), config, {str(tmp_path)!r}, verbose=0,
                                loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        print("REPLICAS", replicas[0], "ACCURACY", result.history["val_accuracy"][-1])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.returncode == 0, out.stderr[-3000:]
    line = [text for text in out.stdout.splitlines() if text.startswith("REPLICAS")][0].split()
    assert line[1] == "2" and float(line[3]) > 0.8


@pytest.mark.slow
def test_kill_9_during_second_epoch_then_resume(tmp_path):
    """SIGKILL right after epoch 1 is checkpointed; the same command resumes from epoch 1."""
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "rnnapps.cli", "sentiment", "train", "--recipe",
               str(ROOT / "tasks" / "sentiment-demo.toml"), "--out", str(run_dir), "--set", "training.epochs=3"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    state_path = run_dir / "checkpoints" / "state.json"
    try:
        for _ in range(1200):
            if state_path.is_file() and json.loads(state_path.read_text())["epoch"] >= 1:
                break
            if process.poll() is not None:
                pytest.fail("training ended before it could be interrupted")
            subprocess.run(["sleep", "0.1"])
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    state = json.loads(state_path.read_text())
    assert state["epoch"] in (1, 2)
    assert not (run_dir / "bundle").exists(), "no bundle may exist before training finished"
    assert not [p for p in run_dir.rglob("*") if ".tmp" in p.name and p.suffix != ".h5"]
    finished = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert f"resuming {run_dir} after epoch {state['epoch']}" in finished.stderr
    final = json.loads(state_path.read_text())
    assert final["epoch"] == 3 and len(final["history"]["loss"]) == 3
    assert (run_dir / "bundle" / "metadata.json").is_file()


def test_mixed_precision_trains_and_restores_the_global_policy(tmp_path):
    before = keras.config.dtype_policy().name
    result = _train(tmp_path, epochs=2, precision="mixed_bfloat16")
    assert result.model.layers[0].compute_dtype == "bfloat16"
    assert result.model.layers[0].variable_dtype == "float32"
    assert keras.config.dtype_policy().name == before


def test_tensorboard_logs_are_written(tmp_path):
    _train(tmp_path, epochs=1, tensorboard=True)
    assert list((tmp_path / "logs").rglob("events.out.tfevents.*"))


def test_cosine_schedule_decays_to_zero_over_all_steps(tmp_path):
    result = _train(tmp_path, epochs=2, lr_schedule="cosine")
    assert float(result.model.optimizer.iterations.numpy()) == 16
    assert abs(float(keras.ops.convert_to_numpy(result.model.optimizer._get_current_learning_rate()))) < 1e-6


def test_cosine_schedule_needs_steps_per_epoch(tmp_path):
    config = TrainingConfig(epochs=1, lr_schedule="cosine")
    with pytest.raises(ValueError, match="needs the number of batches per epoch"):
        training.make_optimizer(config)


def test_weight_decay_shrinks_weights_that_get_no_gradient():
    # A variable the loss does not depend on keeps its value under Adam and decays under AdamW.
    for decay, expected in ((0.0, 1.0), (0.1, (1 - 0.01 * 0.1) ** 3)):
        optimizer = training.make_optimizer(TrainingConfig(learning_rate=0.01, weight_decay=decay, clip_norm=0))
        variable = keras.Variable(np.ones(3, "float32"))
        for _ in range(3):
            optimizer.apply_gradients([(keras.ops.zeros(3), variable)])
        np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), expected, rtol=1e-5)
