"""The speech recogniser learns the toy phones; bundle, SavedModel and CLI answer alike; bad input is one line."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from rnnapps import cli, losses
from rnnapps.datasets import audio
from rnnapps.pipelines.speech import demo_data
from rnnapps.pipelines.speech import model as models
from rnnapps.pipelines.speech import recipe as recipes


def run(*args):
    return CliRunner().invoke(cli.cli, ["-q", *map(str, args)])


@pytest.fixture(scope="module")
def unheard():
    """Recordings of new phone strings (another seed than the training data), at the demo rate."""
    return demo_data.generate(6, seed=4242)


def test_the_model_learns_the_toy_phones(pipeline, unheard):
    report = pipeline.metrics["test"]
    assert report["cer"] < 0.05 and report["recordings"] == 90, report
    heard = [result["text"] for result in pipeline.predict([u.samples for u in unheard])]
    assert sum(h == u.text for h, u in zip(heard, unheard)) >= 5, (heard, [u.text for u in unheard])


def test_a_recording_gets_the_same_text_alone_and_padded_in_a_batch(pipeline, unheard):
    alone = [pipeline.predict([u.samples])[0]["text"] for u in unheard]
    longest = np.concatenate([u.samples for u in unheard])  # pads every other row of its batch a lot
    batched = pipeline.predict([longest, *[u.samples for u in unheard]])
    assert [result["text"] for result in batched[1:]] == alone


def test_saved_model_reads_wav_bytes_at_any_rate_and_answers_like_the_bundle(pipeline, unheard, tmp_path):
    saved = pipeline.export(tmp_path / "saved_model")
    loaded = tf.saved_model.load(str(saved))
    wavs, expected = [], []
    for rate, utterance in zip((8000, 16000, 22050, 44100), unheard):
        samples = audio.resample(utterance.samples, demo_data.RATE, rate).numpy()
        stereo = np.stack([samples, samples], axis=1)
        path = tmp_path / f"{rate}.wav"
        import soundfile

        soundfile.write(path, stereo, rate, subtype="PCM_16")
        wavs.append(path.read_bytes())
        expected.append(pipeline.predict([str(path)])[0]["text"])
    answer = loaded.signatures["serving_default"](audio=tf.constant(wavs))
    assert [text.decode() for text in answer["text"].numpy()] == expected
    assert np.allclose(answer["seconds"].numpy(), [len(u.samples) / demo_data.RATE for u in unheard[:4]], atol=0.01)
    with pytest.raises(tf.errors.InvalidArgumentError):
        loaded.signatures["serving_default"](audio=tf.constant([b"this is not a wav file"]))


def test_beam_search_finds_text_at_least_as_likely_as_greedy(pipeline, unheard):
    greedy = pipeline.predict([u.samples for u in unheard], beam_size=1)
    beam = pipeline.predict([u.samples for u in unheard], beam_size=8)
    # Beam scores a whole labelling (all its paths), greedy one path: never less likely.
    assert all(b["score"] >= g["score"] - 1e-3 for b, g in zip(beam, greedy))
    assert all(g["score"] <= 0 for g in greedy)


def test_ctc_loss_over_blank_padded_frames_equals_the_loss_over_the_real_frames():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 12, 6)).astype("float32")
    labels = np.array([[4, 5, 4, 0]], "int32")
    mask = np.arange(20)[None, :] < 12
    padded = models.BlankOutside()(np.concatenate([logits, rng.normal(size=(1, 8, 6)).astype("float32")], 1), mask)
    assert np.allclose(losses.ctc(labels, padded), losses.ctc(labels, logits), atol=1e-4)


def test_transcribe_and_evaluate_from_the_command_line(speech_run, unheard, tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for index, utterance in enumerate(unheard[:2]):
        (folder / f"clip{index}.wav").write_bytes(audio.encode_wav(utterance.samples, demo_data.RATE))
    result = run("speech", "transcribe", folder, "--bundle", speech_run, "--json")
    assert result.exit_code == 0, result.output
    answers = json.loads(result.output)
    assert [a["audio"] for a in answers] == [str(folder / "clip0.wav"), str(folder / "clip1.wav")]
    assert all(set(a) == {"audio", "text", "score", "seconds"} for a in answers)
    demo = run("speech", "transcribe", "demo:phones", "--bundle", speech_run)
    assert demo.exit_code == 0 and demo.output.count("\n") == 4, demo.output
    evaluated = run("speech", "evaluate", "--bundle", speech_run, "--json")
    report = json.loads(evaluated.output)
    assert report["recordings"] == len(report["per_recording"]) == 90
    assert set(report["per_recording"][0]) == {"audio", "reference", "text"}


def test_bad_audio_is_one_line_and_exit_2(speech_run, tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_bytes(b"just some text, not audio at all")
    good = audio.encode_wav(np.zeros(800, np.float32), 8000)
    (tmp_path / "cut.wav").write_bytes(good[:30])
    for name, says in [("empty.wav", "the file is empty"), ("text.wav", "not audio that libsndfile can read"),
                       ("cut.wav", "a truncated or damaged WAV file"), ("missing.wav", "no such audio file")]:
        result = run("speech", "transcribe", tmp_path / name, "--bundle", speech_run)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
        assert says in lines[0] and name in lines[0]


def test_serving_examples_are_wav_files_the_saved_model_reads(pipeline, speech_run):
    examples = json.loads((speech_run / "bundle" / "examples.json").read_text())
    wavs = [base64.b64decode(item["b64"]) for item in examples["inputs"]["audio"]]
    texts = pipeline.serving.transcribe(tf.constant(wavs))["text"].numpy()
    assert len(wavs) == 3 and all(text for text in texts)


def test_recipe_refuses_a_subsampling_it_cannot_do():
    from rnnapps.errors import UserError

    with pytest.raises(UserError, match="frontend.subsample = 3 must be one of 1, 2, 4"):
        recipes.FrontendConfig(subsample=3).validate("frontend")
