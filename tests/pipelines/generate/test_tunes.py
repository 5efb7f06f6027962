"""Tunes in ABC notation end to end on the toy tunes: a model of musical tokens learns whole tunes that fit their
meter and end by themselves, scores per token and per character, and writes its samples as ABC, MIDI and WAV
files that standard readers open."""

import io
import json
import shutil
import wave

import mido
import pytest
from click.testing import CliRunner

from rnnapps import cli
from rnnapps.pipelines.generate import GeneratePipeline, abc_bars, data, tune_measures
from rnnapps.tokenizers import abc_notation

pytestmark = pytest.mark.slow

JIG = "M:6/8\nL:1/8\nR:jig\nK:D\n"


def run(*args):
    return CliRunner().invoke(cli.cli, ["-q", *map(str, args)])


def test_learns_whole_tunes_whose_bars_fill_their_meter_and_that_end_by_themselves(tunes_run):
    pipeline = GeneratePipeline.from_bundle(tunes_run)
    assert pipeline.tokenizer.kind == "abc" and pipeline.makes_tunes
    samples = pipeline.predict([JIG], num_samples=10, temperature=0.8, seed=1)
    checks = [abc_bars.check_tune(tune_measures.split_tunes(sample["text"])[0]) for sample in samples]
    assert sum(check.parses for check in checks) >= 9, samples
    bars = sum(check.bars for check in checks)
    assert bars >= 60 and sum(check.bad_bars for check in checks) / bars < 0.2, checks
    ended = [sample for sample in samples  # cut at the empty line that ends a tune, before the length ran out
             if len(pipeline.preprocessor.encode_text(sample["generated"])) < pipeline.recipe.decoding.length]
    assert len(ended) >= 8, samples


def test_scores_per_token_and_per_character_of_one_total(tunes_run):
    pipeline = GeneratePipeline.from_bundle(tunes_run)
    report = pipeline.metrics["validation"]
    assert report["nats_per_token"] * report["tokens"] == pytest.approx(report["nats_per_char"] * report["characters"])
    text = data.read_corpus(pipeline.recipe.data, pipeline.recipe.seed).validation
    tokens = abc_notation.abc_tokens(text)  # the held-out text, counted apart from the scoring
    assert report["tokens"] < len(tokens) <= report["tokens"] + 32  # the 32 streams leave a few out at the end
    assert len(text) - 32 * max(map(len, tokens)) <= report["characters"] < len(text)
    assert report["nats_per_token"] < 1.5, report  # a uniform guess costs ln(vocabulary) > 4 nats


def test_evaluate_measures_sampled_tunes_against_the_held_out_ones(tunes_run, tmp_path):
    measured = GeneratePipeline.from_bundle(tunes_run).metrics["validation"]["tunes"]  # measured at training
    assert measured["sampled"]["tunes"] == 100 and measured["held_out"]["fit_share"] == 1.0
    assert measured["sampled"]["parse_share"] >= 0.8 and 0 <= measured["copy_share"] <= 1
    assert set(measured["sampled"]["meters"]) <= {"6/8", "3/4", "(none)"}

    bundle = shutil.copytree(tunes_run / "bundle", tmp_path / "bundle")
    shown = run("generate", "evaluate", "--bundle", bundle, "--tunes", "6")
    assert shown.exit_code == 0, shown.output
    assert "tunes: 6 sampled at temperature 0.8:" in shown.output and "fit their meter" in shown.output
    without = run("generate", "evaluate", "--bundle", bundle, "--tunes", "0", "--json")
    assert without.exit_code == 0 and "tunes" not in json.loads(without.output), without.output
    stored = GeneratePipeline.from_bundle(bundle).metrics
    assert stored["validation"]["tunes"] == measured  # the training's measures stay; others are kept beside them
    assert stored["validation:tunes6"]["tunes"]["sampled"]["tunes"] == 6


def test_a_prompts_header_is_read_as_the_model_learnt_it(tunes_run):
    pipeline = GeneratePipeline.from_bundle(tunes_run)
    result = pipeline.predict(["M:6/8\nL:1/8\nR:Jig\nK:Dmaj\n"], seed=2)[0]
    assert result["prompt"] == JIG and result["text"].startswith(JIG)
    assert not pipeline.preprocessor.unknown_tokens([result["prompt"]])


def test_predict_writes_midi_and_wav_files_that_standard_readers_open(tunes_run, tmp_path):
    written = run("generate", "predict", "--bundle", tunes_run, "--prompt", JIG.replace("\n", "\\n"), "--seed", "4",
                  "--num-samples", "2", "--out", tmp_path / "jig.mid")  # the suffix names the format
    assert written.exit_code == 0, written.output
    for path in (tmp_path / "jig.mid", tmp_path / "jig-2.mid"):
        assert f"written to {path}" in written.output
        midi = mido.MidiFile(path)
        notes = [message.note for track in midi.tracks for message in track
                 if message.type == "note_on" and message.velocity > 0]
        assert len(notes) >= 16 and midi.length > 4
        assert 66 in notes or 78 in notes  # K:D: an F is F sharp

    recorded = run("generate", "sample", "--bundle", tunes_run, "--prompt", JIG.replace("\n", "\\n"), "--seed", "4",
                   "--format", "wav", "--out", tmp_path / "jig.wav", "--json")
    assert recorded.exit_code == 0, recorded.output
    with wave.open(str(tmp_path / "jig.wav")) as reader:
        seconds = reader.getnframes() / reader.getframerate()
        assert reader.getnchannels() == 1 and seconds > 4
    assert f'"seconds": {round(seconds, 1)}' in recorded.output

    written = run("generate", "predict", "--bundle", tunes_run, "--seed", "4", "--num-samples", "3", "--format", "abc",
                  "--out", tmp_path / "tunes.abc")
    assert written.exit_code == 0, written.output
    text = (tmp_path / "tunes.abc").read_text()
    assert [line for line in text.splitlines() if line.startswith("X:")] == ["X:1", "X:2", "X:3"]
    assert "T:Sample 3 (seed 4)" in text and midi_notes_of(text)


def midi_notes_of(abc_text: str) -> list[int]:
    from rnnapps import music

    data = music.midi_bytes(abc_text.split("\n\n")[0])
    return [message.note for track in mido.MidiFile(file=io.BytesIO(data)).tracks for message in track
            if message.type == "note_on" and message.velocity > 0]


def test_formats_are_for_models_of_tunes(generate_run, tmp_path):
    result = run("generate", "predict", "--bundle", generate_run, "--format", "wav", "--out", tmp_path / "x.wav")
    assert result.exit_code == 2 and "writes tunes in ABC notation" in result.stderr
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("options, says", [
    (["--format", "midi", "--out", "x.wav"], "ends in .wav, and --format midi writes .mid files"),
    (["--out", "x.txt"], "give --format abc, midi or wav"),
])
def test_a_format_and_a_file_that_disagree_are_refused_before_sampling(tunes_run, tmp_path, options, says):
    result = run("generate", "predict", "--bundle", tunes_run, *options)
    assert result.exit_code == 2 and says in result.stderr and "-----" not in result.output
