"""Start-up benchmark: the wall time of rnnapps commands as a user types them, from process start to exit.

Commands that need no model (listing recipes, --help at any depth, a recipe or --set mistake, a missing bundle)
should answer in well under a second (goal < 0.5 s); a `predict` on each task's demo bundle shows what loading a
model costs. Each command runs --repeats times in a fresh process; the table gives the median. Then, for the
text tasks, where a predict's time goes (importing TensorFlow, loading the bundle, the first call, which traces
the serving graph) against loading the exported SavedModel instead and calling its signature.

    python benchmarks/startup.py --bundles runs/demo --record      # after 'rnnapps demo' (bundles in runs/demo/TASK)
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

import reporting  # benchmarks/reporting.py, beside this script

HERE = pathlib.Path(__file__).resolve().parent
GOAL_SECONDS = 0.5
# (what it shows, the arguments after `rnnapps`, the exit code expected); "{bundles}" is --bundles.
NO_MODEL = [
    ("list the built-in recipes", ["recipes"], 0),
    ("top-level help", ["--help"], 0),
    ("a task's help", ["sentiment", "--help"], 0),
    ("a command's help", ["translate", "train", "--help"], 0),
    ("a bad --set key", ["sentiment", "train", "--set", "encoder.unitz=3"], 2),
    ("a --set value out of range", ["caption", "train", "--recipe", "caption-demo", "--set", "training.epochs=0"], 2),
    ("a missing recipe file", ["forecast", "train", "--recipe", "missing.toml"], 2),
    ("a missing bundle", ["translate", "predict", "hola", "--bundle", "missing-run"], 2),
]
PREDICT = [
    ("sentiment", ["sentiment", "predict", "a wonderful film", "--bundle", "{bundles}/sentiment"]),
    ("translate", ["translate", "predict", "the girl will carry a white cup .", "--bundle", "{bundles}/translate"]),
    ("generate", ["generate", "predict", "--length", "100", "--seed", "1", "--bundle", "{bundles}/generate"]),
    ("caption", ["caption", "predict", "{image}", "--bundle", "{bundles}/caption"]),
    ("forecast", ["forecast", "predict", "demo:forecast", "--bundle", "{bundles}/forecast"]),
]


def wall_seconds(arguments: list[str], expected: int, repeats: int) -> float:
    """Median wall time of `rnnapps ARGUMENTS` in a fresh process; the exit code must be `expected`."""
    command = [shutil.which("rnnapps") or str(pathlib.Path(sys.executable).parent / "rnnapps"), "-q", *arguments]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != expected:
            raise SystemExit(f"rnnapps {' '.join(arguments)} exited {done.returncode}, expected {expected}:\n"
                             f"{done.stderr[-2000:]}")
    return statistics.median(times)


# Where the time of a predict goes, measured inside one fresh process (printed as JSON by the child).
PHASES_SCRIPT = """
import json, sys, time
start = time.perf_counter()
how, task, run, text = sys.argv[1:5]
import tensorflow as tf
imported = time.perf_counter()
if how == "bundle":
    from rnnapps import registry
    pipeline = registry.get(task).pipeline_class().from_bundle(run)
    loaded = time.perf_counter()
    pipeline.predict([text])
else:
    import tensorflow_text  # noqa: F401  (the subword tokenizers' ops)
    signature = tf.saved_model.load(run + "/saved_model").signatures["serving_default"]
    loaded = time.perf_counter()
    signature(text=tf.constant([text]))
called = time.perf_counter()
print(json.dumps({"import tensorflow": imported - start, "load": loaded - imported, "first call": called - loaded}))
"""
PHASE_TASKS = [("sentiment", "a wonderful film"), ("translate", "the girl will carry a white cup .")]


def phases(run: pathlib.Path, task: str, text: str, how: str) -> dict[str, float]:
    """Seconds of each phase of one prediction in a fresh process: from the bundle ("bundle") or from the run's
    exported SavedModel ("saved_model")."""
    done = subprocess.run([sys.executable, "-c", PHASES_SCRIPT, how, task, str(run), text], capture_output=True,
                          text=True, check=True)
    return {name: round(value, 2) for name, value in json.loads(done.stdout.splitlines()[-1]).items()}


def demo_image(bundles: pathlib.Path) -> pathlib.Path:
    """A PNG of a generated scene to caption."""
    from rnnapps.datasets import images
    from rnnapps.pipelines.caption import scenes

    pixels, _ = scenes.generate_scenes(1, scenes.SceneConfig(image_size=64, seed=999))
    path = bundles / "startup-scene.png"
    path.write_bytes(images.encode_png(pixels[0]))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", default="runs/demo", help="the demo's output folder (a bundle per task)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json-out", default=str(HERE / "results" / "startup.json"))
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    bundles = pathlib.Path(args.bundles)
    rows, results = [], {"date": datetime.date.today().isoformat(), "machine": reporting.machine(),
                         "goal_seconds": GOAL_SECONDS, "no_model": {}, "predict": {}}
    for label, arguments, code in NO_MODEL:
        seconds = wall_seconds(arguments, code, args.repeats)
        results["no_model"][label] = round(seconds, 3)
        rows.append((label, f"`rnnapps {' '.join(arguments)}`", f"{seconds:.2f} s",
                     "yes" if seconds < GOAL_SECONDS else "**no**"))
    image = demo_image(bundles)
    for name, arguments in PREDICT:
        arguments = [a.format(bundles=bundles, image=image) for a in arguments]
        if not (bundles / name).is_dir():
            continue
        seconds = wall_seconds(arguments, 0, args.repeats)
        results["predict"][name] = round(seconds, 3)
        rows.append((f"predict, {name} demo bundle", f"`rnnapps {' '.join(arguments)}`", f"{seconds:.2f} s", "-"))
    results["phases"] = {}
    for task, text in PHASE_TASKS:
        if not (bundles / task / "saved_model").is_dir():
            continue
        for how in ("bundle", "saved_model"):
            measured = phases(bundles / task, task, text, how)
            results["phases"][f"{task} from the {how}"] = measured
            rows.append((f"phases, {task} from the {how}", " + ".join(f"{k} {v:.2f} s" for k, v in measured.items()),
                         f"{sum(measured.values()):.2f} s", "-"))
    reporting.publish(results, rows, args.json_out, record=args.record, title="start-up: rnnapps commands",
                      command=f"python benchmarks/startup.py --bundles {args.bundles} --repeats {args.repeats}",
                      notes=(f"median wall time of {args.repeats} fresh processes each, process start to exit; "
                             f"goal < {GOAL_SECONDS} s for commands that load no model",),
                      header=("command", "as typed", "wall time", f"< {GOAL_SECONDS} s"))


if __name__ == "__main__":
    main()
