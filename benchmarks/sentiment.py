"""Sentiment benchmark on real data: accuracy, training time and throughput, serving latency.

Trains a recipe (default: tasks/sentiment-imdb.toml) from scratch, evaluates on its test split (the full
25k IMDB test reviews), and measures:
  * training wall time and training tokens/s (real, unpadded tokens; validation time included),
  * tokens/s of the same architecture trained on length-bucketed batches versus fixed-length padding
    (every batch padded to data.max_length), over the same number of steps,
  * median latency of the exported SavedModel for one string.
With a [pretraining] recipe the table also gives the pretraining time and the total. --small-train N trains
on N reviews drawn from the training split (written as a TSV beside the run, with the full test split as a
second TSV), to compare a pretrained encoder with training from scratch on little labelled data.
Prints a table, writes JSON (--json-out) and, with --record, appends the run to benchmarks/RESULTS.md.

    python benchmarks/sentiment.py --record
    python benchmarks/sentiment.py --recipe tasks/sentiment-imdb-pretrained.toml \
        --out benchmarks/out/imdb-pretrained --record
    python benchmarks/sentiment.py --small-train 2000 --out benchmarks/out/imdb-small-scratch --record
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import pathlib
import shutil
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import reporting  # noqa: E402  (benchmarks/reporting.py, beside this script)
import tensorflow as tf  # noqa: E402

from rnnapps.datasets import batching  # noqa: E402
from rnnapps.pipelines import sentiment  # noqa: E402
from rnnapps.pipelines.sentiment import data as text_data  # noqa: E402
from rnnapps.pipelines.sentiment import model as sentiment_model  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SHORT_REVIEW = "This movie was a wonderful surprise: the cast is superb and I loved every minute of it."


def measure_throughput(recipe, tokenizer, texts, labels, bucketing: bool, steps: int) -> float:
    """Real tokens per second of `steps` training steps of a fresh model on bucketed or padded batches."""
    ids = batching.truncate(tokenizer.tokenize(tf.constant(texts)), recipe.data.max_length, recipe.data.truncation)
    dataset = batching.padded_batches(ids, np.asarray(labels, np.int32), recipe.training.batch_size, shuffle=True,
                                      seed=recipe.seed, bucketing=bucketing, num_buckets=recipe.training.num_buckets,
                                      pad_to=0 if bucketing else recipe.data.max_length)
    keras.utils.set_random_seed(recipe.seed)
    model = sentiment_model.build_model(recipe, tokenizer.vocab_size, 2)
    model.compile(optimizer=keras.optimizers.Adam(recipe.training.learning_rate),
                  loss="sparse_categorical_crossentropy")
    batches = iter(dataset.repeat())
    for _ in range(5):  # warm-up: tracing for the first shapes
        model.train_on_batch(*next(batches))
    tokens, started = 0, time.perf_counter()
    for _ in range(steps):
        x, y = next(batches)
        model.train_on_batch(x, y)
        tokens += int(tf.math.count_nonzero(x))
    return tokens / (time.perf_counter() - started)


def measure_latency(saved_model: pathlib.Path, text: str, calls: int = 200) -> float:
    """Median milliseconds of one call of the SavedModel's serving signature on one string."""
    serve = tf.saved_model.load(str(saved_model)).signatures["serving_default"]
    batch = tf.constant([text])
    for _ in range(10):
        serve(text=batch)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        serve(text=batch)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def small_training_set(recipe, size: int, directory: pathlib.Path) -> list[str]:
    """Write `size` reviews drawn (seeded) from the recipe's training split and its whole test split as TSV
    files; returns the overrides that train on them."""
    data = text_data.read_splits(recipe.data, recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    picked = data.train.subset(sorted(rng.choice(len(data.train), size=size, replace=False)))
    directory.mkdir(parents=True, exist_ok=True)
    for name, examples in (("train", picked), ("test", data.test)):
        rows = ["text\tlabel"] + [f"{' '.join(text.split())}\t{label}" for text, label in zip(examples.texts,
                                                                                              examples.labels)]
        (directory / f"{name}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return [f'data.source="{directory / "train.tsv"}"', f'data.test_source="{directory / "test.tsv"}"',
            'data.format="tsv"']


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="tasks/sentiment-imdb.toml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override")
    parser.add_argument("--out", default="benchmarks/out/sentiment-imdb", help="run directory (replaced)")
    parser.add_argument("--throughput-steps", type=int, default=60)
    parser.add_argument("--skip-train", action="store_true", help="reuse the bundle already in --out")
    parser.add_argument("--small-train", type=int, default=0, metavar="N",
                        help="train on N reviews drawn from the training split (TSV files beside the run)")
    parser.add_argument("--json-out", help="JSON file (default: results/<recipe name>.json, with -small-N for "
                        "--small-train N)")
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    recipe = sentiment.SentimentPipeline.load_recipe(args.recipe, args.overrides)
    run_dir = pathlib.Path(args.out)
    if args.small_train:
        small = small_training_set(recipe, args.small_train, run_dir.parent / f"{run_dir.name}-data")
        recipe = sentiment.SentimentPipeline.load_recipe(args.recipe, [*args.overrides, *small])
    if not args.skip_train:
        shutil.rmtree(run_dir, ignore_errors=True)
        sentiment.SentimentPipeline.train(recipe, run_dir)
    pipeline = sentiment.SentimentPipeline.from_bundle(run_dir)
    report = pipeline.metrics
    train_seconds = report["training"]["train_seconds"]
    epochs = report["training"]["epochs_completed"]

    data = text_data.read_splits(recipe.data, recipe.seed)
    train_ids = batching.truncate(pipeline.tokenizer.tokenize(tf.constant(data.train.texts)), recipe.data.max_length,
                                  recipe.data.truncation)
    tokens_per_epoch = int(train_ids.row_lengths().numpy().sum())
    labels = data.label_ids(data.train)
    bucketed = measure_throughput(recipe, pipeline.tokenizer, data.train.texts, labels, True, args.throughput_steps)
    padded = measure_throughput(recipe, pipeline.tokenizer, data.train.texts, labels, False, args.throughput_steps)
    saved = pipeline.export(run_dir / "saved_model")
    latency_short = measure_latency(saved, SHORT_REVIEW)
    latency_long = measure_latency(saved, data.test.texts[int(np.argmax([len(t) for t in data.test.texts[:2000]]))])

    results = {
        "recipe": args.recipe, "overrides": args.overrides,
        "date": datetime.date.today().isoformat(),
        "machine": reporting.machine(),
        "test_accuracy": report["test"]["accuracy"], "test_macro_f1": report["test"]["macro_f1"],
        "test_examples": report["test"]["examples"],
        "epochs": epochs, "best_epoch": report["training"]["best_epoch"],
        "stop_reason": report["training"]["stop_reason"],
        "train_minutes": round(train_seconds / 60, 2),
        "train_tokens_per_second": round(tokens_per_epoch * epochs / train_seconds),
        "bucketed_tokens_per_second": round(bucketed), "padded_tokens_per_second": round(padded),
        "bucketing_speedup": round(bucketed / padded, 2),
        "savedmodel_latency_ms_short": round(latency_short, 2), "savedmodel_latency_ms_long": round(latency_long, 2),
        "train_examples": report["training"].get("train_examples"),
        "pretrained": report["training"].get("pretrained"),
    }
    rows = [
        ("test accuracy", f"{results['test_accuracy']:.4f} ({results['test_examples']} reviews)"),
        ("test macro F1", f"{results['test_macro_f1']:.4f}"),
        ("epochs (best, stop)", f"{epochs} ({results['best_epoch']}, {results['stop_reason']})"),
        ("training examples", f"{results['train_examples']:,}"),
        ("training wall time", f"{results['train_minutes']:.1f} min"),
        ("training tokens/s", f"{results['train_tokens_per_second']:,}"),
        ("bucketed tokens/s", f"{results['bucketed_tokens_per_second']:,}"),
        ("fixed-padding tokens/s", f"{results['padded_tokens_per_second']:,}"),
        ("bucketing speed-up", f"{results['bucketing_speedup']:.2f}x"),
        ("SavedModel latency, 1 short string", f"{latency_short:.2f} ms (median)"),
        ("SavedModel latency, 1 long review", f"{latency_long:.2f} ms (median)"),
    ]
    pretrained = results["pretrained"]
    if pretrained:
        rows[3:3] = [("pretraining", f"{pretrained['minutes']:.1f} min on {pretrained['corpus']}; validation sampled "
                                     f"loss {pretrained['validation_sampled_loss']:.3f}"),
                     ("pretraining + fine-tuning", f"{pretrained['minutes'] + results['train_minutes']:.1f} min")]
    command = " ".join(["python benchmarks/sentiment.py", "--recipe", args.recipe, "--out", args.out,
                        *(["--small-train", str(args.small_train)] if args.small_train else []),
                        *[f"--set {o}" for o in args.overrides], "--record"])
    json_out = args.json_out or HERE / "results" / (pathlib.Path(args.recipe).stem
                                                    + (f"-small-{args.small_train}" if args.small_train else "")
                                                    + ".json")
    reporting.publish(results, rows, json_out, record=args.record, title=f"sentiment: {args.recipe}",
                   command=command)

if __name__ == "__main__":
    main()
