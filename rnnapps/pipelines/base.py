"""Pipeline: what every task has in common. It owns a recipe, its preprocessing and its model, and
knows how to train, evaluate, predict, export and come back from a bundle."""

from __future__ import annotations

import abc
import json
import pathlib
import tomllib
from collections.abc import Sequence
from typing import Any, ClassVar

from rnnapps import bundle as bundles
from rnnapps import config as recipes
from rnnapps.errors import UserError


class Pipeline(abc.ABC):
    """Base class of the task pipelines.

    Subclasses set `task`, `recipe_cls`, and implement `train`, `from_bundle`, `predict`,
    `evaluate` and `export`. Calling a pipeline runs `predict`: a str in gives one result, a list of
    str gives a list.
    """

    task: ClassVar[str]
    recipe_cls: ClassVar[type]
    demo_inputs: ClassVar[tuple[Any, ...]] = ()

    def __init__(self, recipe: Any, bundle_path: pathlib.Path | None = None):
        self.recipe = recipe
        self.bundle_path = bundle_path

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
        return recipes.from_dict(cls.recipe_cls, loaded.recipe, where=str(loaded.path / bundles.RECIPE_FILE))

    @staticmethod
    def start_run(recipe: Any, run_dir: str | pathlib.Path) -> pathlib.Path:
        """Write the resolved recipe into `run_dir`, refusing to resume a run made with another recipe.

        Raises:
            UserError: `run_dir` holds checkpoints of a different recipe (names the first difference).
        """
        run_dir = pathlib.Path(run_dir)
        saved = run_dir / bundles.RECIPE_FILE
        if saved.is_file():
            previous = tomllib.loads(saved.read_text(encoding="utf-8"))
            difference = _first_difference(previous, recipes.recipe_to_dict(recipe))
            if difference:
                raise UserError(f"{run_dir} holds a run of a different recipe ({difference} changed); "
                                "delete it (the CLI's --fresh does) or choose another run directory")
        recipes.save_recipe(recipe, saved)
        return run_dir

    @classmethod
    @abc.abstractmethod
    def train(cls, recipe: Any, run_dir: str | pathlib.Path) -> Pipeline:
        """Train on the recipe's data, resuming in `run_dir` if possible; write `run_dir/bundle`."""

    @classmethod
    @abc.abstractmethod
    def from_bundle(cls, path: str | pathlib.Path) -> Pipeline:
        """Load a trained pipeline from a bundle (or a run directory holding one)."""

    @abc.abstractmethod
    def predict(self, inputs: list[Any], **options) -> list[Any]:
        """Predict a list of raw inputs; returns one JSON-ready result per input."""

    @abc.abstractmethod
    def evaluate(self, **options) -> dict[str, Any]:
        """Compute the task metrics on held-out data; returns a JSON-ready dict."""

    @abc.abstractmethod
    def export(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write a SavedModel that maps raw input to raw output."""

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

    def summary(self) -> str:
        """A few human-readable lines about the trained model and its test metrics."""
        return f"{self.task} bundle at {self.bundle_path}"

    def format_report(self, report: dict[str, Any]) -> str:
        """Human-readable evaluation report."""
        return json.dumps(report, indent=2, ensure_ascii=False)

    def format_prediction(self, result: Any) -> str:
        """One human-readable line for one prediction."""
        return json.dumps(result, ensure_ascii=False)

    def serving_usage(self, path: pathlib.Path) -> str:
        """How to call the exported SavedModel from plain TensorFlow."""
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default'](...)")

    def __call__(self, inputs, **options):
        if isinstance(inputs, (str, bytes)):
            return self.predict([inputs], **options)[0]
        return self.predict(list(inputs), **options)


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
        config: a `rnnapps.config.TokenizerConfig`.
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
