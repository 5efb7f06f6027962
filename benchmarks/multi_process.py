"""One recipe trained three ways on this machine, side by side: on TensorFlow in one process, on JAX in one
process (`train --backend jax`), and on JAX in N data-parallel processes started by `rnnapps launch`
(`training.distribute = "multi_process"`), each from scratch, each as a user runs it (`python -m rnnapps`).

For each: the wall time of the whole command (reading, tokenizing, compiling, training, test scoring, bundle),
the training time the trainer records (validation included), the median epoch time from history.csv, training
examples per second (the examples an epoch trains on, over its time) and the recipe's test metric.

N processes on one machine share its cores, so they are not expected to train faster than one: what this
measures is what the processes' coordination costs (every step waits for the slowest process and averages
the gradients across processes). With a machine per process, each would have the cores one process has here.

    python benchmarks/multi_process.py --record
    python benchmarks/multi_process.py --recipe tasks/sentiment-imdb.toml --set training.epochs=1
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import reporting  # noqa: E402  (benchmarks/reporting.py, beside this script)

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def train_command(task: str, recipe: str, out: pathlib.Path, backend: str, overrides: list[str],
                  processes: int) -> list[str]:
    """The command line of one setup: `rnnapps TASK train ...`, behind `rnnapps launch` for several processes."""
    command = ["rnnapps", "-q", task, "train", "--recipe", recipe, "--out", str(out), "--backend", backend,
               *(f"--set={item}" for item in overrides)]
    if processes > 1:
        # training.distribute = "auto" trains multi-process where the launcher's environment says so
        command = ["rnnapps", "launch", "--processes", str(processes), "--", *command]
    return [sys.executable, "-m", "rnnapps", *command[1:]]


def run_setup(name: str, command: list[str], out: pathlib.Path, metric: str) -> dict:
    """Run one setup from scratch and read what its run directory records."""
    shutil.rmtree(out, ignore_errors=True)
    print(f"[{name}] {' '.join(command)}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"[{name}] failed with exit status {done.returncode}")
    metrics = json.loads((out / "bundle" / "metrics.json").read_text())
    training = metrics["training"]
    with (out / "history.csv").open(newline="") as handle:
        epochs = list(csv.DictReader(handle))
    epoch_seconds = [float(row["epoch_seconds"]) for row in epochs]
    examples = next((value for key, value in training.items() if key.startswith("train_") and key != "train_seconds"
                     and isinstance(value, int)), None)
    return {"setup": name, "command": " ".join(command), "wall_seconds": round(wall, 1),
            "train_seconds": training["train_seconds"], "epochs": training["epochs_completed"],
            "backend": training["backend"], "median_epoch_seconds": round(statistics.median(epoch_seconds), 1),
            "examples_per_epoch": examples,
            "examples_per_second": round(examples / statistics.median(epoch_seconds), 1) if examples else None,
            metric: metrics["test"][metric]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="tasks/sentiment-imdb.toml")
    parser.add_argument("--task", default="sentiment")
    parser.add_argument("--metric", default="accuracy", help="the test metric to report (a key of metrics.json's test)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="recipe override for every setup, as for train")
    parser.add_argument("--out", default=str(HERE / "out" / "multi-process"))
    parser.add_argument("--json-out", default=str(HERE / "results" / "multi_process.json"))
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()

    out = pathlib.Path(args.out)
    setups = [("tensorflow, 1 process", "tensorflow", 1), ("jax, 1 process", "jax", 1),
              (f"jax, {args.processes} processes", "jax", args.processes)]
    runs = [run_setup(name, train_command(args.task, args.recipe, out / f"{backend}-{count}", backend,
                                          args.overrides, count), out / f"{backend}-{count}", args.metric)
            for name, backend, count in setups]
    rows = [(run["setup"], f"{run['wall_seconds']:.0f}", f"{run['train_seconds']:.0f}", str(run["epochs"]),
             f"{run['median_epoch_seconds']:.1f}", f"{run['examples_per_second'] or 0:.0f}", f"{run[args.metric]:.4f}")
            for run in runs]
    results = {"date": datetime.date.today().isoformat(), "machine": reporting.machine(), "recipe": args.recipe,
               "overrides": args.overrides, "runs": runs}
    overrides = "".join(f" --set {item}" for item in args.overrides)
    reporting.publish(results, rows, args.json_out, record=args.record,
                      title=f"multi-process training: {args.recipe}",
                      command=f"python benchmarks/multi_process.py --recipe {args.recipe} --processes "
                              f"{args.processes}{overrides}",
                      header=("setup", "wall s", "train s", "epochs", "epoch s (median)", "train examples/s",
                              f"test {args.metric}"))


if __name__ == "__main__":
    main()
