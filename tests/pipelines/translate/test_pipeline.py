"""The translation pipeline end to end on the toy corpus: learns a reordering translation, beam search,
bundle and SavedModel parity, bad input."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib

import pytest
import tomli_w
from click.testing import CliRunner

from rnnapps import cli
from rnnapps.errors import UserError
from rnnapps.pipelines.translate import TranslatePipeline
from rnnapps.pipelines.translate import data as parallel
from rnnapps.pipelines.translate import demo_data as demo

ODD_INPUTS = ["", "zzz qqq ☃ ünseen", "the dog " * 700, "my teacher does not eat the big apple ."]


def test_learns_the_toy_language(translate_run):
    pipeline = TranslatePipeline.from_bundle(translate_run)
    test = pipeline.metrics["test"]
    assert test["bleu"] >= 60, test
    assert "nrefs:" in test["bleu_signature"] and "chrF" not in test["bleu_signature"]
    sources, targets = demo.translation_pairs(40, seed=99)
    # The word detokenizer writes "dog." where the toy reference has "dog ."; compare words.
    translations = [r["translation"].replace(".", " .").split() for r in pipeline(sources)]
    assert sum(t == r.split() for t, r in zip(translations, targets)) >= 30


def test_beam_search_is_not_worse_than_greedy(translate_run):
    pipeline = TranslatePipeline.from_bundle(translate_run)
    pairs = parallel.SentencePairs(*demo.translation_pairs(200, seed=7))
    greedy, beam = pipeline.score(pairs, beam_size=1), pipeline.score(pairs, beam_size=4)
    assert beam["bleu"] >= greedy["bleu"] - 0.5


def test_greedy_and_beam_report_the_same_score_for_the_same_translation(translate_run):
    pipeline = TranslatePipeline.from_bundle(translate_run)
    sentences = list(TranslatePipeline.demo_inputs)
    greedy, beam = pipeline(sentences, beam_size=1), pipeline(sentences, beam_size=4)
    same = [(g, b) for g, b in zip(greedy, beam) if g["translation"] == b["translation"]]
    assert same
    for g, b in same:  # both are the log-probability divided by the same length penalty
        assert g["score"] == pytest.approx(b["score"], abs=1e-4) and g["score"] < 0


def test_odd_inputs_get_valid_translations(translate_run):
    pipeline = TranslatePipeline.from_bundle(translate_run)
    results = pipeline(ODD_INPUTS)
    assert len(results) == 4 and all(isinstance(r["translation"], str) for r in results)
    assert pipeline([]) == []
    with pytest.raises(UserError, match=r"the beam size \(--beam\) must be between 1 and 64"):
        pipeline("a", beam_size=0)


def test_bundle_and_saved_model_translate_the_same_without_rnnapps(translate_run, tmp_path):
    pipeline = TranslatePipeline.from_bundle(translate_run)
    again = TranslatePipeline.from_bundle(translate_run / "bundle")
    sentences = ODD_INPUTS + list(TranslatePipeline.demo_inputs)
    expected = [r["translation"] for r in pipeline(sentences)]
    assert [r["translation"] for r in again(sentences)] == expected
    greedy = [r["translation"] for r in pipeline(sentences, beam_size=1)]
    saved = pipeline.export(tmp_path / "saved_model")
    script = textwrap.dedent(f"""
        import json, sys
        sys.modules["rnnapps"] = None
        import tensorflow as tf
        model = tf.saved_model.load({str(saved)!r})
        text = tf.constant({sentences!r})
        beam = model.signatures["serving_default"](text=text)["translation"].numpy()
        greedy = model.signatures["translate_greedy"](text=text)["translation"].numpy()
        print(json.dumps([[b.decode() for b in beam], [g.decode() for g in greedy]]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [expected, greedy]


def test_cli_predict_with_beam_stdin_json_and_attention_plot(translate_run, tmp_path):
    runner = CliRunner()
    picture = tmp_path / "attention.png"
    result = runner.invoke(cli.cli, ["-q", "translate", "predict", "--bundle", str(translate_run), "--beam", "2",
                                     "--json", "--plot-attention", str(picture)],
                           input="the two red birds see a small dog .\n\nmy teacher does not eat the big apple .\n")
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)
    assert len(answers) == 2 and all(a["translation"] for a in answers)
    assert picture.is_file() and picture.stat().st_size > 1000
    for beam in ("1", "4"):
        picture.unlink()
        again = runner.invoke(cli.cli, ["-q", "translate", "predict", "the girl will carry a white cup .", "--bundle",
                                        str(translate_run), "--beam", beam, "--plot-attention", str(picture)])
        assert again.exit_code == 0 and picture.is_file(), again.output
    bad = runner.invoke(cli.cli, ["-q", "translate", "predict", "x", "--bundle", str(translate_run), "--beam", "0"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: the beam size (--beam) must be between 1 and 64")


def _cased(sentences):
    """The toy sentences written as sentences: a capital first letter (the toy corpus is lowercase)."""
    return [sentence[0].upper() + sentence[1:] for sentence in sentences]


def test_parallel_files_with_their_own_test_files_train_cased_and_are_scored_on_them(tmp_path):
    sources, targets = demo.translation_pairs(1800, seed=5)
    files = {"train": slice(0, 1500), "valid": slice(1500, 1600), "test": slice(1600, 1800)}
    for split, rows in files.items():
        (tmp_path / f"{split}.en").write_text("\n".join(sources[rows]) + "\n", encoding="utf-8")
        (tmp_path / f"{split}.xx").write_text("\n".join(_cased(targets[rows])) + "\n", encoding="utf-8")
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(textwrap.dedent(f"""
        task = "translate"
        [data]
        source = "{tmp_path / 'train.en'}"
        target_source = "{tmp_path / 'train.xx'}"
        validation_source = "{tmp_path / 'valid.en'}"
        validation_target_source = "{tmp_path / 'valid.xx'}"
        test_source = "{tmp_path / 'test.en'}"
        test_target_source = "{tmp_path / 'test.xx'}"
        max_length = 16
        [source_tokenizer]
        kind = "subword"
        vocab_size = 70
        [target_tokenizer]
        kind = "word"
        vocab_size = 200
        [model]
        embedding_dim = 32
        [encoder]
        cell = "lstm"
        units = 32
        [decoder]
        units = 64
        attention = "bahdanau"
        [training]
        epochs = 3
        batch_size = 32
        learning_rate = 0.005
    """), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli.cli, ["-q", "translate", "train", "--recipe", str(recipe), "--out",
                                     str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    test = json.loads((tmp_path / "run" / "bundle" / "metrics.json").read_text())["test"]
    # Scored on the test files, every pair of them, not on a carve-out of the training files.
    assert test["sentences"] == len(set(sources[files["test"]])) and not test["target_lowercased"]
    evaluated = runner.invoke(cli.cli, ["-q", "translate", "evaluate", "--bundle", str(tmp_path / "run"), "--json",
                                        "--data", str(tmp_path / "test.en"),
                                        "--target-data", str(tmp_path / "test.xx")])
    assert evaluated.exit_code == 0, evaluated.output
    again = json.loads(evaluated.stdout)
    assert again["sentences"] == test["sentences"] and again["bleu"] == pytest.approx(test["bleu"])
    assert 0 <= again["bleu_lowercase"] <= 100
    # Case is kept by default: every training target starts with a capital, and so do the translations.
    translations = [r["translation"] for r in TranslatePipeline.from_bundle(tmp_path / "run")(sources[1600:1650])]
    assert sum(t[:1].isupper() for t in translations) >= 45, translations[:5]


def test_target_data_needs_data_and_split_files_need_a_local_source(translate_run, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli.cli, ["-q", "translate", "evaluate", "--bundle", str(translate_run),
                                     "--target-data", str(tmp_path / "x.en")])
    assert result.exit_code == 2 and "--target-data needs --data" in result.stderr
    with pytest.raises(UserError, match="data.test_source is set, but a demo source brings its own splits"):
        parallel.read_splits(parallel.ParallelDataConfig(test_source="x.tsv"), seed=0)


def test_the_report_says_when_the_model_cannot_write_capitals(translate_run):
    pipeline = TranslatePipeline.from_bundle(translate_run)
    report = {**pipeline.metrics["test"]}
    text = pipeline.format_report(report)
    assert "lowercased BLEU" in text.splitlines()[1] and "lowercases" not in text
    assert "target tokenizer lowercases" in pipeline.format_report({**report, "target_lowercased": True})


def test_empty_and_blank_inputs_translate_to_nothing(translate_run):
    pipeline = TranslatePipeline.from_bundle(translate_run)
    results = pipeline(["", "   ", "the girl will carry a white cup ."], beam_size=4)
    assert [r["translation"] for r in results[:2]] == ["", ""] and [r["score"] for r in results[:2]] == [0, 0]
    assert results[2]["translation"]


@pytest.mark.parametrize("content, fragments", [
    (b"hello\tbonjour\nno tab here\n", ["line 2"]),
    (b"", ["empty"]),
])
def test_bad_parallel_data_is_a_one_line_error(tmp_path, content, fragments):
    data = tmp_path / "pairs.tsv"
    data.write_bytes(content)
    result = CliRunner().invoke(cli.cli, ["-q", "translate", "train", "--set", f'data.source="{data}"',
                                          "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in result.stderr


def test_a_shared_tokenizer_serves_both_sides(tmp_path):
    recipe = TranslatePipeline.load_recipe(cli.TASKS_DIR / "translate-demo.toml", [
        "shared_tokenizer=true", "training.epochs=1", *(f"{side}_tokenizer.{key}" for side in ("source", "target")
                                                        for key in ("kind=\"subword\"", "vocab_size=120"))])
    pipeline = TranslatePipeline.train(recipe, tmp_path / "run")
    again = TranslatePipeline.from_bundle(tmp_path / "run")
    for loaded in (pipeline, again):
        assert loaded.source_tokenizer.vocab_size == loaded.target_tokenizer.vocab_size == 120
    pieces = set(again.source_tokenizer.id_to_token(range(120)))
    # Words found only in English and words found only in the toy language are both in the one vocabulary.
    source_words = set(" ".join(demo.translation_pairs(50, seed=1)[0]).split())
    target_words = set(" ".join(demo.translation_pairs(50, seed=1)[1]).split())
    assert any(w in pieces or "▁" + w in pieces for w in source_words - target_words)
    assert any(w in pieces or "▁" + w in pieces for w in target_words - source_words)
    assert isinstance(again("the girl will carry a white cup .")["translation"], str)
    with pytest.raises(UserError, match="shared_tokenizer = true uses the"):
        TranslatePipeline.load_recipe(cli.TASKS_DIR / "translate-demo.toml",
                                      ["shared_tokenizer=true", "target_tokenizer.vocab_size=300"])


def test_demo_lines_show_the_source_and_evaluate_stores_the_beam_variant(translate_run, tmp_path):
    shutil.copytree(translate_run / "bundle", tmp_path / "bundle")  # evaluate writes into the bundle
    pipeline = TranslatePipeline.from_bundle(tmp_path / "bundle")
    result = pipeline(TranslatePipeline.demo_inputs[0])
    assert pipeline.format_demo(result) == f"{TranslatePipeline.demo_inputs[0]}  =>  {result['translation']}"
    report = pipeline.evaluate(beam_size=1)
    assert report["beam_size"] == 1 and pipeline.metrics["test:beam1"] == report
    assert pipeline.metrics["test"]["beam_size"] == 4


def test_a_bundle_with_an_old_recipe_toml_translates_the_same(translate_run, tmp_path):
    """Bundles written before [encoder], [decoder], [decoding] and data.max_pair_length hold the old names."""
    shutil.copytree(translate_run / "bundle", tmp_path / "bundle")
    saved = tomllib.loads((tmp_path / "bundle" / "recipe.toml").read_text(encoding="utf-8"))
    decoder = saved.pop("decoder")
    saved["model"].update(encoder=saved.pop("encoder"), decoder_cell=decoder["cell"], decoder_units=decoder["units"],
                          decoder_layers=decoder["num_layers"], attention=decoder["attention"],
                          input_feeding=decoder["input_feeding"], tie_embeddings=decoder["tie_embeddings"])
    saved["decode"] = saved.pop("decoding")
    del saved["data"]["max_pair_length"]
    (tmp_path / "bundle" / "recipe.toml").write_text(tomli_w.dumps(saved), encoding="utf-8")
    old, new = TranslatePipeline.from_bundle(tmp_path / "bundle"), TranslatePipeline.from_bundle(translate_run)
    assert old.recipe == new.recipe
    sentences = list(TranslatePipeline.demo_inputs) + ODD_INPUTS
    assert old(sentences) == new(sentences)
