"""Speech benchmark: on FSDD, isolated-digit accuracy and connected-digit WER on a speaker never heard in
training (and on FSDD's own split, takes 0-4 of every speaker, which shares speakers with training); on any
recipe's own split (`--splits recipe`, e.g. LJ Speech), CER and WER; with the training time.

Trains tasks/speech-digits.toml once per split, from scratch, and reads the test report the training wrote.
Prints a table, writes JSON (--json-out) and, with --record, appends the run to benchmarks/RESULTS.md.

    python benchmarks/speech.py --record                       # theo held out, and FSDD's own split
    python benchmarks/speech.py --splits speaker:george        # another held-out speaker
    python benchmarks/speech.py --recipe tasks/speech-ljspeech.toml --splits recipe
    python benchmarks/speech.py ... --lm-recipe tasks/generate-transcripts.toml   # and shallow fusion

With --lm-recipe, a character language model is trained (the `generate` task) on the transcripts each speech run
writes, its weight and length bonus are chosen on the validation split (lowest CER over a small grid), and the
test split is scored with a plain beam and with the language model fused in, so the table shows what fusion
buys. --reuse keeps a split's trained bundle (and language model) from an earlier run instead of training again.
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

from rnnapps.pipelines.generate import GeneratePipeline  # noqa: E402
from rnnapps.pipelines.speech import SpeechPipeline, data  # noqa: E402
from rnnapps.pipelines.speech import pipeline as speech_pipeline  # noqa: E402

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


def run(split: str, recipe_path: str, overrides: list[str], out: pathlib.Path, args) -> dict:
    """Train on one split (or reuse its bundle) and return its test numbers, with fusion's when asked."""
    source = [] if split == "recipe" else [f'data.source="{FSDD}"']
    recipe = SpeechPipeline.load_recipe(recipe_path, [*source, *split_settings(split), *overrides])
    run_dir = out / split.replace(":", "-")
    if args.reuse and (run_dir / "bundle").is_dir():
        pipeline = SpeechPipeline.from_bundle(run_dir)
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
        pipeline = SpeechPipeline.train(recipe, run_dir)
    report, training = pipeline.metrics["test"], pipeline.metrics["training"]
    result = {"split": split, "source": recipe.data.source, **scores(report),
              "test_recordings": report["recordings"], "test_minutes": report["minutes"],
              "train_minutes": round(training["train_seconds"] / 60, 2), "epochs": training["epochs_completed"],
              "best_epoch": training["best_epoch"], "stop_reason": training["stop_reason"],
              "train_audio_minutes": training.get("train_minutes"), "real_time_factor": report["real_time_factor"]}
    if args.lm_recipe:
        result["fusion"] = fusion(pipeline, run_dir, args)
    return result


def scores(report: dict) -> dict:
    """CER and WER of a test report, and isolated-digit accuracy and connected-digit WER where it has both."""
    single, joined = report.get("single", report), report.get("joined", {})
    return {"cer": report["cer"], "wer": report["wer"], "isolated_accuracy": single["exact"],
            "isolated_recordings": single["recordings"], "connected_wer": joined.get("wer"),
            "connected_recordings": joined.get("recordings", 0)}


def fusion(pipeline: SpeechPipeline, run_dir: pathlib.Path, args) -> dict:
    """Train a character language model on the run's transcripts, choose its weight and length bonus on the
    validation split, and score the test split with a plain beam and with the language model fused in."""
    transcripts = run_dir / speech_pipeline.TRANSCRIPTS_FILE
    splits = data.read_splits(pipeline.recipe)
    if not transcripts.exists():  # a run trained before runs wrote them
        transcripts.write_text("\n".join(data.language_model_text(pipeline.recipe, splits)) + "\n")
    lm_dir = run_dir / "language_model"
    if not (args.reuse and (lm_dir / "bundle").is_dir()):
        shutil.rmtree(lm_dir, ignore_errors=True)
        lm_recipe = GeneratePipeline.load_recipe(args.lm_recipe, [f'data.source="{transcripts}"', *args.lm_set])
        GeneratePipeline.train(lm_recipe, lm_dir)
    lm_metrics = GeneratePipeline.from_bundle(lm_dir).metrics
    beam = args.fusion_beam
    grid = []
    for weight in args.lm_weights:
        for bonus in args.length_bonuses:
            found = pipeline.score(splits.validation, beam_size=beam, language_model=str(lm_dir), lm_weight=weight,
                                   length_bonus=bonus)
            grid.append({"lm_weight": weight, "length_bonus": bonus, "validation_cer": found["cer"],
                         "validation_wer": found["wer"]})
            logging.info("fusion on validation: weight %g, bonus %g: CER %.4f WER %.4f", weight, bonus,
                         found["cer"], found["wer"])
    best = min(grid, key=lambda row: (row["validation_cer"], row["validation_wer"]))
    # The same host beam search with the language model's weight at 0: what fusion buys, and nothing else.
    plain = pipeline.score(splits.test, beam_size=beam, language_model=str(lm_dir), lm_weight=0.0, length_bonus=0.0)
    fused = pipeline.score(splits.test, beam_size=beam, language_model=str(lm_dir), lm_weight=best["lm_weight"],
                           length_bonus=best["length_bonus"])
    return {"beam_size": beam, "lm_weight": best["lm_weight"], "length_bonus": best["length_bonus"],
            "lm_validation_nats_per_char": round(lm_metrics["validation"]["nats_per_char"], 4),
            "lm_train_characters": lm_metrics["training"]["train_characters"],
            "lm_train_minutes": round(lm_metrics["training"]["train_seconds"] / 60, 2),
            "beam": {**scores(plain), "real_time_factor": plain["real_time_factor"]},
            "fused": {**scores(fused), "real_time_factor": fused["real_time_factor"]}, "grid": grid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="tasks/speech-digits.toml")
    parser.add_argument("--splits", nargs="+", default=list(DEFAULT_SPLITS), help="speaker:NAME or takes")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override")
    parser.add_argument("--out", default="benchmarks/out/speech", help="run directories (replaced)")
    parser.add_argument("--json-out", default="", help="default: benchmarks/results/<recipe name>.json")
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    parser.add_argument("--reuse", action="store_true", help="reuse a split's bundle (and language model) if present")
    parser.add_argument("--lm-recipe", default="", help="train this generate recipe on the transcripts and fuse it")
    parser.add_argument("--lm-set", action="append", default=[], help="override of the language model's recipe")
    parser.add_argument("--fusion-beam", type=int, default=8)
    parser.add_argument("--lm-weights", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--length-bonuses", type=float, nargs="+", default=[0.0, 1.0, 2.0])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    json_out = args.json_out or str(HERE / "results" / f"{pathlib.Path(args.recipe).stem}.json")
    found = [run(split, args.recipe, args.overrides, pathlib.Path(args.out), args) for split in args.splits]
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
        if "fusion" in result:
            rows.append((f"{result['split']} + LM", describe_fusion(result["fusion"])))
    results = {"recipe": args.recipe, "overrides": args.overrides, "date": datetime.date.today().isoformat(),
               "machine": reporting.machine(), "runs": found}
    command = " ".join(["python benchmarks/speech.py", "--recipe", args.recipe, "--splits", *args.splits,
                        *[f"--set {o}" for o in args.overrides],
                        *([f"--lm-recipe {args.lm_recipe}", *[f"--lm-set {o}" for o in args.lm_set]] if args.lm_recipe
                          else []), "--record"])
    reporting.publish(results, rows, json_out, record=args.record, title=f"speech: {args.recipe}",
                      command=command, notes=() if args.splits == ["recipe"] else (
                          "isolated accuracy: share of single-digit test recordings transcribed exactly; connected "
                          "digits: 2-7 test recordings of one speaker joined",))


def describe_fusion(found: dict) -> str:
    """One table cell: the test split with a plain beam and with the language model fused in."""
    def cell(part):
        digits = (f"isolated {part['isolated_accuracy']:.1%}, connected WER {part['connected_wer']:.1%}, "
                  if part["connected_wer"] is not None else "")
        return f"{digits}CER {part['cer']:.1%}, WER {part['wer']:.1%} (real-time factor {part['real_time_factor']:g})"

    return (f"beam {found['beam_size']}: {cell(found['beam'])}; with the language model (weight "
            f"{found['lm_weight']:g}, bonus {found['length_bonus']:g}, chosen on validation; "
            f"{found['lm_validation_nats_per_char']:.3f} nats/char on held-out transcripts, "
            f"{found['lm_train_characters']:,} training characters, {found['lm_train_minutes']:.1f} min): "
            f"**{cell(found['fused'])}**")


if __name__ == "__main__":
    main()
