"""The Task contract: what every task pipeline is, with `train` and `evaluate` written once.

A task package subclasses `Pipeline` (and `Preprocessor`) and fills in small hooks:

    read_data(recipe) -> splits              the recipe's data, split (.train/.validation/.test)
    preprocessor_cls.fit(recipe, splits, run_dir) -> Preprocessor   tokenizers fitted on the training split
    plan_training(recipe, preprocessor, splits, run_dir) -> TrainingPlan   datasets, model builder, loss
    score(examples, **options) -> report     the task metric on held-out examples
    read_evaluation_data(source, ...) -> examples  `evaluate --data SOURCE` (None: the recipe's own split)
    predict(inputs, **options) -> results    raw inputs -> JSON-ready results (through the serving module)
    export(path) -> SavedModel directory     the serving module written by `rnnapps.export.save`

and optionally `finish_model`, `bundle_artifacts`, `after_evaluation`, `evaluation_variant` and the
presentation methods. See ARCHITECTURE.md.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import logging
import pathlib
import tomllib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rnnapps import bundle as bundles
from rnnapps import config as recipes
from rnnapps import sections
from rnnapps.errors import UserError

log = logging.getLogger(__name__)


class Preprocessor(abc.ABC):
    """One task's mapping from raw input to model inputs (and from model outputs back to raw output).

    The same object feeds `tf.data` in training and runs inside the SavedModel, so a recipe field means one
    thing in both. Subclasses keep their tokenizers in `tokenizers` (name -> tokenizer, stored in the bundle
    under those names) and facts needed at inference time in `metadata` (stored in the bundle's metadata).
    """

    tokenizers: dict[str, Any]
    metadata: dict[str, Any] = {}

    @classmethod
    @abc.abstractmethod
    def fit(cls, recipe: Any, splits: Any, run_dir: pathlib.Path) -> Preprocessor:
        """Fit (or reload from `run_dir` or the recipe's tokenizer path) on the training split."""

    @classmethod
    @abc.abstractmethod
    def from_bundle(cls, recipe: Any, loaded: bundles.Bundle) -> Preprocessor:
        """The preprocessor stored in a loaded bundle."""


@dataclasses.dataclass
class TrainingPlan:
    """What a task hands the shared trainer (`rnnapps.training.train`).

    Attributes:
        build_model: returns the uncompiled Keras model to train.
        train_data: tf.data.Dataset of (inputs, targets) batches.
        validation_data: the same for validation, or None (the monitor then falls back to the training loss).
        examples_per_epoch: training examples in one epoch (sets the learning-rate schedule's steps).
        loss: a Keras loss.
        metrics: Keras metrics to log.
        callbacks: task callbacks (e.g. resetting a stateful model every epoch).
        steps_per_epoch: batches per epoch when they are not ceil(examples_per_epoch / batch_size).
        summary: extra facts for the bundle's training summary (e.g. {"train_examples": 20000}).
    """

    build_model: Callable[[], Any]
    train_data: Any
    validation_data: Any
    examples_per_epoch: int
    loss: Any
    metrics: list[Any] = dataclasses.field(default_factory=list)
    callbacks: list[Any] = dataclasses.field(default_factory=list)
    steps_per_epoch: int | None = None
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)


class Pipeline(abc.ABC):
    """Base class of the task pipelines: a recipe, its preprocessor and its trained model.

    Class attributes a task sets: `task` (its name), `recipe_cls`, `preprocessor_cls`, `held_out_split`
    (the split scored after training and by a plain `evaluate`: "test", or "validation" for a language
    model), `examples_name` (what `len()` of a split counts: "pairs", "images", ...), `demo_inputs` and
    `evaluation_data_options` (the `evaluate` options that `read_evaluation_data` takes, not `score`).
    Calling a pipeline runs `predict`: a str in gives one result, a list gives a list.
    """

    task: ClassVar[str]
    recipe_cls: ClassVar[type]
    preprocessor_cls: ClassVar[type[Preprocessor]]
    held_out_split: ClassVar[str] = "test"
    examples_name: ClassVar[str] = "examples"
    demo_inputs: ClassVar[tuple[Any, ...]] = ()
    evaluation_data_options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, recipe: Any, model: Any, preprocessor: Preprocessor, bundle_path: pathlib.Path | None = None):
        self.recipe = recipe
        self.model = model
        self.preprocessor = preprocessor
        self.bundle_path = bundle_path

    # ------------------------------------------------------------------ recipes and bundles

    @property
    def metrics(self) -> dict[str, Any]:
        """The bundle's metrics.json ({} before the pipeline is saved as a bundle)."""
        if self.bundle_path is None or not (self.bundle_path / bundles.METRICS_FILE).is_file():
            return {}
        return json.loads((self.bundle_path / bundles.METRICS_FILE).read_text(encoding="utf-8"))

    @classmethod
    def load_recipe(cls, path: str | pathlib.Path | None, overrides: Sequence[str] = ()) -> Any:
        """Load this task's recipe (defaults < file < overrides) and check it names this task."""
        recipe = recipes.load_recipe(cls.recipe_cls, path, overrides)
        if recipe.task != cls.task:
            raise UserError(f"{path}: task = {recipe.task!r}, but this is the {cls.task!r} command; "
                            f"use 'rnnapps {recipe.task} train'")
        return recipe

    @classmethod
    def recipe_from_bundle(cls, loaded: bundles.Bundle) -> Any:
        """The recipe dataclass stored in a loaded bundle."""
        return recipes.from_dict(cls.recipe_cls, loaded.recipe, where=str(loaded.path / bundles.RECIPE_FILE),
                                 rename_level=logging.INFO)

    @classmethod
    def from_bundle(cls, path: str | pathlib.Path) -> Pipeline:
        """Load a trained pipeline from a bundle (or a run directory holding one)."""
        loaded = bundles.load(path, cls.task)
        recipe = cls.recipe_from_bundle(loaded)
        return cls(recipe, loaded.model, cls.preprocessor_cls.from_bundle(recipe, loaded), loaded.path)

    @staticmethod
    def start_run(recipe: Any, run_dir: str | pathlib.Path) -> pathlib.Path:
        """Write the resolved recipe into `run_dir`, refusing to resume a run made with another recipe.

        Raises:
            UserError: `run_dir` holds checkpoints of a different recipe (names the first difference).
        """
        run_dir = pathlib.Path(run_dir)
        saved = run_dir / bundles.RECIPE_FILE
        if saved.is_file():
            previous = recipes.apply_renames(tomllib.loads(saved.read_text(encoding="utf-8")),
                                             getattr(type(recipe), "renamed_keys", {}), str(saved), logging.INFO)
            difference = _first_difference(previous, recipes.recipe_to_dict(recipe))
            if difference:
                raise UserError(f"{run_dir} holds a run of a different recipe ({difference} changed); "
                                "delete it (the CLI's --fresh does) or choose another run directory")
        recipes.save_recipe(recipe, saved)
        return run_dir

    # ------------------------------------------------------------------ training (written once)

    @classmethod
    def train(cls, recipe: Any, run_dir: str | pathlib.Path) -> Pipeline:
        """Train on the recipe's data, resuming in `run_dir` if possible; score the held-out split and
        write `run_dir/bundle`.

        Returns:
            The trained pipeline; `pipeline.bundle_path` is `run_dir/bundle`.
        """
        from rnnapps import training

        run_dir, splits, preprocessor, plan, result = cls._fit(recipe, run_dir)
        pipeline = cls(recipe, cls.finish_model(recipe, result.model, preprocessor), preprocessor)
        held_out = getattr(splits, cls.held_out_split)
        report = pipeline.score(held_out) if len(held_out) else {}
        if report:
            # The report's first line is its summary (the rest: per-class scores, metric signatures).
            shown = pipeline.format_report(report).splitlines()[0].removeprefix(f"{cls.held_out_split}:")
            log.info("%s: %s", cls.held_out_split, shown.strip())
        else:
            log.info("no %s split, so no %s scores; score the model with 'rnnapps %s evaluate --bundle %s "
                     "--data FILE'", cls.held_out_split, cls.held_out_split, cls.task, run_dir)
        summary = {cls.held_out_split: report, "training": pipeline.training_summary(result, plan)}
        artifacts = {**training.history_artifacts(result, run_dir), **pipeline.bundle_artifacts(splits, report)}
        pipeline.bundle_path = bundles.save(
            run_dir / bundles.BUNDLE_DIR, task=cls.task, model=pipeline.model,
            tokenizers_by_name=preprocessor.tokenizers, recipe=recipe, metrics=summary,
            extra_metadata=preprocessor.metadata, artifacts=artifacts)
        return pipeline

    @classmethod
    def fit(cls, recipe: Any, run_dir: str | pathlib.Path) -> Any:
        """Only the training part of `train`: checkpoints and history in `run_dir`, no scores and no bundle.
        `train` on the same run directory afterwards finds the training finished and writes the bundle
        (`train --backend jax` fits on JAX in a child process this way; rnnapps.backends).

        Returns:
            The `rnnapps.training.TrainingResult`.
        """
        return cls._fit(recipe, run_dir)[-1]

    @classmethod
    def _fit(cls, recipe: Any, run_dir: str | pathlib.Path):
        """(run directory, splits, preprocessor, training plan, training result) of a training run."""
        from rnnapps import distributed, training  # TensorFlow/Keras; the base module stays light to import

        config = recipe.training
        # Several training processes share the run directory: process 0 writes the recipe and tokenizers, and
        # the others read them. (Keras variables, metrics' too, are then made by all processes together.)
        with distributed.chief_first(distributed.training_group(config), config.step_timeout_s):
            run_dir = cls.start_run(recipe, run_dir)
            training.set_seed(recipe.seed)  # first: it would invalidate tokenizers created before it
            splits = cls.read_data(recipe)
            sizes = [f"{len(getattr(splits, name))} {name}" for name in ("train", "validation", "test")
                     if len(getattr(splits, name))]
            log.info("data: %s %s", ", ".join(sizes), cls.examples_name)
            preprocessor = cls.preprocessor_cls.fit(recipe, splits, run_dir)
        plan = cls.plan_training(recipe, preprocessor, splits, run_dir)
        if plan.validation_data is None and config.monitor.startswith("val_"):
            log.warning("no validation data: monitoring %s instead of %s", config.monitor.removeprefix("val_"),
                        config.monitor)
            config = dataclasses.replace(config, monitor=config.monitor.removeprefix("val_"))
        steps = plan.steps_per_epoch or training.steps_for(plan.examples_per_epoch, config.batch_size)
        result = training.train(plan.build_model, plan.train_data, plan.validation_data, config, run_dir,
                                loss=plan.loss, metrics=plan.metrics, seed=None, steps_per_epoch=steps,
                                callbacks=plan.callbacks)
        return run_dir, splits, preprocessor, plan, result

    @classmethod
    def pretrain(cls, recipe: Any, run_dir: str | pathlib.Path) -> Any:
        """Pretrain the recipe's encoder on its [pretraining] text into `run_dir` (tasks whose `TaskSpec`
        says `pretrains`); returns a `rnnapps.pretraining.pretrain.PretrainedEncoder`."""
        raise UserError(f"the {cls.task} task has no pretraining")

    @classmethod
    @abc.abstractmethod
    def read_data(cls, recipe: Any) -> Any:
        """The recipe's data, split: an object with `.train`, `.validation` and `.test` (each with len())."""

    @classmethod
    @abc.abstractmethod
    def plan_training(cls, recipe: Any, preprocessor: Preprocessor, splits: Any, run_dir: pathlib.Path) -> TrainingPlan:
        """Datasets, model builder, loss and metrics for the shared trainer."""

    @classmethod
    def finish_model(cls, recipe: Any, trained: Any, preprocessor: Preprocessor) -> Any:
        """The model to keep from the trained one (e.g. an image encoder put back in front of a decoder
        trained on cached features). Default: the trained model."""
        return trained

    def training_summary(self, result: Any, plan: TrainingPlan) -> dict[str, Any]:
        """Facts about the training run for metrics.json."""
        from rnnapps import training

        return training.summary(result, **plan.summary)

    def bundle_artifacts(self, splits: Any, report: dict[str, Any]) -> dict[str, Callable[[pathlib.Path], Any]]:
        """Task files for the bundle besides the training curves: file name -> writer given its path."""
        return {}

    # ------------------------------------------------------------------ use

    @abc.abstractmethod
    def predict(self, inputs: list[Any], **options) -> list[Any]:
        """Predict a list of raw inputs; returns one JSON-ready result per input."""

    @abc.abstractmethod
    def score(self, examples: Any, **options) -> dict[str, Any]:
        """The task metrics of this model on held-out examples; a JSON-ready report."""

    @abc.abstractmethod
    def read_evaluation_data(self, source: str | None) -> Any:
        """Examples for `evaluate`: read from `source` (in the recipe's data format) or, for None, the
        recipe's own held-out split, exactly as at training time."""

    @abc.abstractmethod
    def export(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write a SavedModel that maps raw input to raw output."""

    def evaluate(self, source: str | None = None, **options) -> dict[str, Any]:
        """Compute the task metrics on held-out data and keep the report in the bundle's metrics.

        Args:
            source: data to evaluate on, in the recipe's format; None = the recipe's held-out split.
            **options: the task's scoring options (e.g. `beam_size`).

        Returns:
            The report of `score`.
        """
        # Options that choose the data (e.g. translate's --target-data) go to reading, the rest to scoring.
        reading = {key: options.pop(key) for key in self.evaluation_data_options if key in options}
        examples = self.read_evaluation_data(source, **reading)
        if not len(examples):
            raise UserError(f"there is no {self.held_out_split} data to evaluate on; pass --data FILE")
        report = self.score(examples, **options)
        self.store_evaluation(report, source, self.held_out_split, self.evaluation_variant(**options))
        self.after_evaluation(report)
        return report

    def evaluation_variant(self, **options) -> str:
        """A name for scoring options that differ from the recipe's (e.g. "beam1"); "" for the recipe's own."""
        return ""

    def after_evaluation(self, report: dict[str, Any]) -> None:  # noqa: B027  (a hook; most tasks need none)
        """Refresh bundle files that show an evaluation (e.g. a confusion matrix)."""

    def store_evaluation(self, report: dict[str, Any], source: str | None, split: str = "test",
                         variant: str = "") -> None:
        """Keep an evaluation report in the bundle's metrics (nothing without a bundle).

        `split` (e.g. "test") always means the recipe's own held-out split evaluated as the recipe says;
        other data is stored as "data:SOURCE", and a non-default decoding adds ":VARIANT" (e.g. "beam1").
        """
        if self.bundle_path is None:
            return
        key = split if not source else f"data:{source}"
        bundles.update_metrics(self.bundle_path, {f"{key}:{variant}" if variant else key: report})

    # ------------------------------------------------------------------ presentation

    def summary(self) -> str:
        """A few human-readable lines about the trained model and its held-out metrics."""
        report = self.metrics.get(self.held_out_split, {})
        return self.format_report(report) if report else f"no {self.held_out_split} scores"

    def format_report(self, report: dict[str, Any]) -> str:
        """Human-readable evaluation report."""
        return json.dumps(report, indent=2, ensure_ascii=False)

    def format_prediction(self, result: Any) -> str:
        """One human-readable line for one prediction."""
        return json.dumps(result, ensure_ascii=False)

    def format_demo(self, result: Any) -> str:
        """How `rnnapps demo` shows one prediction (default: as `predict` prints it)."""
        return self.format_prediction(result)

    def serving_usage(self, path: pathlib.Path) -> str:
        """How to call the exported SavedModel from plain TensorFlow."""
        return f"use: tf.saved_model.load('{path}').signatures['serving_default'](...)"

    def __call__(self, inputs, **options):
        if isinstance(inputs, (str, bytes)):
            return self.predict([inputs], **options)[0]
        return self.predict(list(inputs), **options)


class SearchDecodingPipeline(Pipeline):
    """A pipeline that writes its output token by token with greedy or beam search (translation,
    captioning): the recipe's `[decoding]` section gives the default beam, `--beam` another."""

    def beam_size(self, beam_size: int | None) -> int:
        """The beam width to use: `beam_size`, or the recipe's decoding.beam_size for None.

        Raises:
            UserError: outside 1..64.
        """
        beam_size = self.recipe.decoding.beam_size if beam_size is None else beam_size
        if not 1 <= beam_size <= sections.MAX_BEAM_SIZE:
            raise UserError(f"the beam size (--beam) must be between 1 and {sections.MAX_BEAM_SIZE}, got {beam_size}")
        return beam_size

    def evaluation_variant(self, beam_size: int | None = None, **options) -> str:
        return f"beam{beam_size}" if beam_size not in (None, self.recipe.decoding.beam_size) else ""


def _first_difference(old: Any, new: Any, prefix: str = "") -> str:
    """Dotted key of the first value that differs between two nested dicts ("" if none)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            found = _first_difference(old.get(key), new.get(key), f"{prefix}{key}.")
            if found:
                return found
        return ""
    return prefix.rstrip(".") if old != new else ""


def fitted_tokenizer(config: Any, texts: list[str], directory: pathlib.Path):
    """A run's tokenizer: loaded from `config.path`, or from an earlier (interrupted) run of the same
    directory so that resumed training keeps its vocabulary; otherwise fitted on `texts` (the training
    split) and saved to `directory`.

    Args:
        config: a `rnnapps.sections.TokenizerConfig`.
        texts: training-split strings.
        directory: where this run keeps the tokenizer.

    Returns:
        The tokenizer.
    """
    from rnnapps import tokenizers  # TensorFlow import; the base module stays light

    if config.path:
        return tokenizers.load(config.path)
    if (directory / "tokenizer.json").is_file():
        return tokenizers.load(directory)
    tokenizer = tokenizers.fit(texts, config)
    tokenizer.save(directory)
    return tokenizer
