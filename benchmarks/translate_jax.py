"""Decoding speed of a trained translator on the JAX backend: the compiled loop against per-token Python loops.

For machines that have JAX but no TensorFlow (the GPU machines this project is sometimes lent), in two steps:

  prepare   (where TensorFlow is: the bundle, its tokenizers and data need it) writes one small folder: the
            model's config and weights (no optimizer state), the first --sentences distinct test sources as
            token ids, and the greedy output ids of the TensorFlow serving graph for them.
  measure   (needs Keras, JAX and rnnapps' model code, not TensorFlow) loads the model on the JAX
            backend and decodes those ids at batch 64 and batch 1 with
              * the shared loop (`rnnapps.decoding.decode`, greedy and beam search) compiled whole by `jax.jit`,
              * a Python loop that calls a `jax.jit`-compiled `model.decoding_step` once per token,
              * the same Python loop with the step run eagerly (op by op, as the TensorFlow tutorial does),
            checks that the greedy outputs agree token for token (with each other and with TensorFlow's),
            prints a table, writes JSON and, with --record, appends to benchmarks/RESULTS.md.
            Every shape is compiled before timing (one warm-up pass over all batches).

    python benchmarks/translate_jax.py prepare --bundle benchmarks/out/translate-spa-en --out benchmarks/out/jax-input
    KERAS_BACKEND=jax python benchmarks/translate_jax.py measure --input benchmarks/out/jax-input --record
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
BATCHES = (64, 1)
BEAM = 4


def prepare(bundle: str, out: pathlib.Path, sentences: int) -> None:
    """Write model.json, model.weights.h5 and sources.npz for `measure` (needs TensorFlow)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import numpy as np
    import tensorflow as tf

    from rnnapps.pipelines import translate
    from rnnapps.pipelines.translate import data

    pipeline = translate.TranslatePipeline.from_bundle(bundle)
    recipe = pipeline.recipe
    texts = data.read_splits(recipe.data, recipe.seed).test.grouped()[0][:sentences]
    ids = pipeline.preprocessor.encode_sources(tf.constant(texts)).numpy()  # as the serving module reads them
    reference = pipeline.serving.translate_function(1, with_attention=True)(tf.constant(texts))["ids"].numpy()
    out.mkdir(parents=True, exist_ok=True)
    pipeline.model.save_weights(out / "model.weights.h5")
    (out / "model.json").write_text(json.dumps({
        "bundle": str(bundle), "model": pipeline.model.get_config(),
        "max_output_length": recipe.max_output_length, "alpha": recipe.decoding.alpha}, indent=2) + "\n")
    np.savez(out / "sources.npz", ids=ids, tensorflow_greedy_ids=reference)
    weights_mib = (out / "model.weights.h5").stat().st_size / 2**20
    print(f"wrote {out}: {len(texts)} sources, model weights {weights_mib:.1f} MiB")


def measure(folder: pathlib.Path, json_out: str, record: bool) -> None:
    """Time compiled and Python-loop decoding on the JAX backend (needs no TensorFlow)."""
    if os.environ.get("KERAS_BACKEND") != "jax":
        sys.exit("measure runs on the JAX backend: set KERAS_BACKEND=jax")
    import jax
    import keras
    import numpy as np
    from keras import ops

    from rnnapps import decoding
    from rnnapps.pipelines.translate import model as models
    from rnnapps.special_tokens import END_ID, PAD_ID, START_ID

    meta = json.loads((folder / "model.json").read_text())
    model = models.Seq2Seq.from_config(meta["model"])
    model.build(((None, None), (None, None)))
    model.load_weights(folder / "model.weights.h5")
    data = np.load(folder / "sources.npz")
    lengths = (data["ids"] != PAD_ID).sum(axis=1)
    max_length, alpha = meta["max_output_length"], meta["alpha"]

    def encoded(source):
        start = model.start_decoding(source, training=False)
        return tuple(start.state), tuple(start.context)  # arrays only, so that jax.jit can return them

    def compiled(beam_size):
        strategy = decoding.search_strategy(beam_size, alpha)

        @jax.jit
        def run(source):
            return decoding.decode(model, source, strategy, max_length).ids
        return run

    def greedy_step(tokens, state, context, finished):
        logits, state, _ = model.decoding_step(tokens, state, context)
        chosen = ops.cast(ops.argmax(decoding.next_token_log_probs(logits), axis=-1), "int32")
        return ops.where(finished, PAD_ID, chosen), state

    def python_loop(step, encode):
        def run(source):
            state, context = encode(source)
            tokens = ops.full((source.shape[0],), START_ID, "int32")
            finished = ops.zeros((source.shape[0],), "bool")
            outputs = []
            for _ in range(max_length):
                tokens, state = step(tokens, state, context, finished)
                outputs.append(tokens)
                finished = ops.logical_or(finished, tokens == END_ID)
                if bool(ops.all(finished)):
                    break
            ids = np.stack([np.asarray(t) for t in outputs], axis=1)
            return np.pad(ids, [(0, 0), (0, max_length - ids.shape[1])])
        return run

    decoders = {
        "compiled greedy": compiled(1), f"compiled beam {BEAM}": compiled(BEAM),
        "python loop, jitted step": python_loop(jax.jit(greedy_step), jax.jit(encoded)),
        "python loop, eager step": python_loop(greedy_step, encoded),
    }
    results, rows = {}, []
    for batch in BATCHES:
        count = len(data["ids"]) if batch > 1 else min(100, len(data["ids"]))
        sources = [data["ids"][i:i + batch, :max(1, int(lengths[i:i + batch].max()))]
                   for i in range(0, count, batch)]
        rates, outputs = {}, {}
        for name, run in decoders.items():
            for source in sources:  # compile every shape before timing
                np.asarray(run(source))
            started = time.perf_counter()
            outputs[name] = np.concatenate([np.asarray(run(source)) for source in sources])
            rates[name] = count / (time.perf_counter() - started)
        greedy = outputs["compiled greedy"]
        loop_mismatches = int((greedy != outputs["python loop, jitted step"]).any(axis=1).sum())
        tensorflow_mismatches = int((greedy != data["tensorflow_greedy_ids"][:count]).any(axis=1).sum())
        versus_jitted = rates["compiled greedy"] / rates["python loop, jitted step"]
        versus_eager = rates["compiled greedy"] / rates["python loop, eager step"]
        results[f"batch{batch}"] = {
            "sentences": count,
            **{f"{name.replace(',', '').replace(' ', '_')}_sentences_per_second": round(rate, 1)
               for name, rate in rates.items()},
            "speedup_vs_jitted_step_loop": round(versus_jitted, 2),
            "speedup_vs_eager_step_loop": round(versus_eager, 2),
            "greedy_mismatches_vs_jitted_step_loop": loop_mismatches,
            "greedy_mismatches_vs_tensorflow": tensorflow_mismatches,
        }
        rows += [(f"{name}, batch {batch}", f"{rate:,.1f} sentences/s") for name, rate in rates.items()]
        rows += [(f"compiled vs python loop, batch {batch}",
                  f"{versus_jitted:.2f}x (jitted step), {versus_eager:.2f}x (eager step); "
                  f"{loop_mismatches} of {count} greedy outputs differ"),
                 (f"greedy outputs differing from TensorFlow's, batch {batch}", f"{tensorflow_mismatches} of {count}")]
    accelerators = [device for device in jax.devices() if device.platform != "cpu"]
    accelerator = f"{len(accelerators)} GPU ({accelerators[0].device_kind})" if accelerators else "no GPU"
    machine = (f"{os.uname().machine}, {os.cpu_count()} CPU cores, {accelerator}, JAX {jax.__version__}, "
               f"Keras {keras.__version__}")
    results.update(date=datetime.date.today().isoformat(), machine=machine, model=meta["bundle"])
    sys.path.insert(0, str(HERE))
    import reporting

    script = "python benchmarks/translate_jax.py"
    reporting.publish(results, rows, json_out, record=record, title=f"translate on JAX: {meta['bundle']}",
                      command=f"KERAS_BACKEND=jax {script} measure --input {folder} --record",
                      notes=(f"model: trained earlier on TensorFlow ({meta['bundle']}), weights loaded on JAX",
                             f"inputs: `{script} prepare --bundle {meta['bundle']} --out {folder}`"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="write the inputs of `measure` (needs TensorFlow)")
    prep.add_argument("--bundle", default="benchmarks/out/translate-spa-en")
    prep.add_argument("--out", default="benchmarks/out/jax-input")
    prep.add_argument("--sentences", type=int, default=640, help="first N distinct test sources")
    run = commands.add_parser("measure", help="time the decoders on the JAX backend (no TensorFlow)")
    run.add_argument("--input", default="benchmarks/out/jax-input")
    run.add_argument("--json-out", default=str(HERE / "results" / "translate-jax.json"))
    run.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.bundle, pathlib.Path(args.out), args.sentences)
    else:
        measure(pathlib.Path(args.input), args.json_out, args.record)


if __name__ == "__main__":
    main()
