"""Forecast benchmark on ETT: multivariate MSE/MAE (scaled, every test window) at each horizon, training wall
time, and the baselines on the same windows, next to the published numbers.

Trains tasks/forecast-ett.toml once per (file, horizon), from scratch, and reads the test report the training
wrote. Published references (Informer paper's LSTMa and Informer rows, DLinear and SegRNN papers) are printed
beside ETTh1. Prints a table, writes JSON (--json-out) and, with --record, appends the run to
benchmarks/RESULTS.md.

    python benchmarks/forecast.py --record                                  # ETTh1 at 96/192/336/720, ETTm1 at 96
    python benchmarks/forecast.py --runs ETTh1:96 --set encoder.units=128   # one run, a variation
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import pathlib
import shutil

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import reporting  # noqa: E402  (benchmarks/reporting.py, beside this script)

from rnnapps.pipelines.forecast import ForecastPipeline  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
ETT_DIR = HERE.parent.parent / "shared" / "data" / "timeseries" / "ett"
# Published multivariate ETTh1 test MSE (lower is better): Informer paper (LSTMa, Informer at 24/168/720 hours),
# DLinear (Zeng et al. 2023) and SegRNN (Lin et al. 2023) at 96/192/336/720.
PUBLISHED_ETTH1 = {"DLinear": {96: 0.375, 192: 0.405, 336: 0.439, 720: 0.472},
                   "SegRNN": {96: 0.368, 192: 0.408, 336: 0.444, 720: 0.446},
                   "LSTMa": {24: 0.650, 168: 1.212, 720: 1.960}, "Informer": {168: 0.931, 720: 1.215}}
DEFAULT_RUNS = ("ETTh1:96", "ETTh1:192", "ETTh1:336", "ETTh1:720", "ETTm1:96")


def run(name: str, horizon: int, recipe_path: str, overrides: list[str], out: pathlib.Path) -> dict:
    """Train one (file, horizon) and return its test numbers."""
    # The recipe splits by date and states the season as a duration, so only the file changes between files.
    settings = [f'data.source="{ETT_DIR / (name + ".csv")}"', f"window.horizon={horizon}", *overrides]
    recipe = ForecastPipeline.load_recipe(recipe_path, settings)
    run_dir = out / f"{name}-H{horizon}"
    shutil.rmtree(run_dir, ignore_errors=True)
    pipeline = ForecastPipeline.train(recipe, run_dir)
    report, training = pipeline.metrics["test"], pipeline.metrics["training"]
    return {"file": name, "horizon": horizon, "lookback": recipe.window.lookback, "windows": report["windows"],
            "mse": report["model"]["mse"], "mae": report["model"]["mae"],
            "baselines": {key: {"mse": value["mse"], "mae": value["mae"]}
                          for key, value in report["baselines"].items()},
            "beats": report["beats"], "intervals": report.get("intervals", []),
            "train_minutes": round(training["train_seconds"] / 60, 2), "epochs": training["epochs_completed"],
            "best_epoch": training["best_epoch"], "stop_reason": training["stop_reason"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="tasks/forecast-ett.toml")
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), help="FILE:HORIZON, e.g. ETTh1:96")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override")
    parser.add_argument("--out", default="benchmarks/out/forecast", help="run directories (replaced)")
    parser.add_argument("--json-out", default=str(HERE / "results" / "forecast-ett.json"))
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    found = []
    for spec in args.runs:
        name, _, horizon = spec.partition(":")
        found.append(run(name, int(horizon), args.recipe, args.overrides, pathlib.Path(args.out)))
    rows = []
    for result in found:
        base = result["baselines"]
        published = "; ".join(f"{key} {value[result['horizon']]:.3f}" for key, value in PUBLISHED_ETTH1.items()
                              if result["file"] == "ETTh1" and result["horizon"] in value)
        coverage = next((f", 80% coverage {i['coverage']:.3f}" for i in result["intervals"] if i["nominal"] == 0.8), "")
        rows.append((f"{result['file']} H={result['horizon']} (L={result['lookback']}, {result['windows']} windows)",
                     f"MSE **{result['mse']:.4f}** MAE {result['mae']:.4f}; linear {base['linear']['mse']:.4f}, "
                     f"seasonal naive {base['seasonal_naive']['mse']:.4f}, naive {base['naive']['mse']:.4f}"
                     f"{coverage}; {result['train_minutes']:.1f} min, {result['epochs']} epochs (best "
                     f"{result['best_epoch']}){'; published: ' + published if published else ''}"))
    results = {"recipe": args.recipe, "overrides": args.overrides, "date": datetime.date.today().isoformat(),
               "machine": reporting.machine(), "runs": found}
    command = " ".join(["python benchmarks/forecast.py", "--recipe", args.recipe, "--runs", *args.runs,
                        *[f"--set {o}" for o in args.overrides], "--record"])
    reporting.publish(results, rows, args.json_out, record=args.record, title=f"forecast: {args.recipe}",
                      command=command, notes=("MSE/MAE on scaled values (training mean/deviation), every test window "
                                              "(stride 1), all 7 channels; baselines on the same windows",))


if __name__ == "__main__":
    main()
