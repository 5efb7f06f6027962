"""The `rnnapps` command: one group per registered task (train, evaluate, predict, export) and `demo`.

Thin by design: parse, call the pipeline, print. Bad input (a `UserError`/`ValueError`, a missing
file) prints one line `error: ...` and exits with code 2; set RNNAPPS_DEBUG=1 for the traceback.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import shutil
import sys
import warnings

import click

import rnnapps
from rnnapps import backends, quiet_stderr, recipe_files, registry, task
from rnnapps import bundle as bundles
from rnnapps import launch as launching
from rnnapps.errors import UserError
from rnnapps.server.command import serve

# Quiet TensorFlow's C++ start-up chatter unless the user asked for it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
USER_BACKEND = backends.settle_process_backend(sys.argv)

TASKS_DIR = recipe_files.BUILTIN_DIR  # the built-in recipes (tasks/ in a checkout)
EXIT_BAD_INPUT = 2
QUIET_FLAGS = ("-q", "--quiet")
EXIT_INTERRUPTED = 130


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="rnnapps: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("rnnapps").setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in ("absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    logging.getLogger("jax").setLevel(logging.WARNING)  # its INFO: "Unable to initialize backend 'tpu'", ...
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, OSError) and error.filename:
        text = f"{error.strerror or text}: {error.filename}"
    return text.splitlines()[0] if len(text.splitlines()) == 1 else " ".join(line.strip() for line in text.splitlines())


class _FriendlyGroup(click.Group):
    """A click group that turns bad-input exceptions into one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted; run the same command again to resume from the last finished epoch", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (UserError, ValueError, OSError) as error:
            if os.environ.get("RNNAPPS_DEBUG"):
                raise
            click.echo(f"error: {_one_line(error)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=_FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(rnnapps.__version__, prog_name="rnnapps")
@click.option("-q", "--quiet", is_flag=True, help="Only print results and errors, no progress messages.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool) -> None:
    """Recurrent-network applications (text, images, time series): train on your data, predict, export a
    SavedModel, serve it.

    \b
    Quick start:
      rnnapps demo                                  # every task's demo, on generated toy data
      rnnapps TASK train --recipe RECIPE.toml --out runs/NAME
      rnnapps TASK predict INPUT ... --bundle runs/NAME
      rnnapps TASK export --bundle runs/NAME --out runs/NAME/saved_model
      rnnapps serve --model NAME=runs/NAME/saved_model  # TF Serving's REST API on :8501

    Recipes are TOML files, or the name of a built-in one ('rnnapps recipes' lists them); override any field
    with --set section.key=value.
    """
    _setup_logging(verbose=not quiet)


# --------------------------------------------------------------------------- shared options


def _recipe_options(function):
    function = click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                            help="Override a recipe field (repeatable), e.g. --set encoder.units=128.")(function)
    function = click.option("--recipe", metavar="FILE|NAME",
                            help="Recipe TOML file, or a built-in recipe's name such as sentiment-imdb ('rnnapps "
                                 "recipes' lists them; default: the task's built-in defaults). Relative data paths "
                                 "in a recipe are read from the current directory.")(function)
    return function


def _bundle_option(function):
    return click.option("--bundle", required=True, type=click.Path(path_type=pathlib.Path),
                        help="A bundle directory, or the run directory of 'train --out'.")(function)


def _json_option(function):
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(function)


def _with_options(make_options):
    """Add the click options a task declares (`rnnapps.task.TaskSpec`) to a command."""

    def decorate(command: click.Command) -> click.Command:
        command.params.extend(make_options())
        return command

    return decorate


def _read_inputs(texts: tuple[str, ...], file: pathlib.Path | None) -> list[str]:
    """Inputs from arguments, a file (one per line) or standard input (one per line)."""
    if texts and file:
        raise UserError("give inputs as arguments or with --file, not both")
    if texts:
        return list(texts)
    if file is not None:
        from rnnapps.datasets import files

        found = [line for _, line in files.read_lines(files.existing_path(str(file), "--file")) if line.strip()]
        if not found:
            raise UserError(f"--file {file}: nothing to predict, the file has no line with text (one input per line)")
        return found
    if sys.stdin is None or sys.stdin.isatty():
        raise UserError("nothing to predict: give inputs as arguments, with --file, or one per line on stdin")
    found = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
    if not found:
        raise UserError("nothing to predict: standard input had no line with text (one input per line)")
    return found


def _print_json(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------- task commands


def task_group(entry: task.TaskSpec) -> click.Group:
    """The command group of one task declaration: train (and pretrain), evaluate, predict (and its aliases) and
    export, with the options the task declares."""
    group = _FriendlyGroup(name=entry.name, help=entry.summary)
    group.add_command(_train_command(entry))
    if entry.pretrains:
        group.add_command(_pretrain_command(entry))
    group.add_command(_evaluate_command(entry))
    group.add_command(_use_command(entry, name=entry.use_name))
    for alias in {*entry.use_aliases, "predict"} - {entry.use_name}:
        group.add_command(_use_command(entry, name=alias, hidden=True))
    group.add_command(_export_command(entry))
    return group


def _train_command(entry: task.TaskSpec) -> click.Command:
    """`TASK train`: the recipe resolved, the training policy left to `rnnapps.backends.train`, the result printed."""

    @click.command()
    @_recipe_options
    @click.option("--out", type=click.Path(file_okay=False, path_type=pathlib.Path),
                  help="Run directory (default runs/RECIPE-NAME); its bundle/ holds the trained model.")
    @click.option("--fresh", is_flag=True, help="Delete the run directory first instead of resuming it.")
    @click.option("--backend", type=click.Choice(backends.BACKENDS),
                  default=USER_BACKEND if USER_BACKEND in backends.BACKENDS else "tensorflow", show_default=True,
                  help="Keras backend that trains the model (jax trains in a child process; the default is "
                       "KERAS_BACKEND if set). The bundle, and evaluate, predict and export on it, are the same "
                       "either way.")
    @click.option(backends.FIT_ONLY_FLAG, "fit_only", is_flag=True, hidden=True,
                  help="Train only: no scores, no bundle (--backend's child process).")
    def train(recipe: str | None, overrides: tuple[str, ...], out: pathlib.Path | None, fresh: bool, backend: str,
              fit_only: bool) -> None:
        """Train a model from a recipe; resumes an interrupted run in the same --out."""
        pipeline_cls, resolved, out = _prepare_run(entry, recipe, overrides, out, fresh)
        quiet = ["--quiet"] if click.get_current_context().find_root().params.get("quiet") else []
        command = [*quiet, entry.name, "train", *(["--recipe", recipe] if recipe else []),
                   *(f"--set={item}" for item in overrides), "--out", str(out), "--backend", backend]
        pipeline = backends.train(pipeline_cls, resolved, out, backend=backend, command=command, fit_only=fit_only)
        if pipeline is None:
            return
        click.echo(f"bundle written to {pipeline.bundle_path}")
        click.echo(pipeline.summary())
        click.echo(pipeline.training_outcome())
        click.echo(f"next: rnnapps {entry.name} {entry.use_name} ... --bundle {out}")

    return train


def _pretrain_command(entry: task.TaskSpec) -> click.Command:
    """`TASK pretrain` of a task that pretrains its encoder (`TaskSpec.pretrains`)."""

    @click.command()
    @_recipe_options
    @click.option("--out", type=click.Path(file_okay=False, path_type=pathlib.Path),
                  help="Pretraining run directory (default runs/RECIPE-NAME-pretrained); its bundle/ holds the "
                       "pretrained encoder.")
    @click.option("--fresh", is_flag=True, help="Delete the run directory first instead of resuming it.")
    def pretrain(recipe: str | None, overrides: tuple[str, ...], out: pathlib.Path | None, fresh: bool) -> None:
        """Pretrain the embedding and encoder as a language model on the recipe's [pretraining] text, once,
        for any number of trainings: 'train --set pretraining.path=OUT' starts from it. Resumes an
        interrupted run in the same --out. ('train' alone also pretrains first when the recipe's
        pretraining.source is set.)"""
        pipeline_cls, resolved, out = _prepare_run(entry, recipe, overrides, out, fresh, suffix="-pretrained")
        encoder = pipeline_cls.pretrain(resolved, out)
        click.echo(f"pretrained encoder written to {encoder.path}")
        click.echo(f"next: rnnapps {entry.name} train --recipe ... --set pretraining.path='\"{out}\"'")

    return pretrain


def _evaluate_command(entry: task.TaskSpec) -> click.Command:
    """`TASK evaluate`, with the evaluation options the task declares."""

    @_with_options(entry.evaluate_options)
    @click.command()
    @_bundle_option
    @click.option("--data", "source", help="Data to evaluate on, in the recipe's format (default: its test split).")
    @_json_option
    def evaluate(bundle: pathlib.Path, source: str | None, as_json: bool, **options) -> None:
        """Compute the task's metrics on held-out data and store them in the bundle."""
        pipeline = _load_pipeline(entry, bundle)
        report = pipeline.evaluate(source=source, **options)
        if as_json:
            _print_json(report)
        else:
            click.echo(pipeline.format_report(report))

    return evaluate


def _export_command(entry: task.TaskSpec) -> click.Command:
    """`TASK export`: the bundle's serving module as a SavedModel."""

    @click.command()
    @_bundle_option
    @click.option("--out", required=True, type=click.Path(file_okay=False, path_type=pathlib.Path),
                  help="SavedModel directory to write (replaced if it exists).")
    def export(bundle: pathlib.Path, out: pathlib.Path) -> None:
        """Export a TensorFlow SavedModel that takes raw input and returns raw output."""
        pipeline = _load_pipeline(entry, bundle)
        path = pipeline.export(out)
        click.echo(f"SavedModel written to {path}")
        click.echo(pipeline.serving_usage(path))

    return export


def _prepare_run(entry: task.TaskSpec, recipe: str | None, overrides: tuple[str, ...], out: pathlib.Path | None,
                 fresh: bool, suffix: str = ""):
    """(pipeline class, resolved recipe, run directory) of a training command; --fresh empties the directory.
    The recipe is read and checked before TensorFlow starts, so a mistake in it is answered at once."""
    from rnnapps import config

    path = recipe_files.resolve(recipe) if recipe else None
    resolved = config.load_task_recipe(entry.recipe_class(), entry.name, path, overrides)
    out = out or pathlib.Path("runs") / ((path.stem if path else f"{entry.name}-defaults") + suffix)
    if fresh and out.exists():
        shutil.rmtree(out)
    quiet_stderr.start_tensorflow()
    return entry.pipeline_class(), resolved, out


def _load_pipeline(entry: task.TaskSpec, bundle: pathlib.Path):
    """The task's pipeline from a bundle; whether it is one is checked before TensorFlow starts."""
    bundles.check(bundle, entry.name)
    quiet_stderr.start_tensorflow()
    return entry.pipeline_class().from_bundle(bundle)


def _print_results(pipeline, results: list, as_json: bool) -> None:
    if as_json:
        _print_json(results)
    else:
        for result in results:
            click.echo(pipeline.format_prediction(result))


def _use_command(entry: task.TaskSpec, name: str = "predict", hidden: bool = False) -> click.Command:
    """The task's inference command `predict` (or one of its aliases, `hidden` from the help): inputs -> outputs.

    Inputs are positional arguments, --file or standard input, one per line; a task whose inputs are
    an option (a prompt, say) declares that option instead (`TaskSpec.inputs_option`)."""

    def use(bundle: pathlib.Path, as_json: bool, inputs: tuple[str, ...] = (), file: pathlib.Path | None = None,
            **options) -> None:
        if entry.inputs is None:
            items = list(options.pop(entry.inputs_option)) or list(entry.default_inputs)
        else:
            items = _read_inputs(inputs, file)
        pipeline = _load_pipeline(entry, bundle)
        _print_results(pipeline, pipeline.predict(items, **options), as_json)

    help_text = entry.use_help or (f"Predict INPUTS, {entry.inputs} (arguments, --file, or one per line on stdin).")
    command = click.command(name=name, help=help_text, hidden=hidden)(use)
    if entry.inputs is not None:
        command = click.option("--file", type=click.Path(path_type=pathlib.Path),
                               help="Read inputs from a file, one per line.")(command)
    command = _json_option(_bundle_option(command))
    if entry.inputs is not None:
        command = click.argument("inputs", nargs=-1)(command)
    return _with_options(entry.use_options)(command)


for _entry in registry.tasks().values():
    cli.add_command(task_group(_entry))


@cli.command()
@click.option("--task", "task_names", multiple=True, help="Run only this task's demo (repeatable).")
@click.option("--out", default="runs/demo", show_default=True, type=click.Path(file_okay=False, path_type=pathlib.Path),
              help="Where the demo runs, bundles and SavedModels go.")
def demo(task_names: tuple[str, ...], out: pathlib.Path) -> None:
    """Train every task's demo recipe on generated toy data, predict, evaluate and export.

    Demo data is generated by rnnapps itself and documented as toy data; it trains in seconds.
    """
    entries = [registry.get(name) for name in task_names] or list(registry.tasks().values())
    quiet_stderr.start_tensorflow()
    for entry in entries:
        if not entry.demo_recipe:
            continue
        recipe_path = recipe_files.demo_recipe(entry.demo_recipe)
        click.echo(f"== {entry.name}: training {recipe_path.name} on generated toy data")
        pipeline_cls = entry.pipeline_class()
        run_dir = out / entry.name
        shutil.rmtree(run_dir, ignore_errors=True)
        pipeline = pipeline_cls.train(pipeline_cls.load_recipe(recipe_path), run_dir)
        click.echo(pipeline.summary())
        click.echo(pipeline.training_outcome())
        click.echo("-- predictions")
        for result in pipeline.predict(list(pipeline.demo_inputs)):
            click.echo(pipeline.format_demo(result))
        saved = pipeline.export(run_dir / "saved_model")
        click.echo(f"-- SavedModel written to {saved}; bundle in {pipeline.bundle_path}")


cli.add_command(serve)


@cli.command()
@_json_option
def recipes(as_json: bool) -> None:
    """List the built-in recipes: the name --recipe accepts, the task and what it trains."""
    found = recipe_files.builtin()
    if as_json:
        _print_json([{"name": r.name, "task": r.task, "path": str(r.path), "summary": r.summary} for r in found])
        return
    width = max(len(r.name) for r in found)
    for entry in found:
        click.echo(f"{entry.name:<{width}}  {entry.task:<9}  {entry.summary}")
    click.echo(f"\nfiles in {recipe_files.BUILTIN_DIR}; use: rnnapps TASK train --recipe NAME [--set KEY=VALUE]; "
               "relative data paths in a recipe are read from the current directory")


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--processes", "-n", type=int, default=2, show_default=True, help="Training processes to start.")
@click.option("--port", type=int, help="The coordinator's port on 127.0.0.1 (default: a free one).")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def launch(processes: int, port: int | None, command: tuple[str, ...]) -> None:
    """Run a training command as several data-parallel processes on this machine, the way a cluster launcher
    runs one per machine: each gets RNNAPPS_COORDINATOR, RNNAPPS_NUM_PROCESSES and RNNAPPS_PROCESS_ID. If one
    fails or is killed the others are stopped; the same command again resumes them all.

    \b
      rnnapps launch --processes 2 -- rnnapps TASK train --recipe RECIPE --out DIR --backend jax
    """
    sys.exit(launching.launch(list(command), processes, port))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=quiet_first(sys.argv[1:] if argv is None else argv), prog_name="rnnapps")


def quiet_first(argv: list[str]) -> list[str]:
    """The command line with -q/--quiet moved in front of the command, so that it works wherever it is written
    (`rnnapps TASK predict -q ...`); what follows `--` is left alone."""
    end = argv.index("--") if "--" in argv else len(argv)
    quiet = [arg for arg in argv[:end] if arg in QUIET_FLAGS]
    return quiet[:1] + [arg for arg in argv[:end] if arg not in QUIET_FLAGS] + argv[end:]


if __name__ == "__main__":
    main()
