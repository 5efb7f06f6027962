"""Data-parallel training across processes and machines (`training.distribute = "multi_process"`).

Keras 3 trains across processes with its distribution API on the JAX backend (`keras.distribution.DataParallel`
over `jax.distributed`; TensorFlow's multi-worker strategy does not work with Keras 3, keras-team/keras#20585),
so these runs train with `--backend jax`.

Every process runs the same training command. They find each other through a coordinator, process 0's
host:port, and each knows the process count and its own id: from the recipe (training.coordinator,
training.num_processes, training.process_id, e.g. with --set) or, the way cluster launchers pass them, from the
environment: RNNAPPS_COORDINATOR, RNNAPPS_NUM_PROCESSES and RNNAPPS_PROCESS_ID (`rnnapps launch` sets them for
processes on one machine).

- Data: every process builds the same seeded batches and trains on its rows of each (rows process_id,
  process_id + N, ...), so the parts of one step always have one shape, also with length buckets. Batches
  smaller than the batch size are left out, as one process's part would be empty or of another size.
- Writes: only process 0 writes checkpoints, history and the bundle, into a run directory that every process
  reads when it resumes: the same folder on one machine, a shared file system across machines.
- Decisions: every process takes process 0's decision to stop (early stopping and the time budget are decided
  on process 0's clock and metrics), so none waits for a step the others will never take.
- Faults: when no training step finishes for training.step_timeout_s seconds, another process has most likely
  stopped; a process then says so and exits (rnnapps.watchdog) instead of waiting in a collective forever.
  Running the same command again resumes every process from the last finished epoch.

This module imports neither Keras nor JAX until a process group is used: the CLI imports it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from rnnapps.errors import UserError

log = logging.getLogger(__name__)

ENV_COORDINATOR = "RNNAPPS_COORDINATOR"
ENV_NUM_PROCESSES = "RNNAPPS_NUM_PROCESSES"
ENV_PROCESS_ID = "RNNAPPS_PROCESS_ID"


@dataclasses.dataclass(frozen=True)
class ProcessGroup:
    """One process's place among the training processes.

    Attributes:
        coordinator: host:port of process 0's coordination service.
        num_processes: how many processes train together.
        process_id: this process's id, 0 to num_processes - 1; process 0 writes every file.
    """

    coordinator: str
    num_processes: int
    process_id: int

    @property
    def is_chief(self) -> bool:
        """Whether this process writes checkpoints, history and the bundle."""
        return self.process_id == 0

    def join(self, timeout_s: float) -> None:
        """Join the other processes (jax.distributed) and make Keras data-parallel over every process's devices,
        once per process; returns when all have joined. Call it before anything creates Keras variables
        (metrics too): variables made before live on this process's devices only.

        Raises:
            UserError: not all of them joined within `timeout_s` seconds.
        """
        import jax
        import keras

        if _joined.is_set():
            return
        log.info("process %d of %d: joining the coordinator at %s", self.process_id, self.num_processes,
                 self.coordinator)
        try:
            # A lost peer is found by the step watchdog first (its message says what to do); JAX's own
            # heartbeat, which ends the process without that message, only backs it up.
            jax.distributed.initialize(self.coordinator, self.num_processes, self.process_id,
                                       initialization_timeout=max(1, int(timeout_s)),
                                       heartbeat_timeout_seconds=int(timeout_s) + 60)
        except Exception as error:  # jax raises plain RuntimeErrors/XlaRuntimeErrors here
            raise UserError(f"process {self.process_id} could not join the {self.num_processes} training "
                            f"processes at {self.coordinator} ({str(error).splitlines()[0]}); start every "
                            f"process with the same {ENV_COORDINATOR} and {ENV_NUM_PROCESSES}") from None
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices(),
                                                                            auto_shard_dataset=False))
        _joined.set()

    def barrier(self, name: str) -> None:
        """Wait until every process has reached the barrier called `name`."""
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)

    def local_batches(self, dataset, batch_size: int):
        """This process's rows of every full batch of `dataset` (a tf.data.Dataset of (inputs, targets)
        batches); batches of fewer than batch_size examples are left out."""
        if batch_size % self.num_processes:
            raise UserError(f"training.batch_size = {batch_size} does not split evenly over "
                            f"{self.num_processes} processes; choose a multiple of {self.num_processes}")
        import tensorflow as tf

        def is_full(*batch):
            return tf.shape(tf.nest.flatten(batch)[0])[0] == batch_size

        def rows(*batch):
            return tf.nest.map_structure(lambda part: part[self.process_id::self.num_processes], batch)

        return dataset.filter(is_full).map(rows)

    def agree(self, value: int) -> int:
        """Process 0's `value` (an int), in every process."""
        import numpy as np
        from jax.experimental import multihost_utils

        return int(multihost_utils.broadcast_one_to_all(np.int32(value)))


_joined = threading.Event()


def process_group(config: Any, environ: Mapping[str, str] = os.environ) -> ProcessGroup | None:
    """The process group a recipe's training section asks for, or None for single-process training.

    Args:
        config: a `rnnapps.sections.TrainingConfig`: distribute, coordinator, num_processes, process_id. Its
            fields win; the environment (RNNAPPS_*) fills what they leave unset. distribute = "auto" is
            multi-process when the environment names more than one process.
        environ: the environment to read.

    Raises:
        UserError: multi-process training without a coordinator, count or id, or with inconsistent ones.
    """
    environ_count = environ.get(ENV_NUM_PROCESSES, "")
    wanted = config.distribute == "multi_process" or (
        config.distribute == "auto" and environ_count.isdigit() and int(environ_count) > 1)
    if not wanted:
        return None
    coordinator = config.coordinator or environ.get(ENV_COORDINATOR, "")
    count = config.num_processes or _int(environ_count, ENV_NUM_PROCESSES)
    process_id = config.process_id if config.process_id >= 0 else _int(environ.get(ENV_PROCESS_ID, ""),
                                                                         ENV_PROCESS_ID)
    if not coordinator or count is None or process_id is None:
        raise UserError("multi-process training needs the coordinator address, the process count and this "
                        f"process's id: set {ENV_COORDINATOR}=HOST:PORT (process 0's machine), {ENV_NUM_PROCESSES}=N "
                        f"and {ENV_PROCESS_ID}=0..N-1 in each process's environment, or training.coordinator, "
                        "training.num_processes and training.process_id; 'rnnapps launch' does it on one machine")
    if count < 1 or not 0 <= process_id < count:
        raise UserError(f"process id {process_id} is not one of the {count} processes (0 to {count - 1})")
    return ProcessGroup(coordinator, count, process_id)


@contextlib.contextmanager
def chief_first(group: ProcessGroup | None, timeout_s: float):
    """Process 0 runs the block first, the others after it (they then find what it wrote: tokenizers, caches);
    for None, just the block. Joins the group first."""
    if group is None:
        yield
        return
    group.join(timeout_s)
    if not group.is_chief:
        group.barrier("rnnapps-run-prepared")
    yield
    if group.is_chief:
        group.barrier("rnnapps-run-prepared")


@contextlib.contextmanager
def without_distribution():
    """A block whose Keras variables are this process's own, made without the other processes (for what one
    process does alone: process 0 saving weights)."""
    import keras

    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)


def _int(text: str, name: str) -> int | None:
    if not text:
        return None
    if not text.strip().isdigit():
        raise UserError(f"{name}={text!r} is not a whole number")
    return int(text)
