"""The Task contract: what every task pipeline is, with `train` and `evaluate` written once.

A task package subclasses `Pipeline` (and `Preprocessor`) and fills in small hooks:

    read_data(recipe) -> splits              the recipe's data, split (.train/.validation/.test)
    preprocessor_cls.fit(recipe, splits, run_dir) -> Preprocessor   tokenizers fitted on the training split
    plan_training(recipe, preprocessor, splits, run_dir) -> TrainingPlan   datasets, model builder, loss
    score(examples, **options) -> report     the task metric on held-out examples
    read_evaluation_data(source, ...) -> examples  `evaluate --data SOURCE` (None: the recipe's own split)
    make_serving() -> serving module         raw input -> raw output in one graph (a tf.Module whose
                                             `signature_methods` name its SavedModel signatures)

`predict` (raw inputs -> JSON-ready results, through the serving module) and `export` (the serving module as a
SavedModel) are written once, here. `predict` has hooks with defaults: `prediction_items` (check or expand the
inputs), `prediction_function` (the serving call for one batch), `prediction_result` (one result per input),
`prediction_order` and `after_prediction`. Optional too: `finish_model`, `bundle_artifacts`, `after_evaluation`,
`evaluation_variant` and the presentation methods. See ARCHITECTURE.md.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import logging
import pathlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rnnapps import bundle as bundles
from rnnapps import config as recipes
from rnnapps import runs, serving_examples
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
    `evaluation_data_options` (the `evaluate` options that `read_evaluation_data` takes, not `score`),
    `input_types` (what `predict` accepts as one raw input) and `predict_batch_size`.
    Calling a pipeline runs `predict`: a str in gives one result, a list gives a list.
    """

    task: ClassVar[str]
    recipe_cls: ClassVar[type]
    preprocessor_cls: ClassVar[type[Preprocessor]]
    held_out_split: ClassVar[str] = "test"
    examples_name: ClassVar[str] = "examples"
    demo_inputs: ClassVar[tuple[Any, ...]] = ()
    evaluation_data_options: ClassVar[tuple[str, ...]] = ()
    input_types: ClassVar[tuple[type, ...]] = (str,)
    predict_batch_size: ClassVar[int] = 64

    def __init__(self, recipe: Any, model: Any, preprocessor: Preprocessor, bundle_path: pathlib.Path | None = None):
        self.recipe = recipe
        self.model = model
        self.preprocessor = preprocessor
        self.bundle_path = bundle_path
        self.serving = self.make_serving()

    @abc.abstractmethod
    def make_serving(self) -> Any:
        """The task's serving module: a tf.Module that holds the preprocessor's tokenizers and the model and maps
        raw input to raw output in one graph. `predict` calls it and `export` saves it; its class attribute
        `signature_methods` maps each SavedModel signature name ("serving_default" first) to the name of the
        tf.function method (with an input signature) that serves it."""

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
        return recipes.load_task_recipe(cls.recipe_cls, cls.task, path, overrides)

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

    # ------------------------------------------------------------------ training (written once)

    @classmethod
    def train(cls, recipe: Any, run_dir: str | pathlib.Path, process_group: Any = None) -> Pipeline:
        """Train on the recipe's data, resuming in `run_dir` if possible; score the held-out split and
        write `run_dir/bundle`.

        Args:
            recipe: the resolved recipe.
            run_dir: the run directory.
            process_group: this process's `rnnapps.distributed.ProcessGroup` in a multi-process run (resolved
                once where training starts, `rnnapps.backends.train`); None trains in this process alone.

        Returns:
            The trained pipeline; `pipeline.bundle_path` is `run_dir/bundle`.
        """
        from rnnapps import training

        fitted = runs.fit(cls, recipe, run_dir, process_group)
        preprocessor, splits, run_dir = fitted.preprocessor, fitted.splits, fitted.run_dir
        pipeline = cls(recipe, cls.finish_model(recipe, fitted.result.model, preprocessor), preprocessor)
        held_out = getattr(splits, cls.held_out_split)
        report = pipeline.score(held_out) if len(held_out) else {}
        if report:
            # A debug line only: the CLI prints the pipeline's summary, which starts with the same scores.
            shown = pipeline.format_report(report).splitlines()[0].removeprefix(f"{cls.held_out_split}:")
            log.debug("%s: %s", cls.held_out_split, shown.strip())
        else:
            log.info("no %s split, so no %s scores; score the model with 'rnnapps %s evaluate --bundle %s "
                     "--data FILE'", cls.held_out_split, cls.held_out_split, cls.task, run_dir)
        summary = {cls.held_out_split: report, "training": pipeline.training_summary(fitted.result, fitted.plan)}
        artifacts = {**training.history_artifacts(fitted.result, run_dir), **pipeline.bundle_artifacts(splits, report),
                     **serving_examples.bundle_artifact(lambda: pipeline.serving_examples(splits))}
        pipeline.bundle_path = bundles.save(
            run_dir / bundles.BUNDLE_DIR, task=cls.task, model=pipeline.model,
            tokenizers_by_name=preprocessor.tokenizers, recipe=recipe, metrics=summary,
            extra_metadata=preprocessor.metadata, artifacts=artifacts)
        return pipeline

    @classmethod
    def fit(cls, recipe: Any, run_dir: str | pathlib.Path, process_group: Any = None) -> Any:
        """Only the training part of `train` (same arguments): checkpoints and history in `run_dir`, no scores and
        no bundle. `train` on the same run directory afterwards finds the training finished and writes the bundle
        (`train --backend jax` fits on JAX in a child process this way; `rnnapps.backends`).

        Returns:
            The `rnnapps.training.TrainingResult`.
        """
        return runs.fit(cls, recipe, run_dir, process_group).result

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

    def serving_examples(self, splits: Any) -> dict[str, Any]:
        """A few held-out inputs for the try-it page (`rnnapps.serving_examples`): {"inputs": {input name:
        columnar JSON value of `serving_default`}, ...extras}. Default: none."""
        return {}

    # ------------------------------------------------------------------ use

    def predict(self, inputs: Sequence[Any], **options) -> list[Any]:
        """Predict raw inputs through the serving module (the graph `export` saves), `predict_batch_size` at a time.

        Args:
            inputs: raw inputs, each one of `input_types` (a task may expand them: a folder of images).
            **options: the task's prediction options (e.g. `beam_size`), handed to its prediction hooks.

        Returns:
            One JSON-ready result per (expanded) input, in input order.

        Raises:
            UserError: an input the task cannot read (names it), or an option out of range.
        """
        items = self.prediction_items(list(inputs), **options)
        run = self.prediction_function(**options)
        order = self.prediction_order(items)
        results: list[Any] = [None] * len(items)
        for start in range(0, len(order), self.predict_batch_size):
            chunk = order[start:start + self.predict_batch_size]
            outputs = {name: value.numpy() for name, value in run([items[index] for index in chunk]).items()}
            for row, index in enumerate(chunk):
                results[index] = self.prediction_result(items[index], {name: value[row] for name, value in
                                                                       outputs.items()})
        self.after_prediction(items, results, **options)
        return results

    def prediction_items(self, inputs: list[Any], **options) -> list[Any]:
        """What `predict` batches: by default the inputs themselves, each checked to be one of `input_types`."""
        expected = " or ".join("a string" if kind is str else kind.__name__ for kind in self.input_types)
        for index, item in enumerate(inputs):
            if not isinstance(item, self.input_types):
                raise UserError(f"input {index} is a {type(item).__name__}, expected {expected}")
        return inputs

    def prediction_function(self, **options) -> Callable[[list[Any]], dict[str, Any]]:
        """The serving call for one batch of items -> {output name: tensor [batch, ...]}. Default: the serving
        module's `serving_default` method on the batch as one tensor."""
        import tensorflow as tf  # the base module stays light to import

        method = getattr(self.serving, self.serving.signature_methods["serving_default"])
        return lambda batch: method(tf.constant(batch))

    def prediction_order(self, items: list[Any]) -> list[int]:
        """The order items are batched in (e.g. by length, so a batch pads little); results come back in input
        order whatever it is. Default: as given."""
        return list(range(len(items)))

    def prediction_result(self, item: Any, outputs: dict[str, Any]) -> Any:
        """One JSON-ready result from an item and its row of the serving outputs (numpy values). Default: the
        outputs, strings decoded and numbers as Python values."""
        return {name: value.decode("utf-8") if isinstance(value, bytes) else value.tolist()
                for name, value in outputs.items()}

    def after_prediction(self, items: list[Any], results: list[Any], **options) -> None:  # noqa: B027  (a hook)
        """Write what a prediction draws besides its results (e.g. `--plot-attention`). Default: nothing."""

    def export(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write the serving module as a SavedModel that maps raw input to raw output, one signature per entry
        of its `signature_methods`; returns the SavedModel directory."""
        from rnnapps import export  # TensorFlow

        signatures = {name: getattr(self.serving, method) for name, method in self.serving.signature_methods.items()}
        return export.save(self.serving, path, signatures, serving_examples.card_files(self.task, self.bundle_path))

    @abc.abstractmethod
    def score(self, examples: Any, **options) -> dict[str, Any]:
        """The task metrics of this model on held-out examples; a JSON-ready report."""

    @abc.abstractmethod
    def read_evaluation_data(self, source: str | None) -> Any:
        """Examples for `evaluate`: read from `source` (in the recipe's data format) or, for None, the
        recipe's own held-out split, exactly as at training time."""

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

    def training_outcome(self) -> str:
        """One line on which epoch's weights the bundle keeps and why training stopped (from metrics.json)."""
        facts = self.metrics.get("training", {})
        if not facts.get("best_epoch"):
            return "no training facts in this bundle"
        config = self.recipe.training
        monitor = facts.get("monitor", config.monitor)  # bundles written before it was recorded: the recipe's
        why = {"epochs": f"all {facts['epochs_completed']} epochs ran",
               "early_stopping": f"early stopping: {monitor} did not improve for {config.early_stopping_patience} "
                                 f"epochs",
               "time_limit": f"the time limit: training.max_minutes = {config.max_minutes:g}",
               "nan": "the loss became NaN"}.get(facts.get("stop_reason"), facts.get("stop_reason"))
        return (f"kept the weights of epoch {facts['best_epoch']} of {facts['epochs_completed']} (the best {monitor}); "
                f"training stopped after {why}")

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
