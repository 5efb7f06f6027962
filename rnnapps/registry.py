"""The tasks rnnapps knows: one line per task package, each imported on first use.

A task package (`rnnapps.pipelines.<task>`) declares itself with `TASK = rnnapps.task.TaskSpec(...)` in its
`__init__.py`, which imports no TensorFlow, so `rnnapps --help` stays fast. Adding a task = one line here.
"""

from __future__ import annotations

import importlib

from rnnapps.errors import UserError
from rnnapps.task import TaskSpec

TASK_PACKAGES = (
    "rnnapps.pipelines.sentiment",
    "rnnapps.pipelines.translate",
    "rnnapps.pipelines.generate",
    "rnnapps.pipelines.caption",
    "rnnapps.pipelines.forecast",
    "rnnapps.pipelines.anomaly",
    "rnnapps.pipelines.speech",
)


def tasks() -> dict[str, TaskSpec]:
    """Every task's declaration by name, in `TASK_PACKAGES` order."""
    specs = (importlib.import_module(package).TASK for package in TASK_PACKAGES)
    return {spec.name: spec for spec in specs}


def get(name: str) -> TaskSpec:
    """The task called `name`; UserError naming the known tasks otherwise."""
    known = tasks()
    if name not in known:
        raise UserError(f"unknown task {name!r}; known tasks: {', '.join(sorted(known))}")
    return known[name]
