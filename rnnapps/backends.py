"""Training on another Keras backend than this process's (`rnnapps TASK train --backend jax`).

Keras picks its backend once per process, when it is first imported, and the CLI runs on TensorFlow: tf.data
feeds every backend, and the bundle's scoring, `evaluate`, `predict` and `export` (a TensorFlow SavedModel) need
TensorFlow. So the fit runs in a child process started with KERAS_BACKEND set (`train ... --fit-only`), which
leaves checkpoints (Keras' backend-independent weight files), state.json and history.csv in the run directory;
then `train` in this process finds the training finished, loads the best weights and scores and writes the
bundle as after any training. An interrupted child resumes like any run: run the same command again.

`train` is the policy of a training command, decided here once: which backend fits and in which process, whether
the run is multi-process (its process group resolved once and passed down to the trainer), and which process
writes the bundle. The CLI only parses and prints.

JAX compiles the train and test steps anew for every batch shape (seconds each for a recurrent model, most of a
small run's time), so the child keeps what it compiled in the run directory (JAX's persistent compilation
cache): a resumed run, every process of a multi-process one included, loads them instead of compiling again.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pathlib
import subprocess
import sys

from rnnapps import distributed
from rnnapps.errors import UserError

log = logging.getLogger(__name__)

BACKENDS = ("tensorflow", "jax")
FIT_ONLY_FLAG = "--fit-only"  # marks the child process that only fits (`train`)
EXIT_INTERRUPTED = 130
# After Ctrl-C the child gets its own SIGINT and finishes writing what it was writing; then it is stopped.
INTERRUPT_GRACE_SECONDS = 30
# Compiles shorter than this are not kept (JAX's default, 1 s, leaves out the test steps of small models).
CACHED_COMPILE_SECONDS = "0.1"


def current() -> str:
    """The Keras backend of this process."""
    import keras

    return keras.backend.backend()


def settle_process_backend(argv: list[str]) -> str:
    """Set this process's Keras backend before Keras is imported: TensorFlow, which the CLI needs (tf.data,
    SavedModel export), except in a --fit-only child, which fits on the backend its parent chose.

    Returns:
        The backend the user's KERAS_BACKEND names ("tensorflow" without one): `train --backend`'s default.
    """
    user_backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if FIT_ONLY_FLAG not in argv:
        os.environ["KERAS_BACKEND"] = "tensorflow"
    return user_backend


def train(pipeline_cls, recipe, run_dir: os.PathLike, *, backend: str, command: list[str], fit_only: bool = False):
    """Carry out a training command: fit on `backend` (in a child process when it is not this process's), then
    score and write the bundle here, unless another process does.

    Args:
        pipeline_cls: the task's `Pipeline` class.
        recipe: the resolved recipe.
        run_dir: the run directory.
        backend: the Keras backend that fits the model, one of BACKENDS.
        command: the `rnnapps` command line of this training (task, "train", its options, no --fit-only), which
            a child process runs again with --fit-only.
        fit_only: this process is such a child: fit, nothing else.

    Returns:
        The trained pipeline (its bundle written), or None when this process writes no bundle: a --fit-only
        child, or a process other than 0 of a multi-process run.

    Raises:
        UserError: a multi-process run on another backend than JAX, --fit-only on another backend than this
            process's, or a failed child.
    """
    group = distributed.process_group(recipe.training)  # the one place a run is found to be multi-process
    if group is not None and backend != "jax":
        raise UserError("multi-process training runs on the JAX backend: add --backend jax")
    if fit_only:
        if backend != current():
            raise UserError(f"--fit-only trains on this process's Keras backend ({current()}), not {backend}; set "
                            f"KERAS_BACKEND={backend}")
        pipeline_cls.fit(recipe, run_dir, group)
        return None
    if backend != current():
        fit_in_child(backend, command, compiled_dir=pathlib.Path(run_dir) / "compiled")
    if group is not None and not group.is_chief:
        log.warning("process %d of %d: training finished; process 0 writes the bundle", group.process_id,
                    group.num_processes)
        return None
    # After a child's fit the training is finished: this only scores the model and writes the bundle.
    return pipeline_cls.train(recipe, run_dir, group if backend == current() else None)


def fit_in_child(backend: str, arguments: list[str], compiled_dir: os.PathLike | str) -> None:
    """Run `rnnapps ARGUMENTS --fit-only` in a child process on `backend`, its output passed through.

    Args:
        backend: a Keras backend name from BACKENDS.
        arguments: the `rnnapps` command line of the training command (task, "train", its options), without
            --fit-only.
        compiled_dir: where a JAX child keeps its compiled steps (inside the run directory), unless the user's
            JAX_COMPILATION_CACHE_DIR says where.

    Raises:
        UserError: the backend is not installed, or the child failed (its own message is above).
        SystemExit: the training was interrupted (Ctrl-C); the child has said how to resume.
    """
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if importlib.util.find_spec(backend) is None:
        raise UserError(f"--backend {backend} needs the {backend} package, which is not installed here: "
                        f"pip install {backend}")
    command = [sys.executable, "-m", "rnnapps", *arguments, FIT_ONLY_FLAG]
    log.info("training on %s in a child process", backend)
    env = {**os.environ, "KERAS_BACKEND": backend}
    if backend == "jax":
        env.setdefault("JAX_COMPILATION_CACHE_DIR", str(compiled_dir))
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", CACHED_COMPILE_SECONDS)
    child = subprocess.Popen(command, env=env)
    try:
        code = child.wait()
    except KeyboardInterrupt:  # the child got the same SIGINT
        try:
            code = child.wait(timeout=INTERRUPT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        raise SystemExit(EXIT_INTERRUPTED)
    if code != 0:
        raise UserError(f"training on {backend} failed (exit status {code}; its message is above); run the same "
                        "command again to resume from the last finished epoch")
