"""Character-level generation benchmark on real data: validation nats/char, training time and throughput,
generation throughput.

Trains a recipe (default: tasks/generate-shakespeare.toml) from scratch and measures:
  * validation loss on the text's last part in nats per character (and bits per character, perplexity),
    scored with the recurrent state carried through the whole text, and the best windowed validation
    loss Keras reported during training (each window starts from a zero state, so it reads higher),
  * training wall time and characters/s (validation passes included),
  * generation throughput (characters/s) at batch 1 and batch 64: the compiled sampler (the whole loop
    in one graph, `TextGeneratorServing.generate_batch`) next to the same model sampled the way the
    TensorFlow text-generation tutorial does it: a Python loop that calls a tf.function-compiled
    one-character step. Both draw from the same uniform numbers, so with the same seed they must write
    the same text, character for character.
Prints a table, writes JSON (--json-out) and, with --record, appends the run to benchmarks/RESULTS.md.

    python benchmarks/generate.py --record
    python benchmarks/generate.py --skip-train --out runs/shakespeare --record   # measure a trained bundle
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import pathlib
import shutil
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import reporting  # noqa: E402  (benchmarks/reporting.py, beside this script)
import tensorflow as tf  # noqa: E402

from rnnapps import decoding, tokenizers  # noqa: E402
from rnnapps.pipelines import generate  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
log = logging.getLogger("benchmarks.generate")
PROMPT = "ROMEO:\n"
TEMPERATURE = 0.8
SEED = 1234


def compiled_sampling(pipeline: generate.GeneratePipeline, batch: int, length: int):
    """(characters/s, texts) of the compiled sampler; one warm-up call, then one timed call."""
    arguments = (tf.constant([PROMPT] * batch), tf.constant(length), tf.constant(TEMPERATURE), tf.constant(0),
                 tf.constant(1.0), tf.constant(SEED, tf.int64))
    pipeline.serving.generate_batch(*arguments)  # warm-up: traces the graph
    started = time.perf_counter()
    texts = pipeline.serving.generate_batch(*arguments)["generated"].numpy()
    seconds = time.perf_counter() - started
    return batch * length / seconds, [t.decode("utf-8") for t in texts]


class TutorialSampler:
    """Sampling the way the TensorFlow text-generation tutorial does it ("OneStep"): a Python loop calls a
    tf.function-compiled step (the model's `decoding_step`) once per character, carrying the states. It
    primes the state as the serving module does (the model's `start_decoding`) and draws each character from
    the same uniform numbers with the same filtering and inverse-CDF rule, so the same seed gives the same
    text."""

    def __init__(self, pipeline: generate.GeneratePipeline):
        self.pipeline = pipeline
        self.model = pipeline.model
        self._step = None

    def _compiled_step(self, tokens, states):
        if self._step is None:
            def step(tokens, states, draw):
                logits, states, _ = self.model.decoding_step(tokens, states)
                filtered = decoding.filter_logits(decoding.next_token_log_probs(logits) / TEMPERATURE, 0, 1.0)
                cumulative = tf.cumsum(tf.nn.softmax(filtered, axis=-1), axis=-1)
                below = tf.reduce_sum(tf.cast(cumulative <= draw[:, tf.newaxis], tf.int32), axis=-1)
                return tf.minimum(below, tf.shape(logits)[-1] - 1), tuple(states)

            self._step = tf.function(step, input_signature=[
                tf.TensorSpec([None], tf.int32), tuple(tf.TensorSpec([None, s.shape[-1]]) for s in states),
                tf.TensorSpec([None], tf.float32)])
        return self._step

    def __call__(self, batch: int, length: int) -> list[str]:
        ids = tokenizers.encode_batch(self.pipeline.tokenizer, tf.constant([PROMPT] * batch), len(PROMPT) + 1)
        start = self.model.start_decoding(ids)  # every prompt token but the last primes the state
        states, tokens = tuple(start.state), start.start_ids
        uniforms = tf.random.stateless_uniform([length, batch], seed=tf.stack([tf.constant(SEED, tf.int64), 0]))
        step = self._compiled_step(tokens, states)
        outputs = []
        for position in range(length):
            tokens, states = step(tokens, states, uniforms[position])
            outputs.append(tokens)
        texts = self.pipeline.tokenizer.detokenize(tf.stack(outputs, axis=1)).numpy()
        return [t.decode("utf-8") for t in texts]


def python_loop_sampling(pipeline: generate.GeneratePipeline, batch: int, length: int):
    """(characters/s, texts) of the tutorial-style per-character Python loop."""
    sampler = TutorialSampler(pipeline)
    sampler(batch, 2)  # warm-up: traces the step
    started = time.perf_counter()
    texts = sampler(batch, length)
    seconds = time.perf_counter() - started
    return batch * length / seconds, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="tasks/generate-shakespeare.toml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override")
    parser.add_argument("--out", default="benchmarks/out/generate-shakespeare", help="run directory (replaced)")
    parser.add_argument("--skip-train", action="store_true", help="reuse the bundle already in --out")
    parser.add_argument("--length", type=int, default=500, help="characters generated per sample")
    parser.add_argument("--json-out", default=str(HERE / "results" / "generate-shakespeare.json"))
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    run_dir = pathlib.Path(args.out)
    if not args.skip_train:
        recipe = generate.GeneratePipeline.load_recipe(args.recipe, args.overrides)
        shutil.rmtree(run_dir, ignore_errors=True)
        generate.GeneratePipeline.train(recipe, run_dir)
    pipeline = generate.GeneratePipeline.from_bundle(run_dir / "bundle")
    report = pipeline.metrics
    validation, trained = report["validation"], report["training"]
    history = (run_dir / "bundle" / "history.csv").read_text(encoding="utf-8").splitlines()
    columns = history[0].split(",")
    windowed = min(float(row.split(",")[columns.index("val_loss")]) for row in history[1:])

    rates = {}
    for batch in (1, 64):
        compiled_rate, compiled_texts = compiled_sampling(pipeline, batch, args.length)
        loop_rate, loop_texts = python_loop_sampling(pipeline, batch, args.length)
        mismatches = sum(a != b for a, b in zip(compiled_texts, loop_texts))
        rates[batch] = (compiled_rate, loop_rate, mismatches)
        log.info("batch %d: compiled %.0f chars/s, python loop %.0f chars/s, %d texts differ", batch, compiled_rate,
                 loop_rate, mismatches)
    sample = pipeline(PROMPT, length=300, temperature=TEMPERATURE, seed=SEED)["text"]

    results = {
        "recipe": args.recipe if not args.skip_train else str(run_dir / "bundle"),
        "overrides": args.overrides, "skip_train": args.skip_train,
        "date": datetime.date.today().isoformat(),
        "machine": reporting.machine(),
        "validation_nats_per_char": validation["nats_per_char"],
        "validation_bits_per_char": validation["bits_per_char"],
        "validation_perplexity": validation["perplexity"],
        "validation_characters": validation["characters"],
        "validation_windowed_nats_per_char_best": windowed,
        "epochs": trained["epochs_completed"], "best_epoch": trained["best_epoch"],
        "stop_reason": trained["stop_reason"],
        "train_minutes": round(trained["train_seconds"] / 60, 2),
        "train_chars_per_second": trained["train_chars_per_second"],
        "sample_length": args.length, "temperature": TEMPERATURE,
        **{f"batch{b}_{name}": value for b, (c, p, m) in rates.items()
           for name, value in (("compiled_chars_per_second", round(c, 1)),
                               ("python_loop_chars_per_second", round(p, 1)),
                               ("speedup", round(c / p, 2)), ("texts_differing", m))},
        "sample": sample,
    }
    rows = [
        ("validation nats/char (state carried)", f"{validation['nats_per_char']:.4f}"),
        ("validation bits/char", f"{validation['bits_per_char']:.4f}"),
        ("validation perplexity", f"{validation['perplexity']:.3f}"),
        ("validation nats/char, best windowed (Keras val_loss)", f"{windowed:.4f}"),
        ("validation characters", f"{validation['characters']:,} (last 10% of the text)"),
        ("epochs (best, stop)", f"{results['epochs']} ({results['best_epoch']}, {results['stop_reason']})"),
        ("training wall time", f"{results['train_minutes']:.1f} min"),
        ("training characters/s", f"{results['train_chars_per_second']:,.0f} (validation passes included)"),
    ]
    for batch, (compiled_rate, loop_rate, mismatches) in rates.items():
        rows += [
            (f"generation chars/s, batch {batch}: compiled", f"{compiled_rate:,.0f}"),
            (f"generation chars/s, batch {batch}: python loop", f"{loop_rate:,.0f} (tf.function step per character)"),
            (f"speed-up, batch {batch}", f"{compiled_rate / loop_rate:.2f}x; same seed, same text: "
                                         f"{'yes' if not mismatches else f'no ({mismatches} of {batch} differ)'}"),
        ]
    options = ["--skip-train", "--out", args.out] if args.skip_train else ["--recipe", args.recipe]
    options += [f"--set {o}" for o in args.overrides]
    source = (f"the bundle in {args.out}, trained earlier (not by this command)" if args.skip_train
              else f"trained by this command in {args.out}")
    title = args.recipe if not args.skip_train else f"{args.out} (--skip-train)"
    reporting.publish(results, rows, args.json_out, record=args.record, title=f"generate: {title}",
                      command=" ".join(["python benchmarks/generate.py", *options, "--record"]),
                      notes=(f"model: {source}", f"{args.length} characters per sample, temperature {TEMPERATURE}, "
                             f"prompt {PROMPT!r}", "sample (temperature 0.8):\n\n```\n" + sample + "\n```"))


if __name__ == "__main__":
    main()
