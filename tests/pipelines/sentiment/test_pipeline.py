"""The sentiment pipeline end to end: learns the toy task, bundle round trip, SavedModel parity."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from rnnapps.errors import UserError
from rnnapps.pipelines.sentiment import SentimentPipeline

SENTENCES = ["the movie was not great.", "i loved the story!", "the plot was dull but the cast was superb.",
             "the ending is not boring at all", "", "x" * 100_000, "caf\u00e9 \u2603 \U0001F600 unseen w\u00f6rds"]


def test_learns_the_toy_task_including_negation(sentiment_run):
    pipeline = SentimentPipeline.from_bundle(sentiment_run)
    assert pipeline.metrics["test"]["accuracy"] >= 0.95
    assert pipeline.metrics["training"]["epochs_completed"] == 5
    labels = [r["label"] for r in pipeline(SENTENCES[:4])]
    assert labels == ["neg", "pos", "pos", "pos"]


def test_bundle_contents(sentiment_run):
    bundle = sentiment_run / "bundle"
    names = {p.name for p in bundle.iterdir()}
    assert {"metadata.json", "model.keras", "recipe.toml", "metrics.json", "tokenizers", "training_curves.png",
            "confusion_matrix.png", "history.csv"} <= names
    metadata = json.loads((bundle / "metadata.json").read_text())
    assert metadata["task"] == "sentiment" and metadata["label_names"] == ["neg", "pos"]
    assert not [p for p in sentiment_run.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_single_string_gives_one_result_and_list_gives_list(sentiment_run):
    pipeline = SentimentPipeline.from_bundle(sentiment_run)
    one = pipeline("i loved the story!")
    assert isinstance(one, dict) and one["label"] == "pos" and 0.5 < one["probability"] <= 1.0
    assert abs(sum(one["probabilities"].values()) - 1.0) < 1e-5
    assert len(pipeline(["a", "b"])) == 2


def test_empty_and_huge_and_unseen_inputs_get_valid_answers(sentiment_run):
    pipeline = SentimentPipeline.from_bundle(sentiment_run)
    for result in pipeline(SENTENCES[4:]):
        assert result["label"] in ("neg", "pos") and 0.5 <= result["probability"] <= 1.0


def test_non_string_input_is_a_clear_error(sentiment_run):
    pipeline = SentimentPipeline.from_bundle(sentiment_run)
    with pytest.raises(UserError, match="input 1 is a int, expected a string"):
        pipeline(["fine", 3])


def test_reloaded_bundle_predicts_the_same(sentiment_run, tmp_path):
    first = SentimentPipeline.from_bundle(sentiment_run)(SENTENCES)
    second = SentimentPipeline.from_bundle(sentiment_run / "bundle")(SENTENCES)
    assert first == second


def test_bundle_of_another_task_is_refused(sentiment_run, tmp_path):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(sentiment_run / "bundle", other)
    metadata = json.loads((other / "metadata.json").read_text())
    (other / "metadata.json").write_text(json.dumps({**metadata, "task": "translate"}))
    with pytest.raises(UserError, match="is a 'translate' bundle, not a 'sentiment' bundle"):
        SentimentPipeline.from_bundle(other)


def test_saved_model_answers_raw_strings_like_the_bundle_without_rnnapps(sentiment_run, tmp_path):
    pipeline = SentimentPipeline.from_bundle(sentiment_run)
    saved = pipeline.export(tmp_path / "saved_model")
    expected = pipeline(SENTENCES)
    # A fresh interpreter that cannot import rnnapps: only TensorFlow (and tensorflow_text's ops).
    script = textwrap.dedent(f"""
        import json, sys
        sys.modules["rnnapps"] = None
        import tensorflow as tf
        import tensorflow_text  # registers the SentencePiece ops subword models need
        serve = tf.saved_model.load({str(saved)!r}).signatures["serving_default"]
        out = serve(text=tf.constant({SENTENCES!r}))
        pairs = zip(out["label"].numpy(), out["probability"].numpy())
        print(json.dumps([[label.decode(), float(p)] for label, p in pairs]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert [label for label, _ in served] == [r["label"] for r in expected]
    # The same weights in another graph and process: the same probabilities up to the last bits.
    assert [p for _, p in served] == pytest.approx([r["probability"] for r in expected], abs=1e-5)


def test_resuming_a_run_with_another_recipe_is_refused(sentiment_run):
    recipe = SentimentPipeline.load_recipe(None, ["encoder.units=7"])
    with pytest.raises(UserError, match=r"holds a run of a different recipe \(data.max_length changed\)"):
        SentimentPipeline.train(recipe, sentiment_run)


def test_evaluate_on_a_new_tsv_file(sentiment_run, tmp_path):
    data = tmp_path / "eval.tsv"
    data.write_text("text\tlabel\ni loved the story!\tpos\nthe movie was awful.\tneg\n", encoding="utf-8")
    pipeline = SentimentPipeline.from_bundle(sentiment_run)
    test_report = pipeline.metrics["test"]
    report = pipeline.evaluate(source=str(data))
    assert report["examples"] == 2 and report["accuracy"] == 1.0
    # The bundle's "test" entry keeps describing the recipe's test split.
    assert pipeline.metrics["test"] == test_report and pipeline.metrics[f"data:{data}"] == report
