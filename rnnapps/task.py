"""What a task declares about itself: its name, summary, pipeline class, demo recipe and the commands and
options it adds to the CLI. Light on purpose (no TensorFlow): `rnnapps --help` reads every task's
declaration without importing a pipeline.

Each task package defines `TASK = task.TaskSpec(...)` in its `__init__.py`; `rnnapps.registry` lists the
packages, and `rnnapps.cli` builds one command group per declaration.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable

import click

OptionsFactory = Callable[[], list[click.Parameter]]


def _no_options() -> list[click.Parameter]:
    return []


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """A task as the CLI and the registry see it.

    Attributes:
        name: the command group name ("sentiment").
        summary: one line for `rnnapps --help`.
        pipeline: "module:Class" of the task's `Pipeline` subclass, imported on first use; by default
            "rnnapps.pipelines.NAME.pipeline:NamePipeline" (the layout of ARCHITECTURE.md).
        recipe: "module:Class" of the task's recipe dataclass, by default
            "rnnapps.pipelines.NAME.recipe:NameRecipe"; its module imports no TensorFlow, so that a command reads
            and checks a recipe (and refuses a bad one) before anything slow is imported.
        demo_recipe: the file under tasks/ that `rnnapps demo` trains (default "NAME-demo.toml"; "" = no demo).
        use_name: the inference command's name ("predict"; anomaly's "detect"); with another name, "predict"
            still answers, hidden from the help.
        use_aliases: other names the inference command answers to, hidden from the help (generate's "sample", its
            name before every task's was `predict`).
        use_help: the inference command's help text.
        inputs: what the positional INPUTS are (e.g. "texts"); None: the command takes none and reads its
            inputs from the option named by `inputs_option`.
        inputs_option: with `inputs` None, the keyword of the option that holds the inputs (e.g. "prompts").
        default_inputs: inputs used when that option is not given (e.g. one empty prompt).
        use_options: makes the extra click options of the inference command (fresh objects per call).
        evaluate_options: makes the extra click options of `evaluate`.
        pretrains: the task has a `[pretraining]` recipe section and a `pretrain` command
            (`Pipeline.pretrain`).
    """

    name: str
    summary: str
    pipeline: str = ""
    recipe: str = ""
    demo_recipe: str | None = None
    use_name: str = "predict"
    use_aliases: tuple[str, ...] = ()
    use_help: str = ""
    inputs: str | None = "texts"
    inputs_option: str = ""
    default_inputs: tuple = ()
    use_options: OptionsFactory = _no_options
    evaluate_options: OptionsFactory = _no_options
    pretrains: bool = False

    def __post_init__(self):
        # Frozen: the conventional defaults are filled in through object.__setattr__.
        if not self.pipeline:
            object.__setattr__(self, "pipeline", f"rnnapps.pipelines.{self.name}.pipeline:{self.name.title()}Pipeline")
        if not self.recipe:
            object.__setattr__(self, "recipe", f"rnnapps.pipelines.{self.name}.recipe:{self.name.title()}Recipe")
        if self.demo_recipe is None:
            object.__setattr__(self, "demo_recipe", f"{self.name}-demo.toml")

    def pipeline_class(self):
        """Import and return the task's pipeline class."""
        return _imported(self.pipeline)

    def recipe_class(self):
        """Import and return the task's recipe dataclass (no TensorFlow)."""
        return _imported(self.recipe)

    def module_getattr(self) -> Callable[[str], type]:
        """A module `__getattr__` for the task package that hands out the pipeline class on first use
        (`from rnnapps.pipelines.translate import TranslatePipeline`), so that reading `TASK` imports no
        TensorFlow."""
        class_name = self.pipeline.partition(":")[2]
        package = self.pipeline.partition(":")[0].rpartition(".")[0]

        def module_getattr(name: str):
            if name == class_name:
                return self.pipeline_class()
            raise AttributeError(f"module {package!r} has no attribute {name!r}")

        return module_getattr


def _imported(location: str):
    """The object a "module:Name" string names, its module imported."""
    module_name, _, name = location.partition(":")
    return getattr(importlib.import_module(module_name), name)


# --------------------------------------------------------------------------- options several tasks share


def beam_option() -> click.Option:
    """`--beam N`: the beam width of a task that decodes with beam search."""
    return click.Option(["--beam", "beam_size"], type=int, default=None,
                        help="Beam width (1 = greedy; default: the recipe's decoding.beam_size).")


def plot_attention_option(what: str) -> click.Option:
    """`--plot-attention PNG`: write an attention picture; `what` says what it shows."""
    return click.Option(["--plot-attention"], type=click.Path(dir_okay=False), help=f"Write {what} to this PNG.")


def search_decoding_options(attention_picture: str) -> tuple[OptionsFactory, OptionsFactory]:
    """The options of a task that decodes with greedy or beam search: (`predict` options: --beam and
    --plot-attention, which writes `attention_picture`; `evaluate` options: --beam)."""
    return (lambda: [beam_option(), plot_attention_option(attention_picture)]), (lambda: [beam_option()])
