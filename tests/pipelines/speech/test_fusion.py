"""Shallow fusion in speech: a character language model trained by `generate` on a run's transcripts is fused
into the beam search from the recipe, the Python API and the CLI; what it cannot be used with is refused."""

from __future__ import annotations

import json
import logging
import pathlib

import numpy as np
import pytest
from click.testing import CliRunner

from rnnapps import cli
from rnnapps.errors import UserError
from rnnapps.pipelines.generate import GeneratePipeline
from rnnapps.pipelines.speech import demo_data, fusion
from rnnapps.pipelines.speech import pipeline as speech_pipeline

ROOT = pathlib.Path(__file__).resolve().parents[3]


def run(*args):
    return CliRunner().invoke(cli.cli, ["-q", *map(str, args)])


@pytest.fixture(scope="module")
def language_model(speech_run, tmp_path_factory):
    """A tiny character LSTM trained on the transcripts the speech run wrote (a generate run directory)."""
    transcripts = speech_run / speech_pipeline.TRANSCRIPTS_FILE
    recipe = GeneratePipeline.load_recipe(ROOT / "tasks" / "generate-demo.toml", [
        f'data.source="{transcripts}"', "decoder.units=32", "embedding.dim=8", "model.sequence_length=32",
        "training.epochs=2"])
    run_dir = tmp_path_factory.mktemp("speech-lm") / "run"
    GeneratePipeline.train(recipe, run_dir)
    return run_dir


@pytest.fixture(scope="module")
def unheard():
    return [u.samples for u in demo_data.generate(6, seed=4242)]


def test_the_run_writes_its_training_transcripts_for_a_language_model(speech_run, pipeline):
    lines = (speech_run / speech_pipeline.TRANSCRIPTS_FILE).read_text().splitlines()
    assert len(lines) == pipeline.metrics["training"]["train_recordings"]
    assert set("".join(lines)) <= set(pipeline.preprocessor.alphabet)


def test_fusion_with_weight_zero_is_plain_beam_search(pipeline, language_model, unheard):
    plain = [r["text"] for r in pipeline.predict(unheard, beam_size=6)]
    fused = pipeline.predict(unheard, beam_size=6, language_model=str(language_model), lm_weight=0.0,
                             length_bonus=0.0)
    assert [r["text"] for r in fused] == plain


def test_the_language_model_scores_each_character_of_the_alphabet_and_the_end_of_a_line(pipeline, language_model):
    scorer = fusion.CharacterLanguageModel(language_model, pipeline.tokenizer_classes())
    model = GeneratePipeline.from_bundle(language_model)
    vocabulary = model.tokenizer.id_to_token(range(model.tokenizer.vocab_size))
    classes = pipeline.tokenizer_classes()
    states, scores = scorer.start(1)
    assert scores.shape == (1, len(classes) + 1)
    # By hand: the language model's next-character logits after a line break, over the alphabet and the line end.
    zero = model.model.flatten_states(model.model.zero_states(1))
    logits, _, _ = model.model.decoding_step(np.array([vocabulary.index("\n")], np.int32), zero)
    logits = np.asarray(logits[0], np.float64)
    wanted = [vocabulary.index(char) for char in pipeline.preprocessor.alphabet] + [vocabulary.index("\n")]
    expected = logits[wanted] - np.logaddexp.reduce(logits[wanted])
    got = np.concatenate([scores[0, [classes.index(char) for char in pipeline.preprocessor.alphabet]],
                          scores[0, -1:]])
    assert got == pytest.approx(expected, abs=1e-4)
    # Reading a character moves the state: what follows "a" is scored otherwise than what follows "\n".
    states, after = scorer.advance(states, np.array([classes.index(pipeline.preprocessor.alphabet[0])]))
    assert np.abs(after[0] - scores[0]).max() > 1e-3


def test_evaluation_with_a_language_model_names_it_and_its_weights(pipeline, language_model):
    report = pipeline.evaluate(beam_size=4, language_model=str(language_model), lm_weight=0.3, length_bonus=0.5)
    assert report["language_model"] == str(language_model)
    assert (report["lm_weight"], report["length_bonus"], report["beam_size"]) == (0.3, 0.5, 4)
    assert report["cer"] < 0.1, report


def test_cli_transcribes_with_a_language_model(speech_run, language_model):
    result = run("speech", "transcribe", "demo:phones", "--bundle", speech_run, "--beam", 4, "--lm", language_model,
                 "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 4


def test_what_fusion_cannot_work_with_is_one_line(speech_run, language_model, pipeline, caplog):
    without_beam = run("speech", "transcribe", "demo:phones", "--bundle", speech_run, "--lm", language_model)
    assert without_beam.exit_code == 2 and "beam_size to 2 or more" in without_beam.output
    missing = run("speech", "transcribe", "demo:phones", "--bundle", speech_run, "--beam", 4, "--lm",
                  speech_run / "no-such-model")
    assert missing.exit_code == 2 and "no-such-model" in missing.output and "Traceback" not in missing.output
    streaming = run("speech", "transcribe", "demo:phones", "--bundle", speech_run, "--stream", "--lm", language_model)
    assert streaming.exit_code == 2 and "--lm" in streaming.output
    with pytest.raises(UserError, match="generate"):
        fusion.CharacterLanguageModel(speech_run, pipeline.tokenizer_classes())  # a speech bundle
    with caplog.at_level(logging.WARNING, logger=fusion.__name__):
        fusion.CharacterLanguageModel(language_model, [*pipeline.tokenizer_classes(), "Q"])
    assert "never saw 'Q'" in caplog.text
