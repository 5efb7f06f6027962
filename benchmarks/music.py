"""Folk-tune benchmark (issue 34): a trained ABC bundle's validation loss, and what its sampled tunes are worth.

Samples --samples tunes at --temperature as a tune begins in the training text, after the end of another
(`PROMPT`: an empty line; the model writes the header, meter and key included, and the tune; each sample
ends where the model ends its tune, `decoding.stop_at`) and measures, against the held-out tunes of the recipe's
own split (`rnnapps.pipelines.generate.tune_measures`):
  * the share of tunes that parse as ABC, and that have every bar add up to its meter (counted by parsing);
  * the share that copies a training tune for more than 8 bars (9 consecutive bars found in one);
  * keys, meters, length in bars and pitch range of the samples next to the held-out tunes';
  * validation loss (the bundle's score, state carried through the held-out tunes) per character, per musical
    token (the tokens of `rnnapps.tokenizers.abc_notation`: a note with its length, a bar line, a field line, a
    space; a character model's total is divided by the same count) and per tune, so that models of characters and
    of tokens compare; folk-rnn reports 1.21-1.24 per token on 23,000 tunes (its tokens have no spaces).

    python benchmarks/music.py --bundle runs/folk --record     # after: rnnapps generate train --recipe
                                                               #   tasks/generate-folk.toml --out runs/folk
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import re
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import reporting  # noqa: E402  (benchmarks/reporting.py, beside this script)

from rnnapps import registry  # noqa: E402
from rnnapps.pipelines import generate  # noqa: E402
from rnnapps.pipelines.generate import data, tune_measures, tune_report  # noqa: E402
from rnnapps.tokenizers import abc_notation  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
PROMPT, COPY_BARS = tune_report.PROMPT, tune_report.COPY_BARS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", default="runs/folk", help="a trained bundle (or its run directory)")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prompt", default=PROMPT, help="what every sample continues; a sample is the tune begun "
                                                         f"after its last empty line (default {PROMPT!r}; \\n is a "
                                                         "line break, as in 'rnnapps generate predict --prompt')")
    parser.add_argument("--json-out", default=str(HERE / "results" / "music.json"))
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    args.prompt = generate.line_breaks(args.prompt)

    pipeline = registry.get("generate").pipeline_class().from_bundle(args.bundle)
    recipe = pipeline.recipe
    corpus = data.read_corpus(recipe.data, recipe.seed)
    held_out, training = tune_measures.split_tunes(corpus.validation), tune_measures.split_tunes(corpus.train)

    start = time.perf_counter()
    report = tune_report.measure(pipeline, corpus.validation, args.samples, args.temperature, args.seed, args.prompt)
    seconds = time.perf_counter() - start  # sampling and measuring
    sampled, reference, samples = report["sampled"], report["held_out"], [report["example"]]
    validation = pipeline.metrics.get("validation", {})
    nats_per_char = validation.get("nats_per_char")
    total_nats = nats_per_char * validation["characters"] if nats_per_char else None
    share_scored = validation.get("characters", 0) / len(corpus.validation)  # the streams leave a few out
    per_token = total_nats / (len(abc_notation.abc_tokens(corpus.validation)) * share_scored) if total_nats else None
    per_tune = total_nats / (len(held_out) * share_scored) if total_nats else None
    training_facts = pipeline.metrics.get("training", {})

    results_json = {
        "date": datetime.date.today().isoformat(), "machine": reporting.machine(), "bundle": str(args.bundle),
        "samples": args.samples, "temperature": args.temperature, "seed": args.seed,
        "tokenizer": pipeline.tokenizer.kind, "vocabulary": pipeline.tokenizer.vocab_size,
        "validation_nats_per_char": nats_per_char, "validation_nats_per_token": per_token,
        "validation_nats_per_tune": per_tune,
        "ended_tunes_share": report["ended_share"], "copy_share": report["copy_share"],
        "sampled": sampled, "held_out": reference, "sampling_seconds": round(seconds, 1),
        "training": {key: training_facts.get(key) for key in ("epochs_completed", "best_epoch", "stop_reason",
                                                                    "train_seconds")},
        "example": samples[0],
    }

    def shares(distribution: dict[str, float]) -> str:
        return ", ".join(f"{name} {share:.0%}" for name, share in list(distribution.items())[:4])

    rows = [
        ("validation loss, nats per character", f"{nats_per_char:.3f}" if nats_per_char else "-", "-"),
        ("validation loss, nats per musical token", f"{per_token:.3f}" if per_token else "-", "-"),
        ("validation loss, nats per tune", f"{per_tune:.1f}" if per_tune else "-", "-"),
        ("tunes that parse", f"{sampled['parse_share']:.0%}", f"{reference['parse_share']:.0%}"),
        ("tunes whose bars fit the meter (goal >= 90%)", f"{sampled['fit_share']:.0%}",
         f"{reference['fit_share']:.0%}"),
        ("bars that fit the meter, in the tunes that parse", f"{sampled['bar_fit_share']:.1%}",
         f"{reference['bar_fit_share']:.1%}"),
        (f"tunes copying > {COPY_BARS} bars of a training tune (goal < 2%)", f"{report['copy_share']:.0%}", "-"),
        ("tunes the model ended itself", f"{report['ended_share']:.0%}", "-"),
        ("keys", shares(sampled["keys"]), shares(reference["keys"])),
        ("meters", shares(sampled["meters"]), shares(reference["meters"])),
        ("median length in bars", f"{sampled['median_bars']:g}", f"{reference['median_bars']:g}"),
        ("median pitch range, diatonic steps", f"{sampled['median_pitch_range']:g}",
         f"{reference['median_pitch_range']:g}"),
        ("sampling and measuring time", f"{seconds:.1f} s for {args.samples} tunes", "-"),
    ]
    first = re.sub(r"\n", " / ", samples[0].strip())
    reporting.publish(
        results_json, rows, args.json_out, record=args.record, title=f"music: {args.bundle}",
        command=f"python benchmarks/music.py --bundle {args.bundle} --samples {args.samples} "
                f"--temperature {args.temperature} --seed {args.seed} --prompt {args.prompt!r}",
        notes=(f"{args.samples} tunes sampled from the prompt {args.prompt!r} at temperature {args.temperature}, "
               f"against the {len(held_out)} held-out tunes of the recipe's split ({len(training)} training tunes)",
               f"training: {json.dumps(results_json['training'])}",
               f"the first sample: `{first[:300]}`"),
        header=("measure", "sampled", "held-out tunes"))


if __name__ == "__main__":
    main()
