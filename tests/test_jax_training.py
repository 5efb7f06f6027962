"""`rnnapps TASK train --backend jax`: the fit runs on JAX in a child process, and what it leaves is an ordinary
bundle. It reaches the quality the TensorFlow-trained demo runs are held to (tests/pipelines), and evaluate,
predict and export, all on TensorFlow, work on it unchanged. (tests/test_multi_process.py does the same for a
translation model trained by two JAX processes.)"""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import tensorflow as tf

from rnnapps.pipelines.sentiment import SentimentPipeline

pytest.importorskip("jax")

ROOT = pathlib.Path(__file__).resolve().parent.parent


def train_on_jax(task: str, out: pathlib.Path, *overrides: str) -> subprocess.CompletedProcess:
    """`rnnapps -q TASK train --recipe TASK-demo --backend jax` in a fresh process, as a user runs it."""
    command = [sys.executable, "-m", "rnnapps", "-q", task, "train", "--recipe", f"{task}-demo", "--out", str(out),
               "--backend", "jax", *(f"--set={item}" for item in overrides)]
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "KERAS_BACKEND": "tensorflow"}
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=out.parent)


def trained_by(run: pathlib.Path) -> str:
    return json.loads((run / "bundle" / "metrics.json").read_text())["training"]["backend"]


@pytest.mark.slow
def test_sentiment_trained_on_jax_scores_predicts_and_exports(tmp_path):
    run = tmp_path / "run"
    done = train_on_jax("sentiment", run, "training.epochs=5", "training.num_buckets=2")  # fewer shapes to compile
    assert done.returncode == 0, done.stderr[-3000:]
    assert "bundle written to" in done.stdout
    assert trained_by(run) == "jax"
    pipeline = SentimentPipeline.from_bundle(run)
    assert pipeline.metrics["test"]["accuracy"] >= 0.95
    assert pipeline.evaluate()["accuracy"] == pipeline.metrics["test"]["accuracy"]
    texts = ["the acting was wonderful and the story was great", "a dull, boring and awful film"]
    predicted = pipeline(texts)
    assert [result["label"] for result in predicted] == ["pos", "neg"]
    serve = tf.saved_model.load(str(pipeline.export(tmp_path / "saved_model"))).signatures["serving_default"]
    served = serve(text=tf.constant(texts))
    assert [label.decode() for label in served["label"].numpy()] == ["pos", "neg"]
    assert served["probability"].numpy().tolist() == pytest.approx([r["probability"] for r in predicted], abs=1e-5)


def test_an_unknown_backend_is_refused_before_anything_trains(tmp_path):
    from click.testing import CliRunner

    from rnnapps import cli

    result = CliRunner().invoke(cli.cli, ["sentiment", "train", "--recipe", "sentiment-demo", "--out",
                                          str(tmp_path / "run"), "--backend", "theano"])
    assert result.exit_code == 2 and "'theano' is not one of 'tensorflow', 'jax'" in result.output
    assert not (tmp_path / "run").exists()
