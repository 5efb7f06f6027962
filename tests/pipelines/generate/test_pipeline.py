"""The generation pipeline end to end on the toy play: learns its layout, seeded sampling, scoring with the
state carried, bundle and SavedModel parity, bad input."""

import json
import os
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from rnnapps import cli
from rnnapps.errors import UserError
from rnnapps.pipelines.generate import GeneratePipeline, preprocess
from rnnapps.pipelines.generate import pipeline as generate_pipeline

SPEAKER_LINE = re.compile(r"^[A-Z]+:$", re.MULTILINE)


def test_learns_the_toy_play(generate_run):
    pipeline = GeneratePipeline.from_bundle(generate_run)
    report = pipeline.metrics["validation"]
    # A uniform guess over the ~50 characters costs ln(50) = 3.9 nats; the play is very repetitive.
    assert report["nats_per_char"] < 0.8, report
    assert report["bits_per_char"] == pytest.approx(report["nats_per_char"] / np.log(2))
    assert report["perplexity"] == pytest.approx(np.exp(report["nats_per_char"]))
    text = pipeline("", length=300, temperature=0.5, seed=3)["text"]
    # The layout is learned: speaker names in capitals on their own line, then lowercase speech.
    assert len(SPEAKER_LINE.findall(text)) >= 3, text
    assert "\n\n" in text


def test_sampling_is_reproducible_and_continues_the_prompt(generate_run):
    pipeline = GeneratePipeline.from_bundle(generate_run)
    first = pipeline(["ROMEO:\n", "the "], length=50, seed=11, num_samples=2)
    assert [r["prompt"] for r in first] == ["ROMEO:\n", "ROMEO:\n", "the ", "the "]
    assert [r["sample"] for r in first] == [1, 2, 1, 2]
    assert all(r["text"] == r["prompt"] + r["generated"] and len(r["generated"]) == 50 for r in first)
    assert pipeline(["ROMEO:\n", "the "], length=50, seed=11, num_samples=2) == first
    assert first[0]["generated"] != first[1]["generated"]  # two samples of one prompt differ
    other = pipeline(["ROMEO:\n"], length=50, seed=12)
    assert other[0]["generated"] != first[0]["generated"]
    unseeded = pipeline("x", length=5)
    assert isinstance(unseeded["seed"], int)


def test_top_k_one_is_greedy(generate_run):
    pipeline = GeneratePipeline.from_bundle(generate_run)
    by_seed = {pipeline("NURSE:\n", length=40, top_k=1, seed=seed)["generated"] for seed in range(3)}
    tiny_nucleus = pipeline("NURSE:\n", length=40, top_p=1e-6, seed=5)["generated"]
    assert len(by_seed) == 1 and tiny_nucleus in by_seed


def test_score_carries_the_state_across_chunks(generate_run):
    pipeline = GeneratePipeline.from_bundle(generate_run)
    ids = preprocess.encode_text(pipeline.tokenizer, "ROMEO:\nwhere is my house?\n\nNURSE:\ni see thee.\n" * 30)
    report = pipeline.score(ids)
    # The same streams read whole in one pass must give the same total.
    streams = min(generate_pipeline._STREAMS, len(ids) - 1)
    per_stream = (len(ids) - 1) // streams
    inputs = ids[:streams * per_stream].reshape(streams, per_stream)
    targets = ids[1:streams * per_stream + 1].reshape(streams, per_stream)
    logits, _ = pipeline.model.run(inputs)
    nats = keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))
    assert report["characters"] == nats.size
    assert report["nats_per_char"] == pytest.approx(float(nats.mean()), rel=1e-4)


def test_odd_prompts_get_valid_samples_and_bad_settings_clear_errors(generate_run):
    pipeline = GeneratePipeline.from_bundle(generate_run)
    results = pipeline(["", "☃ζ never seen ✓", "x" * 30000], length=20, seed=1)
    assert [len(r["generated"]) for r in results] == [20, 20, 20]
    assert pipeline("abc", length=0)["generated"] == ""
    assert pipeline([]) == []
    for settings, message in [({"temperature": 0}, "temperature = 0 must be > 0"),
                              ({"temperature": -1.0}, "temperature = -1.0 must be > 0"),
                              ({"top_p": 0.0}, "top_p = 0.0 must be in (0, 1]"),
                              ({"top_p": 1.5}, "top_p = 1.5 must be in (0, 1]"),
                              ({"top_k": -2}, "top_k = -2 must be >= 0"),
                              ({"length": -1}, "length = -1 must be between 0"),
                              ({"num_samples": 0}, "num_samples = 0 must be >= 1")]:
        with pytest.raises(UserError, match=re.escape(message)):
            pipeline("a", **settings)


def test_bundle_and_saved_model_generate_the_same_without_rnnapps(generate_run, tmp_path):
    pipeline = GeneratePipeline.from_bundle(generate_run)
    prompts = ["", "ROMEO:\n", "☃"]
    expected = [r["text"] for r in pipeline(prompts, length=60, temperature=0.9, seed=21)]
    filtered = [r["text"] for r in pipeline(prompts, length=60, temperature=0.9, top_k=5, top_p=0.9, seed=21)]
    again = GeneratePipeline.from_bundle(generate_run / "bundle")
    assert [r["text"] for r in again(prompts, length=60, temperature=0.9, seed=21)] == expected
    saved = pipeline.export(tmp_path / "saved_model")
    script = textwrap.dedent(f"""
        import json, sys
        sys.modules["rnnapps"] = None
        import tensorflow as tf
        model = tf.saved_model.load({str(saved)!r})
        common = dict(prompt=tf.constant({prompts!r}), length=tf.constant(60), temperature=tf.constant(0.9),
                      seed=tf.constant(21, tf.int64))
        plain = model.signatures["serving_default"](**common)["text"].numpy()
        filtered = model.signatures["generate_filtered"](**common, top_k=tf.constant(5),
                                                         top_p=tf.constant(0.9))["text"].numpy()
        print(json.dumps([[t.decode() for t in plain], [t.decode() for t in filtered]]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [expected, filtered]


def run_cli(*args):
    return CliRunner().invoke(cli.cli, ["-q", *map(str, args)])


def test_cli_predict_evaluate_and_errors(generate_run):
    result = run_cli("generate", "predict", "--bundle", generate_run, "--prompt", "ROMEO:", "--length", "30",
                     "--seed", "4", "--num-samples", "2", "--json")
    assert result.exit_code == 0, result.output
    samples = json.loads(result.stdout)
    assert len(samples) == 2 and all(s["text"].startswith("ROMEO:") and s["seed"] == 4 for s in samples)
    header = run_cli("generate", "predict", "--bundle", generate_run, "--prompt", r"M:6/8\nK:D\n", "--length", "5",
                     "--json")
    assert json.loads(header.stdout)[0]["text"].startswith("M:6/8\nK:D\n")  # \n typed in a shell: a line break
    plain = run_cli("generate", "sample", "--bundle", generate_run, "--length", "10", "--seed", "4")
    assert plain.exit_code == 0 and plain.stdout.startswith("----- sample 1 (seed 4)")
    evaluated = run_cli("generate", "evaluate", "--bundle", generate_run, "--json")
    assert evaluated.exit_code == 0 and json.loads(evaluated.stdout)["bits_per_char"] > 0
    for args, fragment in [(["--temperature", "0"], "temperature = 0.0 must be > 0"),
                           (["--top-p", "2"], "top_p = 2.0 must be in (0, 1]"),
                           (["--length", "-5"], "length = -5 must be between 0")]:
        bad = run_cli("generate", "predict", "--bundle", generate_run, *args)
        assert bad.exit_code == 2 and bad.stderr.startswith("error: ") and fragment in bad.stderr, bad.output
        assert len(bad.stderr.strip().splitlines()) == 1
    # `sample`, the command's name before every task's was `predict`, still works (the plain run above used it).


def test_a_text_file_trains_with_a_recipe_only(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abcabcabd\n" * 400, encoding="utf-8")
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f'task = "generate"\n[data]\nsource = "{corpus}"\n[decoder]\ncell = "gru"\nunits = 32\n'
                      "num_layers = 2\n[model]\nsequence_length = 20\n[training]\nepochs = 3\nbatch_size = 16\n"
                      "learning_rate = 0.01\n", encoding="utf-8")
    result = run_cli("generate", "train", "--recipe", recipe, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    pipeline = GeneratePipeline.from_bundle(tmp_path / "run")
    assert pipeline.metrics["validation"]["nats_per_char"] < 1.0
    assert pipeline.model.cell == "gru" and pipeline.model.num_layers == 2


@pytest.mark.parametrize("override, fragment", [
    ("decoder.bidirectional=true", "decoder.bidirectional = true cannot generate text"),
    ('tokenizer.kind="word"', "generation reads characters"),
    ("decoding.temperature=0", "decoding.temperature = 0.0 must be > 0"),
    ("model.sequence_length=1", "model.sequence_length = 1 must be"),
])
def test_bad_recipes_are_one_line_errors(override, fragment, tmp_path):
    result = run_cli("generate", "train", "--recipe", cli.TASKS_DIR / "generate-demo.toml", "--set", override,
                     "--out", tmp_path / "run")
    assert result.exit_code == 2 and fragment in result.stderr, result.output


def test_stateful_training_learns_and_its_bundle_reloads(tmp_path):
    recipe = GeneratePipeline.load_recipe(cli.TASKS_DIR / "generate-demo.toml", [
        "model.stateful=true", "training.epochs=4", "data.demo_characters=30000", "training.batch_size=16"])
    pipeline = GeneratePipeline.train(recipe, tmp_path / "run")
    assert pipeline.model.stateful_batch_size == 16
    assert pipeline.metrics["validation"]["nats_per_char"] < 1.2
    again = GeneratePipeline.from_bundle(tmp_path / "run")
    assert again("ROMEO:\n", length=40, seed=2) == pipeline("ROMEO:\n", length=40, seed=2)
