"""The bundle: one directory with everything needed to use a trained model again.

    bundle/
      metadata.json     task, bundle format, rnnapps/keras/tensorflow versions, creation time, extras
      recipe.toml       the resolved recipe the model was trained with
      model.keras       the Keras model (architecture + weights)
      tokenizers/NAME/  tokenizer assets (one folder per tokenizer, e.g. "text", "source", "target")
      metrics.json      evaluation results
      *.png, history.csv  pictures and the training history

A bundle is written under a temporary name and renamed into place, so a half-written bundle never
exists. Loading checks the task and the bundle format. Keras and TensorFlow are imported only to save or
load the model and tokenizers: `check` answers at once whether a path is a bundle of a task.
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
from typing import TYPE_CHECKING, Any

import rnnapps
from rnnapps import atomic
from rnnapps import config as recipes
from rnnapps.errors import UserError

if TYPE_CHECKING:
    import keras

    from rnnapps import tokenizers

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
    import keras

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
    import keras

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


def check(path: str | pathlib.Path, task: str) -> tuple[pathlib.Path, dict[str, Any]]:
    """Check that `path` (a bundle or a run directory) holds a `task` bundle this rnnapps can read, from its
    metadata alone (fast: nothing is loaded).

    Returns:
        (the bundle directory, its metadata).

    Raises:
        UserError: not a bundle, a damaged metadata.json, a bundle of another task, or of a newer format.
    """
    directory = resolve(path)
    metadata = _read_json(directory / METADATA_FILE)
    if metadata.get("task") != task:
        raise UserError(f"{directory} is a {metadata.get('task')!r} bundle, not a {task!r} bundle; "
                        f"use 'rnnapps {metadata.get('task')} ...' with it")
    if metadata.get("format_version", 0) > FORMAT_VERSION:
        raise UserError(f"{directory} was written by a newer rnnapps (bundle format "
                        f"{metadata['format_version']}); upgrade rnnapps to load it")
    return directory, metadata


def load(path: str | pathlib.Path, task: str) -> Bundle:
    """Load the bundle at `path` (a bundle or a run directory) and check it is a `task` bundle.

    Raises:
        UserError: not a bundle, a bundle of another task, or of a newer format (`check`), or incomplete.
    """
    from rnnapps import tokenizers  # TensorFlow

    directory, metadata = check(path, task)
    import rnnapps.embeddings  # noqa: F401
    import rnnapps.layers  # noqa: F401  (registers the custom layers the model file names)

    model = _load_model(directory / MODEL_FILE, metadata.get("task", task))
    tokenizer_root = directory / "tokenizers"
    loaded = _Tokenizers(tokenizer_root, {p.name: tokenizers.load(p) for p in sorted(tokenizer_root.iterdir())}
                         if tokenizer_root.is_dir() else {})
    recipe_path = directory / RECIPE_FILE
    try:
        recipe = tomllib.loads(recipe_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{recipe_path} is not valid TOML ({error}); the bundle is damaged: train again") from None
    metrics_path = directory / METRICS_FILE
    metrics = _read_json(metrics_path) if metrics_path.is_file() else {}
    return Bundle(directory, metadata, recipe, model, loaded, metrics)


class _Tokenizers(dict):
    """A bundle's tokenizers by name; asking for one the bundle lacks is a UserError naming its folder."""

    def __init__(self, root: pathlib.Path, found: dict[str, tokenizers.Tokenizer]):
        super().__init__(found)
        self.root = root

    def __missing__(self, name: str):
        raise UserError(f"{self.root / name} is missing: the bundle is incomplete (copy its whole folder, or "
                        "train again)")


def _read_json(path: pathlib.Path) -> dict[str, Any]:
    """A bundle's JSON file; a damaged one is a UserError naming it."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not valid JSON ({error}); the bundle is damaged: train again") from None
    if not isinstance(value, dict):
        raise UserError(f"{path} should hold a JSON object; the bundle is damaged: train again")
    return value


def _load_model(path: pathlib.Path, task: str) -> keras.Model:
    """The bundle's Keras model; UserError saying the file is missing or unreadable, and how to rebuild it.

    Keras answers a truncated or corrupt .keras file with "File not found", although the file is there.
    """
    import keras
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
