"""A training run in its run directory: the resolved recipe written into it at the start (refusing to resume a
run of another recipe there, which would mix two recipes' checkpoints, unless it never finished an epoch), then the
task's data, preprocessor and training plan handed to the shared trainer (`fit`). The trainer's own files
(checkpoints/, history.csv) are `rnnapps.training`'s; scoring and the bundle are `Pipeline.train`'s."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import shutil
import tomllib
from typing import Any

from rnnapps import bundle as bundles
from rnnapps import config as recipes
from rnnapps.errors import UserError

log = logging.getLogger(__name__)


@dataclasses.dataclass
class FittedRun:
    """What the training part of `Pipeline.train` leaves for scoring and the bundle.

    Attributes:
        run_dir: the run directory.
        splits: the recipe's data, split.
        preprocessor: fitted on the training split.
        plan: the task's `rnnapps.pipelines.base.TrainingPlan`.
        result: the shared trainer's `rnnapps.training.TrainingResult`.
    """

    run_dir: pathlib.Path
    splits: Any
    preprocessor: Any
    plan: Any
    result: Any


def fit(pipeline_cls: Any, recipe: Any, run_dir: str | pathlib.Path, process_group: Any = None) -> FittedRun:
    """Train a task's model in `run_dir`, resuming it if an earlier run stopped part way.

    Args:
        pipeline_cls: the task's `Pipeline` class (its hooks read the data, fit the preprocessor, plan training).
        recipe: the resolved recipe.
        run_dir: the run directory.
        process_group: this process's `rnnapps.distributed.ProcessGroup`, or None to train alone.

    Returns:
        The `FittedRun`.
    """
    from rnnapps import distributed, training  # TensorFlow/Keras, only once a training starts

    config = recipe.training
    # Several training processes share the run directory: process 0 writes the recipe and tokenizers, and
    # the others read them. (Keras variables, metrics' too, are then made by all processes together.)
    with distributed.chief_first(process_group, config.step_timeout_s):
        run_dir = start_run(recipe, run_dir)
        training.set_seed(recipe.seed)  # first: it would invalidate tokenizers created before it
        splits = pipeline_cls.read_data(recipe)
        sizes = [f"{len(getattr(splits, name))} {name}" for name in ("train", "validation", "test")
                 if len(getattr(splits, name))]
        log.info("data: %s %s", ", ".join(sizes), pipeline_cls.examples_name)
        preprocessor = pipeline_cls.preprocessor_cls.fit(recipe, splits, run_dir)
    plan = pipeline_cls.plan_training(recipe, preprocessor, splits, run_dir)
    if plan.validation_data is None and config.monitor.startswith("val_"):
        log.warning("no validation data: monitoring %s instead of %s", config.monitor.removeprefix("val_"),
                    config.monitor)
        config = dataclasses.replace(config, monitor=config.monitor.removeprefix("val_"))
    steps = plan.steps_per_epoch or training.steps_for(plan.examples_per_epoch, config.batch_size)
    result = training.train(plan.build_model, plan.train_data, plan.validation_data, config, run_dir,
                            loss=plan.loss, metrics=plan.metrics, seed=None, steps_per_epoch=steps,
                            callbacks=plan.callbacks, process_group=process_group)
    return FittedRun(run_dir, splits, preprocessor, plan, result)


def start_run(recipe: Any, run_dir: str | pathlib.Path) -> pathlib.Path:
    """Write the resolved recipe into `run_dir`, refusing to resume a run made with another recipe.

    Args:
        recipe: the resolved recipe dataclass (its class's `renamed_keys` read an older saved recipe).
        run_dir: the run directory (created if missing).

    Returns:
        `run_dir` as a path.

    Raises:
        UserError: `run_dir` holds a run of a different recipe that finished an epoch (names the first
            difference). One that never finished an epoch is started again with this recipe.
    """
    run_dir = pathlib.Path(run_dir)
    saved = run_dir / bundles.RECIPE_FILE
    if saved.is_file():
        previous = recipes.apply_renames(tomllib.loads(saved.read_text(encoding="utf-8")),
                                         getattr(type(recipe), "renamed_keys", {}), str(saved), logging.INFO)
        difference = first_difference(previous, recipes.recipe_to_dict(recipe))
        if difference and finished_epochs(run_dir):
            raise UserError(f"{run_dir} holds a run of a different recipe ({difference} changed); "
                            "delete it (the CLI's --fresh does) or choose another run directory")
        if difference:
            # Nothing trained is lost, and what the run left (a tokenizer fitted on other data, cached
            # features) must not leak into this one.
            log.warning("%s holds a run of another recipe (%s changed) that never finished an epoch; starting "
                        "it again with this recipe", run_dir, difference)
            shutil.rmtree(run_dir)
    recipes.save_recipe(recipe, saved)
    return run_dir


def finished_epochs(run_dir: str | pathlib.Path) -> int:
    """The most epochs any training in `run_dir` has finished (the task's, or its pretraining's), 0 for none."""
    from rnnapps import checkpoint  # Keras; only needed once a run is started

    states = pathlib.Path(run_dir).rglob(checkpoint.STATE_FILE)
    return max((checkpoint.read_state(path.parent)["epoch"] for path in states), default=0)


def first_difference(old: Any, new: Any, prefix: str = "") -> str:
    """Dotted key of the first value that differs between two nested dicts ("" if none)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            found = first_difference(old.get(key), new.get(key), f"{prefix}{key}.")
            if found:
                return found
        return ""
    return prefix.rstrip(".") if old != new else ""
