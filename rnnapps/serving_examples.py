"""Example inputs that travel with a model, for the try-it page of `rnnapps serve`.

Training picks a few held-out inputs (each task's `Pipeline.serving_examples`) and writes them into the bundle
as `examples.json`; `export` copies them, with the task's name, into the SavedModel as
`assets.extra/rnnapps.json` (TF Serving's own extras live in `assets.extra/` too, and it ignores the rest), so a
served SavedModel still knows them. The page offers them one click away.

A card is {"task": the task's name, "inputs": {input name: value} for the `serving_default` signature in TF
Serving's columnar JSON (batch first, binary data as {"b64": ...}), and any task extras, e.g. "columns" (a
forecast's channel names)}. Pure Python: no TensorFlow.
"""

from __future__ import annotations

import json
import logging
import pathlib
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

EXAMPLES_FILE = "examples.json"  # in a bundle
CARD_FILE = "assets.extra/rnnapps.json"  # in a SavedModel


def bundle_artifact(pick: Callable[[], dict[str, Any]]) -> dict[str, Callable[[pathlib.Path], Any]]:
    """The bundle artifact (file name -> writer) holding the examples `pick()` returns; nothing when there are
    none, or when picking them fails (a warning: examples are a convenience, never worth losing a trained model)."""
    try:
        examples = pick()
    except Exception as error:  # noqa: BLE001 - see the docstring
        log.warning("no example inputs for the try-it page: %s: %s", type(error).__name__, error)
        return {}
    if not examples:
        return {}
    return {EXAMPLES_FILE: lambda path: path.write_text(json.dumps(examples), encoding="utf-8")}


def card_files(task: str, bundle_path: pathlib.Path | None) -> dict[str, str]:
    """The SavedModel's extra files (relative path -> text): the card of a model of `task` whose bundle is
    `bundle_path` (its examples, when the bundle has them)."""
    examples = {}
    if bundle_path is not None and (bundle_path / EXAMPLES_FILE).is_file():
        try:
            examples = json.loads((bundle_path / EXAMPLES_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            log.warning("the bundle's %s is unreadable (%s): the export has no example inputs", EXAMPLES_FILE, error)
    return {CARD_FILE: json.dumps({"task": task, **examples})}


def read_card(saved_model: pathlib.Path) -> dict[str, Any]:
    """A SavedModel's card, or {} when it has none (exported elsewhere, or before cards existed)."""
    path = saved_model / CARD_FILE
    try:
        card = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError) as error:
        log.warning("%s is unreadable (%s): the try-it page shows no examples for it", path, error)
        return {}
    return card if isinstance(card, dict) else {}


def shortest(texts: list[str], count: int, min_words: int = 3) -> list[str]:
    """Up to `count` of the shortest distinct `texts` of at least `min_words` words (fewer words only when none
    have them), each on one line: short examples read at a glance, one per line of a form."""
    candidates = sorted({" ".join(text.split()) for text in texts if text.strip()}, key=len)
    long_enough = [text for text in candidates if len(text.split()) >= min_words]
    return (long_enough or candidates)[:count]


def spread(count: int, most: int) -> range:
    """At most `most` positions spread evenly over `count` items (data read class by class, or file by file,
    is sampled across all of them)."""
    return range(0, count, max(1, -(-count // most)))


def held_out(splits: Any, first: str) -> Any:
    """The split examples are taken from: `first` (the task's `held_out_split`), else validation, else train (the
    first that is not empty)."""
    for name in dict.fromkeys((first, "validation", "train")):
        split = getattr(splits, name)
        if len(split):
            return split
    return getattr(splits, first)
