"""The one trainer for every task: compile, fit, resume-safe checkpoints, early stopping, NaN stop,
time budget, CSV history, TensorBoard, gradient clipping, seeds, mixed precision and tf.distribute.

A run directory holds `checkpoints/` (the weights and optimizer state of the last finished epoch and of
the best epoch, plus `state.json`) and `history.csv`. Running the same training again with the same
run directory resumes after the last finished epoch; a finished epoch is never lost, because every
file is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import pathlib
import sys
import warnings
from collections.abc import Callable
from typing import Any

import keras

from rnnapps import checkpoint, distributed, input_watch, watchdog
from rnnapps.errors import UserError
from rnnapps.sections import TrainingConfig

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
# Names other modules (benchmarks, tests) know the trainer's files and history columns by.
STATE_FILE, BEST_WEIGHTS, HISTORY_FILE = checkpoint.STATE_FILE, checkpoint.BEST_WEIGHTS, checkpoint.HISTORY_FILE
EPOCH_SECONDS, VALIDATION_SECONDS = checkpoint.EPOCH_SECONDS, checkpoint.VALIDATION_SECONDS


@dataclasses.dataclass
class TrainingResult:
    """What a call to `train` did.

    Attributes:
        model: the trained model, holding the weights of the best epoch.
        history: metric name -> one value per finished epoch (earlier runs included on resume).
        epochs_completed: finished epochs in total.
        resumed_from_epoch: epochs already finished when this call started (0 = fresh start).
        best_epoch: 1-based epoch whose weights the model holds.
        stop_reason: "epochs", "early_stopping", "time_limit" or "nan".
        train_seconds: training time over all runs of this directory.
        backend: the Keras backend that trained the last epoch ("tensorflow", "jax").
        monitor: the metric that chose the best epoch (and early stopping).
    """

    model: keras.Model
    history: dict[str, list[float]]
    epochs_completed: int
    resumed_from_epoch: int
    best_epoch: int
    stop_reason: str
    train_seconds: float
    backend: str
    monitor: str = "val_loss"


def set_seed(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras.

    Call it before creating tokenizers: `tf.random.set_seed` clears TensorFlow's eager kernel cache, which
    destroys the SentencePiece resource of a `SubwordTokenizer` created earlier (its next use fails with
    "Resource ... SentencepieceOp ... does not exist").
    """
    keras.utils.set_random_seed(seed)


def strategy_scope(config: TrainingConfig):
    """The context to build and compile a model in: a tf.distribute strategy scope or a no-op.

    "auto" mirrors over GPUs when there are several; "mirrored" mirrors over every local GPU, or every
    logical CPU device when there is no GPU (for testing); "none" uses the default device.
    """
    if config.distribute in ("none", "multi_process") or keras.backend.backend() != "tensorflow":
        # multi_process: Keras' distribution API, set for the whole process (rnnapps.distributed)
        if config.distribute == "mirrored":
            raise UserError("training.distribute = 'mirrored' needs the TensorFlow backend (KERAS_BACKEND=tensorflow)")
        return contextlib.nullcontext()
    import tensorflow as tf  # tf.distribute only exists on the TensorFlow backend

    gpus = tf.config.list_logical_devices("GPU")
    if config.distribute == "auto":
        if len(gpus) < 2:
            return contextlib.nullcontext()
        return tf.distribute.MirroredStrategy().scope()
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    log.info("mirrored training over %s", devices)
    return tf.distribute.MirroredStrategy(devices).scope()


def make_optimizer(config: TrainingConfig, steps_per_epoch: int | None = None) -> keras.optimizers.Optimizer:
    """Adam (AdamW with `weight_decay`) with the recipe's learning rate (constant or cosine-decayed) and
    gradient clipping.

    Args:
        config: the recipe's training section.
        steps_per_epoch: batches per epoch, needed by the cosine schedule.
    """
    learning_rate = config.learning_rate
    if config.lr_schedule == "cosine":
        steps = config.steps_per_epoch or steps_per_epoch
        if not steps:
            raise UserError("training.lr_schedule = 'cosine' needs the number of batches per epoch; "
                            "set training.steps_per_epoch")
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps * config.epochs)
    clipping = {}
    if config.clip_norm > 0:
        clipping["clipnorm"] = config.clip_norm
    if config.clip_value > 0:
        clipping["clipvalue"] = config.clip_value
    if config.weight_decay > 0:
        return keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=config.weight_decay, **clipping)
    return keras.optimizers.Adam(learning_rate=learning_rate, **clipping)


def train(
    build_model: Callable[[], keras.Model],
    train_data,
    validation_data,
    config: TrainingConfig,
    run_dir: str | pathlib.Path,
    *,
    loss: Any,
    metrics: list[Any] | None = None,
    seed: int | None = 0,
    verbose: int | None = None,
    steps_per_epoch: int | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    process_group: distributed.ProcessGroup | None = None,
) -> TrainingResult:
    """Build, compile and fit a model, resuming from `run_dir` if an earlier run stopped part way.

    Args:
        build_model: returns an uncompiled Keras model; called inside the distribution scope after
            the dtype policy and seeds are set.
        train_data: a tf.data.Dataset (or any Keras-fittable input) of (inputs, targets) batches.
        validation_data: the same for validation.
        config: the recipe's training section.
        run_dir: where checkpoints/, history.csv and logs/ go.
        loss: a Keras loss.
        metrics: Keras metrics to log.
        seed: seed for weights, dropout and shuffling; None keeps the seeds already set (pipelines
            call `set_seed` before they build tokenizers, see there).
        verbose: Keras verbosity; default is a progress bar on a terminal, one line per epoch otherwise.
        steps_per_epoch: batches in one pass over train_data (for learning-rate schedules; bucketed
            datasets cannot tell their own length).
        callbacks: extra Keras callbacks of the task (e.g. resetting a stateful model every epoch).
        process_group: this process's place among the processes of a multi-process run (on JAX), resolved once
            where the training starts (`rnnapps.backends.train`); None trains in this process alone.

    Returns:
        A `TrainingResult` whose model holds the best epoch's weights.
    """
    run_dir = pathlib.Path(run_dir)
    checkpoint_dir = run_dir / CHECKPOINT_DIR
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    if seed is not None:
        set_seed(seed)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.precision)
    try:
        return _train(build_model, train_data, validation_data, config, run_dir, checkpoint_dir, loss, metrics,
                      verbose, steps_per_epoch, callbacks or [], process_group)
    finally:
        # The policy is global: restore it so models built after training are unaffected.
        keras.config.set_dtype_policy(previous_policy)


def _train(build_model, train_data, validation_data, config, run_dir, checkpoint_dir, loss, metrics,
           verbose, steps_per_epoch, task_callbacks, group) -> TrainingResult:
    if group is not None:
        group.join(config.step_timeout_s)  # done already when a pipeline prepared the run (metrics made after it)
        train_data = group.local_batches(train_data, config.batch_size)
        validation_data = None if validation_data is None else group.local_batches(validation_data, config.batch_size)
    train_data, validation_data = fed_by_keras(train_data), fed_by_keras(validation_data)
    state = checkpoint.read_state(checkpoint_dir)
    resumed_from = state["epoch"]
    with strategy_scope(config):
        model = build_model()
        model.compile(optimizer=make_optimizer(config, steps_per_epoch), loss=loss, metrics=metrics or [])
        if resumed_from:
            _restore(model, checkpoint_dir / state["last_weights"], train_data)
            log.info("resuming %s after epoch %d", run_dir, resumed_from)
    if state["stop_reason"] in ("early_stopping", "nan", "time_limit") or resumed_from >= config.epochs:
        log.info("training in %s already finished (%s)", run_dir, state["stop_reason"] or "epochs")
    else:
        # Kept in state.json with the next epoch: a later call that finds the training finished (the bundle
        # step of `train --backend jax`, rnnapps.backends) still reports who trained.
        state["backend"] = keras.backend.backend()
        callbacks: list[keras.callbacks.Callback] = [
            keras.callbacks.TerminateOnNaN(),
            *task_callbacks,
            checkpoint.ResumableCheckpoint(checkpoint_dir, config, state, run_dir, group),
        ]
        if group is not None:
            callbacks.append(watchdog.StepWatchdog(config.step_timeout_s, group.process_id))
        if config.tensorboard and (group is None or group.is_chief):
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs")))
        if (watch := _input_pipeline_watch(validation_data, config)) is not None:
            callbacks.append(watch)
        fit_data = train_data.repeat() if config.steps_per_epoch else train_data
        with warnings.catch_warnings():
            # Bucketed datasets have unknown length, so Keras warns at every epoch end that they ran out.
            warnings.filterwarnings("ignore", message=".*ran out of data")
            model.fit(
                fit_data,
                validation_data=validation_data,
                epochs=config.epochs,
                initial_epoch=resumed_from,
                steps_per_epoch=config.steps_per_epoch or None,
                callbacks=callbacks,
                shuffle=False,  # datasets shuffle themselves, reproducibly
                verbose=verbose if verbose is not None else _default_verbosity(),
            )
        if state["epoch"] < config.epochs and state["stop_reason"] is None:
            state["stop_reason"] = "nan"  # TerminateOnNaN stopped the epoch before it finished
    if (checkpoint_dir / BEST_WEIGHTS).is_file():
        model.load_weights(checkpoint_dir / BEST_WEIGHTS)
    return TrainingResult(
        model=model,
        history=state["history"],
        epochs_completed=state["epoch"],
        resumed_from_epoch=resumed_from,
        best_epoch=state["best_epoch"],
        stop_reason=state["stop_reason"] or "epochs",
        train_seconds=state["train_seconds"],
        backend=state.get("backend", keras.backend.backend()),
        monitor=config.monitor,
    )


def fed_by_keras(data):
    """`data` as the trainer hands it to Keras: a tf.data.Dataset without autotuning (whose epochs would end
    late, `rnnapps.datasets.batching.without_autotune`); anything else unchanged."""
    try:
        import tensorflow as tf
    except ImportError:
        return data
    if not isinstance(data, tf.data.Dataset):
        return data
    from rnnapps.datasets import batching

    return batching.without_autotune(data)


def _input_pipeline_watch(validation_data, config: TrainingConfig) -> input_watch.InputPipelineWatch | None:
    """On a CPU, a watch on the share of each train step that building its batch takes (input_watch);
    None on a GPU, where the input pipeline runs on cores training does not use, or without a validation
    tf.data.Dataset.

    The probe times validation batches: they are built the same way as training batches, and drawing
    from the training dataset would advance its reshuffling, so training would see other batches than
    without the probe."""
    if config.distribute == "mirrored":
        return None
    try:
        import tensorflow as tf
    except ImportError:
        return None
    if not isinstance(validation_data, tf.data.Dataset) or tf.config.list_physical_devices("GPU"):
        return None
    seconds = input_watch.seconds_per_batch(validation_data)
    return None if seconds is None else input_watch.InputPipelineWatch(seconds)


def _default_verbosity() -> int:
    """Progress bar on a terminal, a line per epoch in logs; nothing when the "rnnapps" logger was set
    above INFO (the CLI's --quiet). An unconfigured logger (plain library use) still shows progress."""
    package_logger = logging.getLogger("rnnapps")
    if package_logger.level != logging.NOTSET and not package_logger.isEnabledFor(logging.INFO):
        return 0
    return 1 if sys.stdout.isatty() else 2


def steps_for(examples: int, batch_size: int) -> int:
    """Batches in one pass over `examples` examples (the last batch may be partial)."""
    return -(-examples // batch_size)


def summary(result: TrainingResult, **extra) -> dict[str, Any]:
    """JSON-ready facts about a training run for the bundle's metrics.json (plus `extra` items)."""
    return {"epochs_completed": result.epochs_completed, "best_epoch": result.best_epoch,
            "stop_reason": result.stop_reason, "train_seconds": round(result.train_seconds, 1),
            "resumed_from_epoch": result.resumed_from_epoch, "backend": result.backend, "monitor": result.monitor,
            **extra}


def history_artifacts(result: TrainingResult, run_dir: pathlib.Path) -> dict[str, Callable[[pathlib.Path], Any]]:
    """Bundle artifacts every task has: the training-curve plot and the history CSV."""
    from rnnapps import plots  # matplotlib; only needed when a bundle is written

    return {
        "training_curves.png": lambda path: plots.plot_training_curves(result.history, path),
        HISTORY_FILE: lambda path: path.write_bytes((pathlib.Path(run_dir) / HISTORY_FILE).read_bytes()),
    }


def _restore(model: keras.Model, weights_path: pathlib.Path, train_data) -> None:
    """Load weights and optimizer state saved by `_ResumableCheckpoint` into a compiled model."""
    if not model.built:
        inputs, _ = next(iter(train_data))
        model(inputs)
    model.optimizer.build(model.trainable_variables)
    model.load_weights(weights_path)
