"""Translation benchmark on real data: BLEU/chrF, training time and throughput, decoding throughput.

Trains a recipe (default: tasks/translate-spa-en.toml) from scratch, evaluates on its test split (every
distinct test source against all its references) and measures:
  * cased sacreBLEU and chrF (sacreBLEU's defaults) and lowercased BLEU, with greedy decoding and with beam
    search (beam 4), and whether the model writes capitals at all (a lowercasing target tokenizer),
  * training wall time and target tokens/s (target tokens + END of the training pairs kept after the
    data.max_pair_length filter, which defaults to data.max_length; validation time included),
  * decoding throughput (sentences/s) at batch 64 on the first --decode-sentences distinct test sources,
    and at batch 1 (one sentence per call, as a service answers requests) on the first
    --decode-sentences-batch1: the compiled batched decoder (`TranslatorServing.translate_function`, the
    whole loop in one graph),
    greedy and beam 4, next to the same model decoded the way the TensorFlow NMT tutorial does it: a Python
    loop that calls `model.decoding_step` once per token, the step compiled with tf.function or run eagerly (as
    the tutorial's `translate` method does). The greedy decoders must give the same output, token for token.
  * where a batch's decoding time goes: the encoder compiled and eager, one decoder step inside the compiled
    loop and one call of the Python loop's tf.function step (a compiled loop removes only the difference).
Prints a table, writes JSON (--json-out) and, with --record, appends the run to benchmarks/RESULTS.md.

    python benchmarks/translate.py --record
    python benchmarks/translate.py --skip-train --out runs/spa-en-explore --record   # measure a trained bundle
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
from rnnapps.pipelines import translate  # noqa: E402
from rnnapps.pipelines.translate import data  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
log = logging.getLogger("benchmarks.translate")
BATCH = 64
BEAM = 4


def first_sources(pairs: data.SentencePairs, count: int) -> data.SentencePairs:
    """The pairs of the first `count` distinct sources (all of them for count <= 0)."""
    if count <= 0:
        return pairs
    kept = set(pairs.grouped()[0][:count])
    return pairs.subset([i for i, source in enumerate(pairs.sources) if source in kept])


def target_tokens(pipeline: translate.TranslatePipeline, pairs: data.SentencePairs) -> int:
    """Target tokens (+ END) of the training pairs the pipeline trains on (after the max_pair_length filter)."""
    _, _, target_out, _ = pipeline.preprocessor.training_examples(pairs)
    return int(target_out.row_lengths().numpy().sum())


def batches(texts: list[str], size: int) -> list[tf.Tensor]:
    return [tf.constant(texts[start:start + size], tf.string) for start in range(0, len(texts), size)]


def compiled_decoding(pipeline: translate.TranslatePipeline, texts: list[str], beam_size: int, batch: int):
    """(sentences/s, translations) of the compiled batched decoder; one warm-up call, then every batch."""
    translate_fn = pipeline.serving.translate_function(beam_size)
    inputs = batches(texts, batch)
    translate_fn(inputs[0])  # warm-up
    outputs, started = [], time.perf_counter()
    for batch in inputs:
        outputs.extend(translate_fn(batch)["translation"].numpy())
    seconds = time.perf_counter() - started
    return len(texts) / seconds, [t.decode("utf-8") for t in outputs]


class TutorialGreedy:
    """Greedy decoding the way the TensorFlow NMT tutorial does it: the encoder runs once per batch
    (`model.start_decoding`), then a Python loop calls a tf.function-compiled `model.decoding_step` once per
    token, picks the argmax and stops when every sentence has emitted END. Same model, same tokenizers, same
    token rules as `decoding.greedy` (PAD and START forbidden, PAD after END)."""

    def __init__(self, pipeline: translate.TranslatePipeline, compiled_step: bool = True):
        self.pipeline = pipeline
        self.compiled_step = compiled_step
        self.model = pipeline.model
        self.max_output_length = pipeline.recipe.max_output_length
        self._step = None

    def greedy_step(self, tokens, state, context, finished):
        """One token for every sentence: (the argmax tokens, PAD where finished [n], the new state)."""
        logits, state, _ = self.model.decoding_step(tokens, state, context)
        chosen = tf.cast(tf.argmax(decoding.next_token_log_probs(logits), axis=-1), tf.int32)
        return tf.where(finished, tokenizers.PAD_ID, chosen), tuple(state)

    def _compiled_step(self, tokens, state, context):
        if self._step is None:
            def spec(tensor):
                return tf.TensorSpec([None] * len(tensor.shape), tensor.dtype)

            if not self.compiled_step:  # eager: one Python-level op dispatch per layer and token
                self._step = self.greedy_step
                return self._step
            self._step = tf.function(self.greedy_step, input_signature=[
                spec(tokens), tf.nest.map_structure(spec, tuple(state)), tf.nest.map_structure(spec, tuple(context)),
                tf.TensorSpec([None], tf.bool)])
        return self._step

    def __call__(self, text: tf.Tensor) -> list[str]:
        ids = self.pipeline.preprocessor.encode_sources(text)  # the serving module's source ids, truncated alike
        start = self.model.start_decoding(ids, training=False)
        batch = int(ids.shape[0])
        tokens = tf.fill([batch], tokenizers.START_ID)
        finished = tf.zeros([batch], tf.bool)
        state, context = tuple(start.state), tuple(start.context)
        step = self._compiled_step(tokens, state, context)
        outputs = []
        for _ in range(self.max_output_length):
            tokens, state = step(tokens, state, context, finished)
            outputs.append(tokens)
            finished = tf.logical_or(finished, tokens == tokenizers.END_ID)
            if bool(tf.reduce_all(finished)):
                break
        result = tf.stack(outputs, axis=1)
        result = tf.pad(result, [[0, 0], [0, self.max_output_length - int(result.shape[1])]])
        return [t.decode("utf-8") for t in self.pipeline.target_tokenizer.detokenize(result).numpy()]


def python_loop_decoding(pipeline: translate.TranslatePipeline, texts: list[str], batch: int,
                         compiled_step: bool = True):
    """(sentences/s, translations) of the tutorial-style per-token Python loop, greedy."""
    decoder = TutorialGreedy(pipeline, compiled_step)
    inputs = batches(texts, batch)
    decoder(inputs[0])  # warm-up: traces the step
    outputs, started = [], time.perf_counter()
    for batch in inputs:
        outputs.extend(decoder(batch))
    seconds = time.perf_counter() - started
    return len(texts) / seconds, outputs


def measure_decoding(pipeline: translate.TranslatePipeline, texts: list[str], batch: int) -> dict:
    """Sentences/s of compiled greedy and beam 4 and of the per-token Python loops, at one batch size."""
    greedy_rate, greedy_out = compiled_decoding(pipeline, texts, 1, batch)
    beam_rate, _ = compiled_decoding(pipeline, texts, BEAM, batch)
    loop_rate, loop_out = python_loop_decoding(pipeline, texts, batch)
    eager_rate, eager_out = python_loop_decoding(pipeline, texts, batch, compiled_step=False)
    for index, (a, b) in enumerate(zip(greedy_out, loop_out)):
        if a != b:
            log.warning("greedy mismatch on %r: compiled %r, python loop %r", texts[index], a, b)
            break
    return {
        "sentences": len(texts),
        "compiled_greedy_sentences_per_second": round(greedy_rate, 1),
        "compiled_beam4_sentences_per_second": round(beam_rate, 1),
        "python_loop_greedy_sentences_per_second": round(loop_rate, 1),
        "compiled_vs_python_loop_speedup": round(greedy_rate / loop_rate, 2),
        "greedy_mismatches": sum(a != b for a, b in zip(greedy_out, loop_out)),
        "python_loop_eager_step_sentences_per_second": round(eager_rate, 1),
        "compiled_vs_eager_loop_speedup": round(greedy_rate / eager_rate, 2),
        "eager_loop_greedy_mismatches": sum(a != b for a, b in zip(greedy_out, eager_out)),
    }


def _milliseconds(function, repeats: int) -> float:
    """Mean wall time of `function()` in ms over `repeats` calls, after one warm-up call."""
    function()
    started = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - started) / repeats * 1000


def decoding_breakdown(pipeline: translate.TranslatePipeline, texts: list[str], steps: int = 100) -> dict:
    """Where one batch's decoding time goes: the encoder (`model.start_decoding`: encoder, bridges and the
    attention keys) compiled and eager, one decoder step inside a compiled
    loop (the arithmetic, no dispatch) and one call of the tutorial loop's tf.function step (arithmetic plus
    the per-call dispatch). A compiled loop can only remove the dispatch and the eager encoder; what is left
    is the step's arithmetic, which on a CPU is mostly the output projection.

    Args:
        pipeline: a trained pipeline.
        texts: one batch of source sentences.
        steps: decoder steps timed inside the compiled loop.

    Returns:
        {"sentences": batch size, "<part>_ms": milliseconds, ...}.
    """
    model = pipeline.model
    text = tf.constant(texts, tf.string)
    ids = pipeline.preprocessor.encode_sources(text)

    def encode(ids):
        start = model.start_decoding(ids, training=False)
        return tuple(start.state), tuple(start.context)  # tensors only: a tf.function returns no dataclass

    compiled_encoder = tf.function(encode)
    state, context = encode(ids)
    tokens = tf.fill([len(texts)], tokenizers.START_ID)
    finished = tf.zeros([len(texts)], tf.bool)
    tutorial = TutorialGreedy(pipeline)

    @tf.function
    def compiled_steps():
        def body(index, tokens, state):
            return index + 1, *tutorial.greedy_step(tokens, state, context, finished)
        return tf.while_loop(lambda index, *_: index < steps, body, (tf.constant(0), tokens, state))[1]

    tutorial_step = tutorial._compiled_step(tokens, state, context)
    return {
        "sentences": len(texts),
        "encoder_compiled_ms": round(_milliseconds(lambda: compiled_encoder(ids), 10), 2),
        "encoder_eager_ms": round(_milliseconds(lambda: encode(ids), 5), 2),
        "step_in_compiled_loop_ms": round(_milliseconds(compiled_steps, 3) / steps, 3),
        "tf_function_step_call_ms": round(_milliseconds(
            lambda: tutorial_step(tokens, state, context, finished), 50), 3),
    }


def breakdown_table_rows(parts: dict) -> list[tuple[str, str]]:
    """Table rows for one `decoding_breakdown` result."""
    on = f"batch {parts['sentences']}"
    return [
        (f"encoder, compiled / eager, ms per {on}",
         f"{parts['encoder_compiled_ms']:.1f} / {parts['encoder_eager_ms']:.1f}"),
        (f"one decoder step inside the compiled loop, ms, {on}", f"{parts['step_in_compiled_loop_ms']:.2f}"),
        (f"one call of the python loop's tf.function step, ms, {on}", f"{parts['tf_function_step_call_ms']:.2f}"),
    ]


def decoding_table_rows(measured: dict, batch: int) -> list[tuple[str, str]]:
    """Table rows for one `measure_decoding` result."""
    on = f"batch {batch}, {measured['sentences']} test sources"
    count = measured["sentences"]
    return [
        (f"compiled greedy sentences/s, batch {batch}",
         f"{measured['compiled_greedy_sentences_per_second']:,.1f} ({on})"),
        (f"compiled beam 4 sentences/s, batch {batch}", f"{measured['compiled_beam4_sentences_per_second']:,.1f}"),
        (f"python-loop greedy sentences/s, batch {batch}",
         f"{measured['python_loop_greedy_sentences_per_second']:,.1f} (tf.function step called once per token)"),
        (f"compiled vs python-loop speed-up, batch {batch}",
         f"{measured['compiled_vs_python_loop_speedup']:.2f}x (greedy; {measured['greedy_mismatches']} of {count} "
         "outputs differ)"),
        (f"python-loop greedy, eager step, sentences/s, batch {batch}",
         f"{measured['python_loop_eager_step_sentences_per_second']:,.1f} "
         f"({measured['compiled_vs_eager_loop_speedup']:.2f}x slower than compiled; "
         f"{measured['eager_loop_greedy_mismatches']} of {count} outputs differ)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="tasks/translate-spa-en.toml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override")
    parser.add_argument("--out", default="benchmarks/out/translate-spa-en", help="run directory (replaced)")
    parser.add_argument("--skip-train", action="store_true", help="reuse the bundle already in --out")
    parser.add_argument("--decode-sentences", type=int, default=640,
                        help="decoding throughput on the first N distinct test sources")
    parser.add_argument("--decode-sentences-batch1", type=int, default=100,
                        help="decoding throughput at batch 1 on the first N distinct test sources")
    parser.add_argument("--test-sentences", type=int, default=0,
                        help="BLEU/chrF on the first N distinct test sources only (0 = the whole test split)")
    parser.add_argument("--json-out", default=str(HERE / "results" / "translate-spa-en.json"))
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    run_dir = pathlib.Path(args.out)
    if not args.skip_train:
        recipe = translate.TranslatePipeline.load_recipe(args.recipe, args.overrides)
        shutil.rmtree(run_dir, ignore_errors=True)
        translate.TranslatePipeline.train(recipe, run_dir)
    pipeline = translate.TranslatePipeline.from_bundle(run_dir / "bundle")
    recipe = pipeline.recipe  # the recipe the bundle was trained with
    report = pipeline.metrics
    train_seconds = report["training"]["train_seconds"]
    epochs = report["training"]["epochs_completed"]

    splits = data.read_splits(recipe.data, recipe.seed)
    test = first_sources(splits.test, args.test_sentences)
    started = time.perf_counter()
    greedy_scores = pipeline.score(test, beam_size=1)
    beam_scores = pipeline.score(test, beam_size=BEAM)
    log.info("BLEU/chrF of %d sentences, greedy and beam %d: %.0f s", greedy_scores["sentences"], BEAM,
                 time.perf_counter() - started)
    tokens_per_epoch = target_tokens(pipeline, splits.train)

    texts = splits.test.grouped()[0][:args.decode_sentences]
    decoding_results, decoding_rows = {}, []
    for batch, count in ((BATCH, args.decode_sentences), (1, args.decode_sentences_batch1)):
        measured = measure_decoding(pipeline, texts[:count], batch)
        decoding_results.update({f"batch{batch}_{key}": value for key, value in measured.items()})
        decoding_rows += decoding_table_rows(measured, batch)
        parts = decoding_breakdown(pipeline, texts[:batch])
        decoding_results.update({f"batch{batch}_{key}": value for key, value in parts.items()})
        decoding_rows += breakdown_table_rows(parts)
    results = {
        "recipe": args.recipe if not args.skip_train else str(run_dir / "bundle"),
        "overrides": args.overrides, "skip_train": args.skip_train,
        "date": datetime.date.today().isoformat(),
        "machine": reporting.machine(),
        "test_bleu_greedy": greedy_scores["bleu"], "test_bleu_beam4": beam_scores["bleu"],
        "test_chrf_greedy": greedy_scores["chrf"], "test_chrf_beam4": beam_scores["chrf"],
        "test_bleu_lowercase_greedy": greedy_scores["bleu_lowercase"],
        "test_bleu_lowercase_beam4": beam_scores["bleu_lowercase"],
        "target_lowercased": beam_scores["target_lowercased"],
        "test_sentences": greedy_scores["sentences"], "test_sentences_cap": args.test_sentences,
        "bleu_signature": beam_scores["bleu_signature"], "chrf_signature": beam_scores["chrf_signature"],
        "epochs": epochs, "best_epoch": report["training"]["best_epoch"],
        "stop_reason": report["training"]["stop_reason"],
        "train_minutes": round(train_seconds / 60, 2),
        "train_target_tokens_per_second": round(tokens_per_epoch * epochs / train_seconds),
        **decoding_results,
    }
    cap = f", first {args.test_sentences} only" if args.test_sentences else ""
    rows = [
        ("test sacreBLEU, greedy", f"{results['test_bleu_greedy']:.2f}"),
        ("test sacreBLEU, beam 4", f"{results['test_bleu_beam4']:.2f}"),
        ("test chrF, greedy", f"{results['test_chrf_greedy']:.2f}"),
        ("test chrF, beam 4", f"{results['test_chrf_beam4']:.2f}"),
        ("test lowercased BLEU, greedy / beam 4",
         f"{results['test_bleu_lowercase_greedy']:.2f} / {results['test_bleu_lowercase_beam4']:.2f}"),
        ("output case", "lowercase: the recipe lowercases the target, so cased BLEU counts every capital as an "
         "error" if results["target_lowercased"] else "cased (the target tokenizer keeps case)"),
        ("test sentences", f"{results['test_sentences']} distinct sources, all references{cap}"),
        ("epochs (best, stop)", f"{epochs} ({results['best_epoch']}, {results['stop_reason']})"),
        ("training wall time", f"{results['train_minutes']:.1f} min"),
        ("training target tokens/s", f"{results['train_target_tokens_per_second']:,}"),
        *decoding_rows,
    ]
    options = ["--skip-train", "--out", args.out] if args.skip_train else ["--recipe", args.recipe]
    options += [f"--set {o}" for o in args.overrides]
    if args.decode_sentences != 640:
        options += ["--decode-sentences", str(args.decode_sentences)]
    if args.decode_sentences_batch1 != 100:
        options += ["--decode-sentences-batch1", str(args.decode_sentences_batch1)]
    if args.test_sentences:
        options += ["--test-sentences", str(args.test_sentences)]
    source = (f"the bundle in {args.out}, trained earlier (not by this command)" if args.skip_train
              else f"trained by this command in {args.out}")
    title = args.recipe if not args.skip_train else f"{args.out} (--skip-train)"
    reporting.publish(results, rows, args.json_out, record=args.record, title=f"translate: {title}",
                   command=" ".join(["python benchmarks/translate.py", *options, "--record"]),
                   notes=(f"model: {source}",))

if __name__ == "__main__":
    main()
