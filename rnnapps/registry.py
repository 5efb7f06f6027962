"""Task name -> pipeline class. Filled by explicit `register` calls in `rnnapps.pipelines`.

Pipelines are named by import path and imported on first use, so `rnnapps --help` does not pay for
importing TensorFlow.
"""

from __future__ import annotations

import dataclasses
import importlib

from rnnapps.errors import UserError


@dataclasses.dataclass(frozen=True)
class TaskEntry:
    """A registered task: its name, one-line summary, pipeline import path, demo recipe, the name of its
    inference command ("predict" maps inputs to outputs; "sample" generates from prompts), and what its
    inputs are (for `predict --help`)."""

    name: str
    summary: str
    pipeline_path: str
    demo_recipe: str = ""
    use_command: str = "predict"
    inputs: str = "texts"

    def pipeline_class(self):
        """Import and return the pipeline class."""
        module_name, _, class_name = self.pipeline_path.partition(":")
        return getattr(importlib.import_module(module_name), class_name)


_TASKS: dict[str, TaskEntry] = {}


def register(name: str, summary: str, pipeline_path: str, demo_recipe: str = "", use_command: str = "predict",
             inputs: str = "texts") -> None:
    """Register a task; `pipeline_path` is "module:Class", `demo_recipe` a file name under tasks/,
    `use_command` "predict" or "sample", `inputs` what predict takes ("texts", "image files or folders")."""
    _TASKS[name] = TaskEntry(name, summary, pipeline_path, demo_recipe, use_command, inputs)


def tasks() -> dict[str, TaskEntry]:
    """All registered tasks by name."""
    import rnnapps.pipelines  # noqa: F401  (its imports register the tasks)

    return dict(_TASKS)


def get(name: str) -> TaskEntry:
    """The task called `name`; UserError naming the known tasks otherwise."""
    known = tasks()
    if name not in known:
        raise UserError(f"unknown task {name!r}; known tasks: {', '.join(sorted(known))}")
    return known[name]
