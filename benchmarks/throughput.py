"""Training throughput of each task's pipeline against its own model's raw train-step speed, and where the
difference goes.

For every recipe (default: the real-data recipe of each task) this reads and prepares the data exactly as
`rnnapps TASK train` does (`Pipeline.read_data`, the preprocessor, `plan_training`), builds and compiles the
recipe's model the way the shared trainer does, and measures in one process:

  * pipeline: a pass of `model.fit` over the training batches (the first --batches of them; all by default),
    validation excluded. Units are real (unpadded) tokens of the target sequence (translate, generate,
    caption), of the input sequence (sentiment), or windows (forecast).
  * raw: `model.train_on_batch` on one dense batch of the recipe's batch size, every sequence as long as the
    pass's mean real length (its ids drawn from the real batch's ids), no padding, after warm-up: the model's
    own speed with nothing else in the way.
  * passes and raw blocks take turns (--rounds); the first pass also traces and is left out of the ratio.
  * breakdown: the padding fraction of the pass, the input pipeline alone (the same batches iterated without
    the model), the distinct batch shapes (each can trace the train function), the first pass's extra seconds
    over the later ones, and one validation pass.

The headline ratio is a later pass's real units/s over the raw units/s timed right after it (median over the
passes after the first). Prints a table, writes JSON and with --record appends the run to benchmarks/RESULTS.md.
Run it on a quiet machine: it times everything.

    python benchmarks/throughput.py --record
    python benchmarks/throughput.py --recipe tasks/sentiment-imdb.toml --batches 200
    KERAS_BACKEND=jax python benchmarks/throughput.py --record    # the same on JAX (tf.data still feeds it)
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import logging
import os
import pathlib
import statistics
import tempfile
import time
import tomllib
import warnings

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import reporting  # noqa: E402  (benchmarks/reporting.py, beside this script)
import tensorflow as tf  # noqa: E402

from rnnapps import recipe_files, registry, training  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
log = logging.getLogger("benchmarks.throughput")
REAL_RECIPES = ("sentiment-imdb.toml", "translate-spa-en.toml", "generate-shakespeare.toml", "caption-scenes.toml",
                "forecast-ett.toml")
RAW_STEPS = 20


@dataclasses.dataclass
class PassFacts:
    """What one pass over a list of batches held: real and padded units, examples and batch shapes."""

    batches: int = 0
    real: int = 0
    padded: int = 0
    examples: int = 0
    shapes: set = dataclasses.field(default_factory=set)
    real_lengths: dict = dataclasses.field(default_factory=dict)  # flat tensor index -> real tokens summed

    def add(self, batch) -> None:
        unit = unit_tensor(batch)
        flat = tf.nest.flatten(batch)
        self.batches += 1
        self.examples += int(flat[0].shape[0])
        self.shapes.add(tuple(tuple(part.shape) for part in flat))
        if unit is None:
            self.real += int(flat[0].shape[0])
            self.padded += int(flat[0].shape[0])
        else:
            self.real += int(tf.math.count_nonzero(unit))
            self.padded += int(tf.size(unit))
        for index, part in enumerate(flat):
            if is_id_sequence(part):
                self.real_lengths[index] = self.real_lengths.get(index, 0) + int(tf.math.count_nonzero(part))

    @property
    def padding_fraction(self) -> float:
        return 1.0 - self.real / max(self.padded, 1)


def is_id_sequence(tensor) -> bool:
    """An integer [batch, time] tensor: token ids, padded with 0."""
    return tensor.dtype.is_integer and len(tensor.shape) == 2


def unit_tensor(batch):
    """The tensor whose non-zero entries are the pass's units: the target sequence if the targets are id
    sequences, else the first input id sequence, else None (units are examples)."""
    inputs, targets = batch
    for part in (*tf.nest.flatten(targets), *tf.nest.flatten(inputs)):
        if is_id_sequence(part):
            return part
    return None


def unit_name(batch, task: str) -> str:
    return {"forecast": "windows/s", "generate": "chars/s"}.get(task, "tokens/s" if unit_tensor(batch) is not None
                                                                else "examples/s")


def dense_batch(batch, mean_lengths: dict[int, int], seed: int):
    """The raw-speed batch: `batch` with every id sequence replaced by ids drawn from its own non-zero ids,
    `mean_lengths[index]` long, no padding; sequences that share a time axis keep sharing it (teacher-forced
    decoder inputs and their targets)."""
    rng = np.random.default_rng(seed)
    flat = tf.nest.flatten(batch)
    dense = []
    for index, part in enumerate(flat):
        if not is_id_sequence(part):
            dense.append(part)
            continue
        values = part.numpy()
        pool = values[values != 0]
        length = max(1, mean_lengths[index])
        dense.append(tf.constant(rng.choice(pool, size=(values.shape[0], length)), dtype=part.dtype))
    return tf.nest.pack_sequence_as(batch, dense)


def prepare(recipe_path: str, overrides: list[str], run_dir: pathlib.Path):
    """(pipeline class, recipe, training plan) of a recipe, prepared as `train` prepares them."""
    path = recipe_files.resolve(recipe_path)
    task = tomllib.loads(path.read_text(encoding="utf-8"))["task"]
    pipeline_cls = registry.get(task).pipeline_class()
    recipe = pipeline_cls.load_recipe(path, overrides)
    training.set_seed(recipe.seed)
    splits = pipeline_cls.read_data(recipe)
    preprocessor = pipeline_cls.preprocessor_cls.fit(recipe, splits, run_dir)
    return pipeline_cls, recipe, pipeline_cls.plan_training(recipe, preprocessor, splits, run_dir)


def compiled_model(recipe, plan):
    """The plan's model compiled as the trainer compiles it (optimizer, loss, metrics)."""
    config = recipe.training
    keras.config.set_dtype_policy(config.precision)
    training.set_seed(recipe.seed)
    model = plan.build_model()
    steps = plan.steps_per_epoch or training.steps_for(plan.examples_per_epoch, config.batch_size)
    model.compile(optimizer=training.make_optimizer(config, steps), loss=plan.loss, metrics=plan.metrics)
    return model


@dataclasses.dataclass
class Clock:
    """Wall seconds of a stretch of work, with this process's CPU seconds and the host's steal seconds
    (CPU time the hypervisor gave to other guests) over it: a pass that takes twice as long on the same CPU
    seconds waited, one that takes twice the CPU seconds worked more."""

    wall: float = 0.0
    cpu: float = 0.0
    steal: float | None = None
    tail: float = 0.0  # seconds from the end of the last step to the return of `fit`

    @classmethod
    def start(cls) -> Clock:
        return cls(time.perf_counter(), time.process_time(), _steal_seconds())

    def stop(self) -> Clock:
        steal = _steal_seconds()
        return Clock(time.perf_counter() - self.wall, time.process_time() - self.cpu,
                     None if steal is None or self.steal is None else steal - self.steal)


def _steal_seconds() -> float | None:
    """The host's steal time so far, summed over CPUs (Linux /proc/stat), or None where unknown."""
    try:
        fields = pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class _LastStep(keras.callbacks.Callback):
    """Remembers when the last training step ended."""

    ended = 0.0

    def on_train_batch_end(self, batch, logs=None):
        self.ended = time.perf_counter()


def timed_pass(model, data, callbacks, as_trainer: bool = True) -> Clock:
    """The clock of one `model.fit` pass over `data`, fed as the trainer feeds it (or, with `as_trainer`
    False, the dataset as it is, tf.data autotuning on)."""
    last_step = _LastStep()
    clock = Clock.start()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ran out of data")  # bucketed datasets have no length
        model.fit(training.fed_by_keras(data) if as_trainer else data, epochs=1, verbose=0, shuffle=False,
                  callbacks=[*callbacks, last_step])
    returned = time.perf_counter()
    return dataclasses.replace(clock.stop(), tail=returned - last_step.ended)


def measure(recipe_path: str, overrides: list[str], max_batches: int, validation_batches: int,
            rounds: int = 3, as_trainer: bool = True) -> dict:
    """Every number of one recipe (see the module docstring)."""
    with tempfile.TemporaryDirectory() as scratch:
        pipeline_cls, recipe, plan = prepare(recipe_path, overrides, pathlib.Path(scratch))
        task = pipeline_cls.task
        data = plan.train_data.take(max_batches) if max_batches else plan.train_data

        started = time.perf_counter()
        facts = PassFacts()
        for batch in training.fed_by_keras(data):  # the input pipeline alone, as the trainer feeds it
            facts.add(batch)
        input_seconds = time.perf_counter() - started
        log.info("%s: %d batches, %d examples, input pipeline alone %.1f s", task, facts.batches,
                 facts.examples, input_seconds)

        first = next(iter(data))
        mean_lengths = {index: round(total / facts.examples) for index, total in facts.real_lengths.items()}
        dense = dense_batch(first, mean_lengths, recipe.seed)
        dense_units = _units(dense)
        dense = tf.nest.map_structure(lambda part: part.numpy(), dense)  # what every backend's train_on_batch takes
        raw_model = compiled_model(recipe, plan)
        for _ in range(3):  # warm-up: tracing
            raw_model.train_on_batch(*dense)

        # Pipeline passes and raw blocks take turns, so a machine whose speed drifts (a shared host) moves
        # both sides of each ratio alike; the first pass also traces and is not in the ratio.
        model = compiled_model(recipe, plan)
        passes, raw_seconds = [], []
        for round_ in range(rounds):
            passes.append(timed_pass(model, data, plan.callbacks, as_trainer))
            started = time.perf_counter()
            for _ in range(RAW_STEPS):
                raw_model.train_on_batch(*dense)
            raw_seconds.append((time.perf_counter() - started) / RAW_STEPS)
            steal = "" if passes[-1].steal is None else f", host steal {passes[-1].steal:.1f} s"
            log.info("%s: round %d: pipeline pass %.1f s (CPU %.1f s%s, fit returned %.1f s after the last step), "
                     "raw step %.3f s", task, round_ + 1, passes[-1].wall, passes[-1].cpu, steal, passes[-1].tail,
                     raw_seconds[-1])
        pass_seconds = [clock.wall for clock in passes]

        validation_seconds = None
        if plan.validation_data is not None:
            validation = plan.validation_data.take(validation_batches) if validation_batches else plan.validation_data
            started = time.perf_counter()
            model.evaluate(validation, verbose=0)
            validation_seconds = time.perf_counter() - started

    ratios = [(facts.real / passed) / (dense_units / raw) for passed, raw in zip(pass_seconds[1:], raw_seconds[1:])]
    warm_seconds = statistics.median(pass_seconds[1:])
    return {
        "recipe": recipe_path, "task": task, "backend": keras.backend.backend(), "unit": unit_name(first, task),
        "batches": facts.batches,
        "examples": facts.examples, "real_units": facts.real, "padded_units": facts.padded,
        "padding_fraction": round(facts.padding_fraction, 4), "distinct_batch_shapes": len(facts.shapes),
        "dense_batch_shape": [list(part.shape) for part in tf.nest.flatten(dense)],
        "input_pipeline_seconds": round(input_seconds, 2), "pass_seconds": [round(x, 2) for x in pass_seconds],
        "pass_cpu_seconds": [round(clock.cpu, 2) for clock in passes],
        "pass_tail_seconds": [round(clock.tail, 2) for clock in passes], "fed_as_trainer": as_trainer,
        "pass_steal_seconds": [None if clock.steal is None else round(clock.steal, 2) for clock in passes],
        "raw_step_seconds": [round(x, 4) for x in raw_seconds], "warm_pass_seconds": round(warm_seconds, 2),
        "first_pass_extra_seconds": round(pass_seconds[0] - warm_seconds, 2),
        "validation_seconds": None if validation_seconds is None else round(validation_seconds, 2),
        "pipeline_rate": round(facts.real / warm_seconds, 1),
        "raw_rate": round(dense_units / statistics.median(raw_seconds[1:]), 1),
        "ratios": [round(ratio, 3) for ratio in ratios], "ratio": round(statistics.median(ratios), 3),
        # What padding alone leaves: the warm pass computes padded steps too, at the raw speed at best.
        "ratio_if_only_padding": round(1.0 - facts.padding_fraction, 3),
    }


def _units(batch) -> int:
    unit = unit_tensor(batch)
    return int(tf.nest.flatten(batch)[0].shape[0]) if unit is None else int(tf.math.count_nonzero(unit))


def row(result: dict) -> tuple[str, ...]:
    """A table row of one recipe's result."""
    validation = "-" if result["validation_seconds"] is None else f"{result['validation_seconds']:.1f} s"
    ratios = f"**{result['ratio']:.0%}** ({min(result['ratios']):.0%}-{max(result['ratios']):.0%})"
    return (result["task"], result.get("backend", "tensorflow"), result["unit"], f"{result['pipeline_rate']:,.0f}",
            f"{result['raw_rate']:,.0f}", ratios, f"{result['padding_fraction']:.1%}",
            f"{result['input_pipeline_seconds']:.1f} s / {result['warm_pass_seconds']:.1f} s",
            f"{result['distinct_batch_shapes']} ({result['first_pass_extra_seconds']:+.1f} s)",
            "-" if "pass_tail_seconds" not in result else f"{max(result['pass_tail_seconds']):.1f} s", validation)


HEADER = ("task", "backend", "unit", "pipeline (later passes)", "raw dense step", "ratio", "padding",
          "input alone / pass", "batch shapes (first-pass extra)", "end-of-pass wait (max)", "validation pass")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", action="append", help="recipe file or built-in name (repeatable; default: "
                        "every task's real-data recipe)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="override for every recipe")
    parser.add_argument("--batches", type=int, default=0, help="training batches per pass (0 = one epoch)")
    parser.add_argument("--validation-batches", type=int, default=0, help="validation batches (0 = all)")
    parser.add_argument("--rounds", type=int, default=3, help="pipeline passes, each followed by raw steps; the "
                        "first traces and is left out of the ratio (at least 2)")
    parser.add_argument("--keep-autotune", action="store_true", help="feed the datasets with tf.data autotuning "
                        "on, as before the trainer turned it off (rnnapps.datasets.batching.without_autotune)")
    parser.add_argument("--json-out", default=str(HERE / "results" / "throughput.json"))
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    recipes = args.recipe or [str(HERE.parent / "tasks" / name) for name in REAL_RECIPES]
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: the first pass traces")
    results = [measure(recipe, args.overrides, args.batches, args.validation_batches, args.rounds,
                       as_trainer=not args.keep_autotune) for recipe in recipes]
    backend = "" if keras.backend.backend() == "tensorflow" else f"KERAS_BACKEND={keras.backend.backend()} "
    options = ([f"--recipe {r}" for r in args.recipe or []] + [f"--set {o}" for o in args.overrides]
               + ([f"--batches {args.batches}"] if args.batches else [])
               + ([f"--rounds {args.rounds}"] if args.rounds != 3 else [])
               + (["--keep-autotune"] if args.keep_autotune else []) + (["--record"] if args.record else []))
    command = " ".join([backend + "python benchmarks/throughput.py", *options])
    summary = {"date": datetime.date.today().isoformat(), "machine": reporting.machine(), "results": results}
    reporting.publish(summary, [row(result) for result in results], args.json_out, record=args.record,
                      title="throughput: pipeline against raw train steps", command=command, header=HEADER, notes=(
                          "ratio = the pipeline's real units/s in a pass over the same model's train_on_batch "
                          "speed on one dense batch of the pass's mean real length, timed right after it; median "
                          "(range) over the passes after the first",
                          "input alone = the same batches iterated without a model; first-pass extra = the first "
                          "pass's seconds over the median later pass (tracing per batch shape); end-of-pass wait = "
                          "from the end of a pass's last step to the return of `fit`"))


if __name__ == "__main__":
    main()
