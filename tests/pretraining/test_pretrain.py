"""Pretraining end to end on the sentiment demo: the encoder is pretrained once (resumable, a bundle of its
own), the classifier starts from it, and a second training reuses it through pretraining.path."""

import json
import pathlib
import shutil

import numpy as np
import pytest

from rnnapps.errors import UserError
from rnnapps.pipelines.sentiment import SentimentPipeline
from rnnapps.pretraining import config as configs
from rnnapps.pretraining import pretrain

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent

PRETRAINING = ['pretraining.source="training"', "pretraining.epochs=3", "pretraining.window=20",
               "pretraining.batch_size=16", "pretraining.sampled_words=64", "training.epochs=3"]


def recipe(*overrides):
    return SentimentPipeline.load_recipe(ROOT / "tasks" / "sentiment-demo.toml", [*PRETRAINING, *overrides])


@pytest.fixture(scope="module")
def pretrained_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("pretrained") / "run"
    return SentimentPipeline.train(recipe(), run_dir)


def test_the_classifier_starts_from_the_pretrained_encoder_and_learns(pretrained_run):
    run_dir = pretrained_run.bundle_path.parent
    encoder = pretrain.load(run_dir / "pretraining")
    assert pretrain.load(run_dir).path == encoder.path  # the sentiment run directory names it too
    assert encoder.metrics["corpus"].endswith("training texts")
    losses = json.loads((encoder.path / "metrics.json").read_text())["training"]
    assert losses["epochs_completed"] == 3
    history = (encoder.path / "history.csv").read_text().splitlines()
    first, last = (float(row.split(",")[history[0].split(",").index("loss")]) for row in (history[1], history[-1]))
    assert last < first  # the language model learned
    # The classifier reads with the pretrained tokenizer and records where it started from.
    assert pretrained_run.tokenizer.vocabulary == encoder.tokenizer.vocabulary
    facts = pretrained_run.metrics["training"]["pretrained"]
    assert facts["encoder"] == str(encoder.path) and facts["validation_sampled_loss"] > 0
    assert pretrained_run.metrics["test"]["accuracy"] >= 0.9


def test_a_finished_pretraining_is_reused_by_path(pretrained_run, tmp_path, caplog):
    encoder_dir = pretrained_run.bundle_path.parent / "pretraining"
    before = (encoder_dir / "bundle" / "model.keras").stat().st_mtime_ns
    caplog.set_level("INFO", logger="rnnapps")
    pipeline = SentimentPipeline.train(recipe('pretraining.source=""', f'pretraining.path="{encoder_dir}"',
                                              "training.epochs=1"), tmp_path / "again")
    assert (encoder_dir / "bundle" / "model.keras").stat().st_mtime_ns == before
    assert not (tmp_path / "again" / "pretraining").exists()
    assert "starting from the pretrained token_embedding, bidirectional_0 (forward, backward)" in caplog.text
    assert pipeline.tokenizer.vocabulary == pretrained_run.tokenizer.vocabulary


def test_freezing_for_the_first_epoch_is_logged_and_trains(pretrained_run, tmp_path, caplog):
    encoder_dir = pretrained_run.bundle_path.parent / "pretraining"
    caplog.set_level("INFO", logger="rnnapps")
    pipeline = SentimentPipeline.train(recipe('pretraining.source=""', f'pretraining.path="{encoder_dir}"',
                                              "pretraining.freeze_epochs=1", "training.epochs=2"), tmp_path / "frozen")
    assert "frozen for 1 epoch(s)" in caplog.text and "fine-tuned from now on" in caplog.text
    assert pipeline.metrics["training"]["epochs_completed"] == 2
    assert pipeline.model.get_layer("pretrained_gate") is not None
    reloaded = SentimentPipeline.from_bundle(tmp_path / "frozen")  # the bundle names the gate layer
    assert reloaded(["a fine film"]) == pipeline(["a fine film"])


def test_pretrain_command_writes_a_reusable_encoder(tmp_path):
    from click.testing import CliRunner

    from rnnapps import cli

    out = tmp_path / "encoder"
    result = CliRunner().invoke(cli.cli, ["-q", "sentiment", "pretrain", "--recipe", "sentiment-demo",
                                          *[arg for o in PRETRAINING[:-1] for arg in ("--set", o)],
                                          "--set", "pretraining.epochs=1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"pretrained encoder written to {out / 'bundle'}" in result.output
    assert pretrain.load(out).model.bidirectional


def test_bad_settings_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="tokenizer.path = 'x' and \\[pretraining\\] both say"):
        recipe('tokenizer.path="x"')
    with pytest.raises(UserError, match="pretraining.window = 1 must be >= 2"):
        recipe("pretraining.window=1")
    with pytest.raises(UserError, match="holds no pretrained encoder; write one with 'rnnapps TASK pretrain"):
        pretrain.load(tmp_path)
    with pytest.raises(UserError, match="asks for no pretraining"):
        pretrain.pretrained_encoder(SentimentPipeline.load_recipe(None), [], tmp_path)
    short = recipe("pretraining.window=100000")
    with pytest.raises(UserError, match="too few for one window of 100002"):
        pretrain.pretrained_encoder(short, ["a few words"], tmp_path / "short")


def test_documents_come_from_files_and_training_texts(tmp_path):
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("first review\n", encoding="utf-8")
    (tmp_path / "texts" / "b.txt").write_text("second review", encoding="utf-8")
    config = configs.PretrainingConfig(source=str(tmp_path / "texts"))
    documents, origin = pretrain.read_documents(config, ["labelled one"])
    assert documents == ["labelled one", "first review", "second review"]
    assert origin == "1 training text + 2 documents of 2 files under texts/ (27 characters)"
    alone = configs.PretrainingConfig(source=str(tmp_path / "texts"), include_training_texts=False)
    assert pretrain.read_documents(alone, ["labelled one"])[0] == ["first review", "second review"]


def test_an_interrupted_pretraining_resumes_instead_of_starting_again(tmp_path, caplog):
    # Killed after its last epoch but before the bundle was written: the checkpoints are kept, so the next call
    # writes the bundle from them without training again.
    texts = ["a good film with a fine cast", "a dull film with a poor plot"] * 40
    config = recipe("pretraining.epochs=2", "pretraining.steps_per_epoch=3")
    first = pretrain.pretrained_encoder(config, texts, tmp_path / "lm")
    assert first.metrics["training"]["epochs_completed"] == 2
    weights = [w.copy() for w in first.model.get_weights()]
    shutil.rmtree(tmp_path / "lm" / "bundle")
    caplog.set_level("INFO", logger="rnnapps")
    again = pretrain.pretrained_encoder(config, texts, tmp_path / "lm")
    assert "already finished" in caplog.text
    for before, after in zip(weights, again.model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_a_text_too_short_to_hold_out_anything_still_pretrains(tmp_path):
    texts = ["a good film with a fine cast", "a dull film with a poor plot"] * 20
    config = recipe("pretraining.epochs=2", "pretraining.steps_per_epoch=2", "pretraining.validation_fraction=0")
    encoder = pretrain.pretrained_encoder(config, texts, tmp_path / "lm")
    assert encoder.metrics["validation_sampled_loss"] is None
    assert encoder.metrics["training"]["epochs_completed"] == 2
    assert pretrain.load(tmp_path / "lm").tokenizer.vocabulary == encoder.tokenizer.vocabulary
