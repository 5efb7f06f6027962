"""Streaming transcription gives the whole recording's text, whatever the chunk size; models that cannot stream
are refused with what to change."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from rnnapps import cli, sections
from rnnapps.datasets import audio
from rnnapps.errors import UserError
from rnnapps.pipelines.speech import SpeechPipeline, demo_data, streaming


@pytest.fixture(scope="module")
def long_recording():
    """Eight toy recordings one after another (about 8 s), and their whole-recording transcript's parts."""
    parts = demo_data.generate(8, seed=99)
    return np.concatenate([part.samples for part in parts]), [part.text for part in parts]


@pytest.mark.parametrize("chunk_seconds", [0.013, 0.1, 0.37, 1.0, 100.0])
def test_a_stream_gives_the_text_of_the_whole_recording(pipeline, long_recording, chunk_seconds):
    samples, _ = long_recording
    whole = pipeline.predict([samples])[0]["text"]
    result = pipeline.predict([samples], stream=True, chunk_seconds=chunk_seconds)[0]
    assert result["text"] == whole
    assert result["seconds"] == pytest.approx(len(samples) / demo_data.RATE, abs=1e-3)
    assert result["chunks"] == -(-len(samples) // max(int(chunk_seconds * demo_data.RATE), 1))


def test_the_stream_writes_text_as_it_comes(pipeline, long_recording):
    samples, parts = long_recording
    transcriber = streaming.StreamingTranscriber(pipeline.preprocessor, pipeline.model, pipeline.recipe)
    pieces = [piece for kind, piece in streaming.stream(transcriber, np.array_split(samples, 40), demo_data.RATE)
              if kind == "text"]
    assert len(pieces) >= 8  # not all at the end
    assert "".join(pieces).replace(" ", "") == pipeline.predict([samples])[0]["text"].replace(" ", "")
    assert sum(p == t for p, t in zip(pipeline.predict([samples])[0]["text"].split(), " ".join(parts).split())) > 8


def test_raw_pcm_on_standard_input_streams(speech_run, long_recording):
    samples, _ = long_recording
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    found = subprocess.run([sys.executable, "-m", "rnnapps", "-q", "speech", "transcribe", "--stream", "-",
                            "--bundle", str(speech_run), "--json"], input=pcm, capture_output=True, timeout=300)
    assert found.returncode == 0, found.stderr.decode()
    answer = json.loads(found.stdout)[0]
    heard = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0  # what the stream hears
    expected = SpeechPipeline.from_bundle(speech_run).predict([heard])
    assert answer["audio"] == "stdin" and answer["text"] == expected[0]["text"]
    refused = CliRunner().invoke(cli.cli, ["-q", "speech", "transcribe", "--stream", "-", "--rate", "44100",
                                           "--bundle", str(speech_run)], input=pcm)
    assert refused.exit_code == 2 and "streams at 8000 Hz" in refused.stderr


def test_models_that_cannot_stream_are_refused_with_what_to_change(pipeline):
    recipe = pipeline.recipe
    two_way = dataclasses.replace(recipe, encoder=dataclasses.replace(recipe.encoder, bidirectional=True))
    with pytest.raises(UserError, match="encoder.bidirectional=false"):
        streaming.check_streamable(two_way)
    whole = dataclasses.replace(recipe, features=dataclasses.replace(recipe.features, normalization="utterance"))
    with pytest.raises(UserError, match="features.normalization=global"):
        streaming.check_streamable(whole)
    assert isinstance(recipe.encoder, sections.RecurrentConfig)


def test_a_file_streams_from_the_command_line(speech_run, long_recording, tmp_path):
    samples, _ = long_recording
    path = tmp_path / "long.wav"
    path.write_bytes(audio.encode_wav(samples, demo_data.RATE))
    runner = CliRunner()
    streamed = runner.invoke(cli.cli, ["-q", "speech", "transcribe", "--stream", str(path), "--bundle",
                                       str(speech_run)])
    whole = runner.invoke(cli.cli, ["-q", "speech", "transcribe", str(path), "--bundle", str(speech_run)])
    assert streamed.exit_code == 0 and whole.exit_code == 0, streamed.output
    assert streamed.output.split("\t")[1] == whole.output.split("\t")[1].strip()
    assert "ms per chunk" in streamed.output
