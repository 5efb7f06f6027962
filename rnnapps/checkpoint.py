"""The trainer's resumable state: weights and optimizer state after every epoch, the best epoch's weights,
early stopping and the time budget, all kept in a checkpoint directory so that a rerun continues exactly."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import pathlib
import time
from typing import Any

import keras

from rnnapps import atomic, distributed
from rnnapps.errors import UserError
from rnnapps.sections import TrainingConfig

STATE_FILE = "state.json"
BEST_WEIGHTS = "best.weights.h5"
HISTORY_FILE = "history.csv"
EPOCH_SECONDS = "epoch_seconds"
VALIDATION_SECONDS = "validation_seconds"

STOP_REASONS = (None, "nan", "early_stopping", "time_limit")


class ResumableCheckpoint(keras.callbacks.Callback):
    """Saves weights + optimizer state after every epoch and tracks the best epoch and early stopping,
    keeping all of it in `state.json` so that a resumed run continues exactly."""

    def __init__(self, directory: pathlib.Path, config: TrainingConfig, state: dict[str, Any], run_dir: pathlib.Path,
                 group: distributed.ProcessGroup | None = None):
        super().__init__()
        self.group = group  # several processes: process 0 writes, and every process takes its decision to stop
        self.directory = directory
        self.config = config
        self.state = state
        self.run_dir = run_dir
        self.mode_min = "loss" in config.monitor or "error" in config.monitor
        self.epoch_started = self.validation_started = time.time()
        self.validation_seconds = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.time()
        self.validation_seconds = 0.0

    def on_test_begin(self, logs=None):
        self.validation_started = time.time()

    def on_test_end(self, logs=None):
        self.validation_seconds += time.time() - self.validation_started

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        state = self.state
        seconds = time.time() - self.epoch_started
        state["train_seconds"] += seconds
        logs[EPOCH_SECONDS] = seconds  # in history.csv: how long each epoch took (validation included)
        logs[VALIDATION_SECONDS] = self.validation_seconds  # ... and how much of it the validation pass took
        for name, value in logs.items():
            state["history"].setdefault(name, []).append(float(value))
        value = logs.get(self.config.monitor)
        if value is None:
            raise UserError(f"training.monitor = {self.config.monitor!r} is not a logged metric; "
                            f"choose one of {sorted(logs)}")
        improved = state["best"] is None or (value < state["best"] if self.mode_min else value > state["best"])
        if improved:
            state.update(best=float(value), best_epoch=epoch + 1, wait=0)
        else:
            state["wait"] += 1
        # Decided before state.json is written, so a rerun knows this run already stopped.
        if not math.isfinite(value):
            state["stop_reason"] = "nan"
        elif self.config.early_stopping_patience and state["wait"] >= self.config.early_stopping_patience:
            state["stop_reason"] = "early_stopping"
        elif self.config.max_minutes and state["train_seconds"] >= 60 * self.config.max_minutes:
            state["stop_reason"] = "time_limit"
        if self.group is not None:  # each process's clock differs: one stopping alone would leave the rest waiting
            state["stop_reason"] = STOP_REASONS[self.group.agree(STOP_REASONS.index(state["stop_reason"]))]
        self.model.stop_training = self.model.stop_training or state["stop_reason"] is not None
        weights_name = f"epoch-{epoch + 1:04d}.weights.h5"
        previous = state.get("last_weights")
        state.update(epoch=epoch + 1, last_weights=weights_name)
        if self.group is None or self.group.is_chief:
            self._write(improved, weights_name, previous)
        if self.group is not None:  # nobody reads the files (the best weights at the end) before they are written
            self.group.barrier(f"rnnapps-epoch-{epoch + 1}-written")

    def _write(self, improved: bool, weights_name: str, previous: str | None) -> None:
        # Keras' saving makes a variable of its own, which under a multi-process distribution every process
        # would have to make together: process 0 saves alone, outside the distribution.
        with distributed.without_distribution() if self.group is not None else contextlib.nullcontext():
            if improved:
                atomic.write_file(self.directory / BEST_WEIGHTS, self.model.save_weights)
            atomic.write_file(self.directory / weights_name, self.model.save_weights)
        atomic.write_json(self.directory / STATE_FILE, self.state)
        if previous and previous != weights_name:
            (self.directory / previous).unlink(missing_ok=True)
        atomic.write_file(self.run_dir / HISTORY_FILE, lambda p: write_history(p, self.state["history"]))


def write_history(path: pathlib.Path, history: dict[str, list[float]]) -> None:
    names = sorted(history)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *names])
        for index in range(max((len(v) for v in history.values()), default=0)):
            writer.writerow([index + 1, *(history[n][index] if index < len(history[n]) else "" for n in names)])


def read_state(directory: pathlib.Path) -> dict[str, Any]:
    path = directory / STATE_FILE
    fresh = {"epoch": 0, "best": None, "best_epoch": 0, "wait": 0, "history": {}, "train_seconds": 0.0,
             "stop_reason": None, "last_weights": None}
    if not path.is_file():
        return fresh
    try:
        return {**fresh, **json.loads(path.read_text(encoding="utf-8"))}
    except json.JSONDecodeError:
        raise UserError(f"{path} is damaged; delete the {directory} folder to start training afresh") from None
