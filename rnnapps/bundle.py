"""The bundle: one directory with everything needed to use a trained model again.

    bundle/
      metadata.json     task, bundle format, rnnapps/keras/tensorflow versions, creation time, extras
      recipe.toml       the resolved recipe the model was trained with
      model.keras       the Keras model (architecture + weights)
      tokenizers/NAME/  tokenizer assets (one folder per tokenizer, e.g. "text", "source", "target")
      metrics.json      evaluation results
      *.png, history.csv  pictures and the training history

A bundle is written under a temporary name and renamed into place, so a half-written bundle never
exists. Loading checks the task and the bundle format.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import pathlib
import tomllib
import zipfile
from collections.abc import Callable
from typing import Any

import keras

import rnnapps
from rnnapps import atomic, tokenizers
from rnnapps import config as recipes
from rnnapps.errors import UserError

FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"
MODEL_FILE = "model.keras"
RECIPE_FILE = "recipe.toml"
METRICS_FILE = "metrics.json"
BUNDLE_DIR = "bundle"


@dataclasses.dataclass
class Bundle:
    """A loaded bundle.

    Attributes:
        path: the bundle directory.
        metadata: metadata.json contents (task, versions, task extras such as label names).
        recipe: the resolved recipe as nested dicts.
        model: the Keras model.
        tokenizers: name -> tokenizer.
        metrics: metrics.json contents ({} if never evaluated).
    """

    path: pathlib.Path
    metadata: dict[str, Any]
    recipe: dict[str, Any]
    model: keras.Model
    tokenizers: dict[str, tokenizers.Tokenizer]
    metrics: dict[str, Any]


def resolve(path: str | pathlib.Path) -> pathlib.Path:
    """The bundle directory for `path`: the path itself, or its `bundle/` sub-folder (a run directory)."""
    path = pathlib.Path(path)
    if (path / METADATA_FILE).is_file():
        return path
    if (path / BUNDLE_DIR / METADATA_FILE).is_file():
        return path / BUNDLE_DIR
    raise UserError(f"{path} is not a bundle (no {METADATA_FILE}); train one with 'rnnapps TASK train --out DIR'")


def save(
    directory: str | pathlib.Path,
    *,
    task: str,
    model: keras.Model,
    tokenizers_by_name: dict[str, tokenizers.Tokenizer],
    recipe: Any,
    metrics: dict[str, Any] | None = None,
    extra_metadata: dict[str, Any] | None = None,
    artifacts: dict[str, Callable[[pathlib.Path], Any]] | None = None,
) -> pathlib.Path:
    """Write a bundle atomically, replacing any bundle already at `directory`.

    Args:
        directory: the bundle directory to create.
        task: task name checked on load ("sentiment", ...).
        model: the trained Keras model.
        tokenizers_by_name: tokenizers to store, e.g. {"text": tokenizer}.
        recipe: the resolved recipe dataclass.
        metrics: evaluation results for metrics.json.
        extra_metadata: task facts needed at inference time (e.g. label names).
        artifacts: file name -> function writing that file (plots, history), given its path.

    Returns:
        The bundle directory.
    """
    def write(tmp: pathlib.Path) -> None:
        tmp.mkdir()
        metadata = {
            "task": task,
            "format_version": FORMAT_VERSION,
            "rnnapps_version": rnnapps.__version__,
            "keras_version": keras.__version__,
            "keras_backend": keras.backend.backend(),
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            **(extra_metadata or {}),
        }
        with _uncompiled(model):
            model.save(tmp / MODEL_FILE)
        for name, tokenizer in tokenizers_by_name.items():
            tokenizer.save(tmp / "tokenizers" / name)
        recipes.save_recipe(recipe, tmp / RECIPE_FILE)
        atomic.write_json(tmp / METRICS_FILE, metrics or {})
        for name, write_artifact in (artifacts or {}).items():
            write_artifact(tmp / name)
        atomic.write_json(tmp / METADATA_FILE, metadata)  # last: its presence marks a complete bundle

    return atomic.write_directory(directory, write)


@contextlib.contextmanager
def _uncompiled(model: keras.Model):
    """Let `model` and every model nested in it save without their compile configs.

    A bundle is an inference artifact, loaded with compile=False; but Keras writes the compile config
    (loss, metrics) of every compiled model it serializes, nested ones included, and a task's loss closure
    cannot be deserialized again (a decoder trained on its own, then put behind an image encoder).
    """
    models, pending = [], [model]
    while pending:
        layer = pending.pop()
        if isinstance(layer, keras.Model):
            models.append(layer)
            pending.extend(layer.layers)
    compiled = [m for m in models if getattr(m, "compiled", False)]
    for m in compiled:
        m.compiled = False
    try:
        yield
    finally:
        for m in compiled:
            m.compiled = True


def load(path: str | pathlib.Path, task: str) -> Bundle:
    """Load the bundle at `path` (a bundle or a run directory) and check it is a `task` bundle.

    Raises:
        UserError: not a bundle, a bundle of another task, or of a newer format.
    """
    directory = resolve(path)
    metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    if metadata.get("task") != task:
        raise UserError(f"{directory} is a {metadata.get('task')!r} bundle, not a {task!r} bundle; "
                        f"use 'rnnapps {metadata.get('task')} ...' with it")
    if metadata.get("format_version", 0) > FORMAT_VERSION:
        raise UserError(f"{directory} was written by a newer rnnapps (bundle format "
                        f"{metadata['format_version']}); upgrade rnnapps to load it")
    import rnnapps.embeddings  # noqa: F401
    import rnnapps.layers  # noqa: F401  (registers the custom layers the model file names)

    model = _load_model(directory / MODEL_FILE, metadata.get("task", task))
    tokenizer_root = directory / "tokenizers"
    loaded = {p.name: tokenizers.load(p) for p in sorted(tokenizer_root.iterdir())} if tokenizer_root.is_dir() else {}
    recipe = tomllib.loads((directory / RECIPE_FILE).read_text(encoding="utf-8"))
    metrics_path = directory / METRICS_FILE
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    return Bundle(directory, metadata, recipe, model, loaded, metrics)


def _load_model(path: pathlib.Path, task: str) -> keras.Model:
    """The bundle's Keras model; UserError saying the file is missing or unreadable, and how to rebuild it.

    Keras answers a truncated or corrupt .keras file with "File not found", although the file is there.
    """
    if not path.is_file():
        raise UserError(f"{path} is missing: the bundle is incomplete; rebuild it with 'rnnapps {task} train' on its "
                        "run directory (finished epochs are kept)")
    try:
        return keras.saving.load_model(path, compile=False)
    except (ValueError, OSError, zipfile.BadZipFile, KeyError) as error:
        if not zipfile.is_zipfile(path):
            raise UserError(f"{path} is unreadable: it is not a complete .keras file (truncated or corrupt, "
                            f"{path.stat().st_size} bytes); rebuild the bundle with 'rnnapps {task} train' on its run "
                            "directory (finished epochs are kept)") from None
        raise UserError(f"{path} cannot be loaded: {str(error).splitlines()[0]}") from None


def update_metrics(directory: str | pathlib.Path, metrics: dict[str, Any]) -> None:
    """Merge `metrics` into the bundle's metrics.json (atomically)."""
    path = resolve(directory) / METRICS_FILE
    current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    atomic.write_json(path, {**current, **metrics})
