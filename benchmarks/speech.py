"""Speech benchmark: on FSDD, isolated-digit accuracy and connected-digit WER on a speaker never heard in
training (and on FSDD's own split, takes 0-4 of every speaker, which shares speakers with training); on any
recipe's own split (`--splits recipe`, e.g. LJ Speech), CER and WER; with the training time.

Trains tasks/speech-digits.toml once per split, from scratch, and reads the test report the training wrote.
Prints a table, writes JSON (--json-out) and, with --record, appends the run to benchmarks/RESULTS.md.

    python benchmarks/speech.py --record                       # theo held out, and FSDD's own split
    python benchmarks/speech.py --splits speaker:george        # another held-out speaker
    python benchmarks/speech.py --recipe tasks/speech-ljspeech.toml --splits recipe
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

from rnnapps.pipelines.speech import SpeechPipeline  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
FSDD = HERE.parent.parent / "shared" / "data" / "speech" / "fsdd" / "recordings"
DEFAULT_SPLITS = ("speaker:theo", "takes")


def split_settings(split: str) -> list[str]:
    """Recipe overrides of a split on FSDD: "speaker:NAME" holds one speaker out; "takes" is FSDD's own split
    (takes 0-4 of every speaker in test: the take is the group); "recipe" keeps the recipe's data and split."""
    if split == "recipe":
        return []
    if split == "takes":
        return ['data.group_column="take"', 'data.test_groups=["0","1","2","3","4"]']
    kind, _, name = split.partition(":")
    if kind != "speaker" or not name:
        raise SystemExit(f"unknown split {split!r}: use speaker:NAME or takes")
    return [f'data.test_groups=["{name}"]']


def run(split: str, recipe_path: str, overrides: list[str], out: pathlib.Path) -> dict:
    """Train on one split and return its test numbers."""
    source = [] if split == "recipe" else [f'data.source="{FSDD}"']
    recipe = SpeechPipeline.load_recipe(recipe_path, [*source, *split_settings(split), *overrides])
    run_dir = out / split.replace(":", "-")
    shutil.rmtree(run_dir, ignore_errors=True)
    pipeline = SpeechPipeline.train(recipe, run_dir)
    report, training = pipeline.metrics["test"], pipeline.metrics["training"]
    single, joined = report.get("single", report), report.get("joined", {})
    return {"split": split, "source": recipe.data.source, "test_recordings": report["recordings"],
            "test_minutes": report["minutes"], "isolated_accuracy": single["exact"],
            "isolated_recordings": single["recordings"], "connected_wer": joined.get("wer"),
            "connected_recordings": joined.get("recordings", 0), "cer": report["cer"], "wer": report["wer"],
            "train_minutes": round(training["train_seconds"] / 60, 2), "epochs": training["epochs_completed"],
            "best_epoch": training["best_epoch"], "stop_reason": training["stop_reason"],
            "train_audio_minutes": training.get("train_minutes"),
            "real_time_factor": report["real_time_factor"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="tasks/speech-digits.toml")
    parser.add_argument("--splits", nargs="+", default=list(DEFAULT_SPLITS), help="speaker:NAME or takes")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override")
    parser.add_argument("--out", default="benchmarks/out/speech", help="run directories (replaced)")
    parser.add_argument("--json-out", default="", help="default: benchmarks/results/<recipe name>.json")
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    json_out = args.json_out or str(HERE / "results" / f"{pathlib.Path(args.recipe).stem}.json")
    found = [run(split, args.recipe, args.overrides, pathlib.Path(args.out)) for split in args.splits]
    rows = []
    for result in found:
        if result["split"] == "recipe":
            scores = (f"CER **{result['cer']:.1%}**, WER {result['wer']:.1%} ({result['test_recordings']} test "
                      f"recordings, {result['test_minutes']:g} min; {result['train_audio_minutes']:g} min of training "
                      "audio)")
        else:
            connected = (f"connected-digit WER **{result['connected_wer']:.1%}** ({result['connected_recordings']})"
                         if result["connected_wer"] is not None else "no connected digits")
            scores = (f"isolated accuracy **{result['isolated_accuracy']:.1%}** ({result['isolated_recordings']}); "
                      f"{connected}; CER {result['cer']:.1%}")
        rows.append((result["split"],
                     f"{scores}; {result['train_minutes']:.1f} min, {result['epochs']} "
                     f"epochs (best {result['best_epoch']}, stopped: {result['stop_reason']}); real-time factor "
                     f"{result['real_time_factor']:g}"))
    results = {"recipe": args.recipe, "overrides": args.overrides, "date": datetime.date.today().isoformat(),
               "machine": reporting.machine(), "runs": found}
    command = " ".join(["python benchmarks/speech.py", "--recipe", args.recipe, "--splits", *args.splits,
                        *[f"--set {o}" for o in args.overrides], "--record"])
    reporting.publish(results, rows, json_out, record=args.record, title=f"speech: {args.recipe}",
                      command=command, notes=() if args.splits == ["recipe"] else (
                          "isolated accuracy: share of single-digit test recordings transcribed exactly; connected "
                          "digits: 2-7 test recordings of one speaker joined",))


if __name__ == "__main__":
    main()
