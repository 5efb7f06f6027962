"""The command line: one-line errors with exit code 2 for bad input, valid answers otherwise."""

import json
import pathlib
import re
import shutil
import socket

import click
import pytest
from click.testing import CliRunner

from rnnapps import cli, task
from rnnapps.errors import UserError

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(*args, input=None):
    return CliRunner().invoke(cli.cli, ["-q", *map(str, args)], input=input)


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def write_recipe(tmp_path, source, **data):
    fields = "".join(f"{k} = {json.dumps(v)}\n" for k, v in data.items())
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        f'task = "sentiment"\n[data]\nsource = "{source}"\n{fields}'
        "[tokenizer]\nvocab_size = 300\n[embedding]\ndim = 32\n[encoder]\nunits = 32\n"
        "[training]\nepochs = 5\nbatch_size = 32\nlearning_rate = 0.005\nearly_stopping_patience = 0\n",
        encoding="utf-8")
    return recipe


def test_help_explains_every_command():
    result = run("--help")
    assert result.exit_code == 0 and "sentiment" in result.output and "demo" in result.output
    for command in ("train", "evaluate", "predict", "export"):
        assert run("sentiment", command, "--help").exit_code == 0


def test_new_headerless_tsv_format_trains_with_a_recipe_only(tmp_path):
    from rnnapps.pipelines.sentiment import demo_data

    texts, labels = demo_data.sentiment_reviews(1500, seed=3)
    data = tmp_path / "reviews.tsv"
    rows = (f"{text}\t{1 if label == 'pos' else 0}\n" for text, label in zip(texts, labels))
    data.write_text("".join(rows), encoding="utf-8")
    recipe = write_recipe(tmp_path, data, header=False, text_column=0, label_column=1)
    result = run("sentiment", "train", "--recipe", recipe, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    predicted = run("sentiment", "predict", "i loved the story!", "--bundle", tmp_path / "run", "--json")
    answer = json.loads(predicted.stdout)[0]
    assert answer["label"] == "1" and answer["probability"] > 0.5
    metrics = json.loads((tmp_path / "run" / "bundle" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.8


@pytest.mark.parametrize("content, fragments", [
    (b"", ["has no examples"]),
    (b"good film\tpos\nbad \xff film\tneg\n", ["line 2", "not valid utf-8"]),
    (b"good film\tpos\nno label here\n", ["line 2", "expected at least 2 columns", "found 1"]),
    (b"good film\tpos\nbad film\tmeh\n", ["label 'meh'", "['neg', 'pos']"]),
])
def test_bad_training_data_is_a_one_line_error(tmp_path, content, fragments):
    data = tmp_path / "data.tsv"
    data.write_bytes(content)
    recipe = write_recipe(tmp_path, data, header=False, text_column=0, label_column=1, labels=["neg", "pos"])
    assert_one_line_error(run("sentiment", "train", "--recipe", recipe, "--out", tmp_path / "run"), *fragments)


def test_unknown_recipe_key_and_bad_override(tmp_path):
    assert_one_line_error(run("sentiment", "train", "--recipe", ROOT / "tasks" / "sentiment-demo.toml",
                              "--set", "encoder.unitz=3"), "unknown key 'encoder.unitz'")
    assert_one_line_error(run("sentiment", "train", "--set", "encoder.cell=transformer"),
                          "encoder.cell = 'transformer' is not one of")
    assert_one_line_error(run("sentiment", "train", "--recipe", tmp_path / "missing.toml"), "does not exist")


def test_bundle_errors(sentiment_run, tmp_path):
    assert_one_line_error(run("sentiment", "predict", "hi", "--bundle", tmp_path), "is not a bundle")
    other = tmp_path / "other"
    shutil.copytree(sentiment_run / "bundle", other)
    metadata = json.loads((other / "metadata.json").read_text())
    (other / "metadata.json").write_text(json.dumps({**metadata, "task": "caption"}))
    assert_one_line_error(run("sentiment", "predict", "hi", "--bundle", other), "is a 'caption' bundle")


def test_predict_inputs_from_arguments_file_and_stdin(sentiment_run, tmp_path):
    huge = "great " * 20_000
    result = run("sentiment", "predict", "the movie was not great.", "", huge, "--bundle", sentiment_run)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip("\n").split("\n")
    assert len(lines) == 3 and lines[0].startswith("neg\t")
    listing = tmp_path / "inputs.txt"
    listing.write_text("i loved the story!\n\nthe plot was dull.\n", encoding="utf-8")
    from_file = json.loads(run("sentiment", "predict", "--file", listing, "--bundle", sentiment_run, "--json").stdout)
    assert [r["label"] for r in from_file] == ["pos", "neg"]
    from_stdin = run("sentiment", "predict", "--bundle", sentiment_run, "--json", input="i loved the story!\n")
    assert json.loads(from_stdin.stdout)[0]["label"] == "pos"
    assert_one_line_error(run("sentiment", "predict", "x", "--file", listing, "--bundle", sentiment_run), "not both")


def test_evaluate_and_export(sentiment_run, tmp_path):
    result = run("sentiment", "evaluate", "--bundle", sentiment_run, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["accuracy"] >= 0.95
    exported = run("sentiment", "export", "--bundle", sentiment_run, "--out", tmp_path / "sm")
    assert exported.exit_code == 0 and (tmp_path / "sm" / "saved_model.pb").is_file()


@pytest.mark.slow
def test_demo_trains_predicts_and_exports(tmp_path):
    result = CliRunner().invoke(cli.cli, ["-q", "demo", "--task", "sentiment", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "accuracy 1.0000" in result.stdout or "accuracy 0.9" in result.stdout
    predictions = [line for line in result.stdout.splitlines() if line.startswith(("neg\t", "pos\t"))]
    assert [line.split("\t")[0] for line in predictions] == ["neg", "pos", "pos", "pos"]
    assert (tmp_path / "sentiment" / "saved_model" / "saved_model.pb").is_file()
    assert (tmp_path / "sentiment" / "bundle" / "metadata.json").is_file()


def test_a_new_task_gets_its_commands_from_its_declaration_alone():
    spec = task.TaskSpec(name="forecast", summary="Time series forecasting.", inputs="CSV files of history",
                         use_options=lambda: [click.Option(["--horizon"], type=int, help="Steps ahead.")],
                         evaluate_options=lambda: [click.Option(["--backtest"], is_flag=True, help="Rolling.")])
    assert spec.pipeline == "rnnapps.pipelines.forecast.pipeline:ForecastPipeline"
    assert spec.demo_recipe == "forecast-demo.toml"
    group = cli.task_group(spec)
    assert sorted(group.commands) == ["evaluate", "export", "predict", "train"]
    options = {name: {opt for param in command.params for opt in param.opts}
               for name, command in group.commands.items()}
    assert {"--horizon", "--bundle", "--file", "--json"} <= options["predict"] and "--backtest" in options["evaluate"]
    shown = CliRunner().invoke(group, ["predict", "--help"])
    assert shown.exit_code == 0 and "CSV files of history" in shown.output and "Steps ahead." in shown.output


def test_recipes_are_listed_and_named_by_their_built_in_names(tmp_path, monkeypatch):
    listed = run("recipes")
    assert listed.exit_code == 0 and "sentiment-imdb" in listed.output and "forecast-ett" in listed.output
    # Each is described by its opening sentence, cut at a word when long, never mid-word.
    assert "IMDB movie-review sentiment (Maas et al., 2011): 25k training reviews, 25k test reviews, pos/neg\n" in (
        listed.output)
    assert "ETTh1 (Electricity Transformer Temperature, hourly; Zhou et al., Informer, AAAI 2021)...\n" in listed.output
    monkeypatch.chdir(tmp_path)  # a name is found wherever rnnapps runs
    assert_one_line_error(run("sentiment", "train", "--recipe", "sentiment-dmeo"),
                          "is neither a file", "built-in recipes: anomaly-demo")
    assert_one_line_error(run("sentiment", "train", "--recipe", "translate-demo", "--out", tmp_path / "r"),
                          "translate-demo.toml: unknown key 'decoder'")


# --------------------------------------------------------------------------- a user's first hour (issue 29)


def test_the_readme_own_data_command_trains_the_imdb_recipe_on_a_headerless_tsv_as_written(tmp_path, monkeypatch):
    from rnnapps.pipelines.sentiment import demo_data

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if "A header-less TSV" in line or "needs only `--set" in line)
    flags = readme[readme.index(line):readme.index("`", readme.index("data.label_column=1"))]
    settings = re.findall(r"--set\s+(\S+)", flags)
    assert settings[0] == "data.source='\"my.tsv\"'" and len(settings) == 4, settings
    texts, labels = demo_data.sentiment_reviews(400, seed=3)
    (tmp_path / "my.tsv").write_text("".join(f"{text}\t{int(label == 'pos')}\n" for text, label in zip(texts, labels)),
                                     encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    quick = ["--set", "training.epochs=1", "--set", "tokenizer.vocab_size=300", "--set", "encoder.units=8"]
    as_written = [item for setting in settings for item in ("--set", setting.replace("'\"my.tsv\"'", '"my.tsv"'))]
    result = run("sentiment", "train", "--recipe", "sentiment-imdb", *as_written, *quick, "--out", "run")
    assert result.exit_code == 0, result.output
    # The IMDB recipe names its labels (neg, pos): the file's 0 and 1 are read as them, in that order.
    metadata = json.loads((tmp_path / "run" / "bundle" / "metadata.json").read_text())
    assert metadata["label_names"] == ["neg", "pos"]
    assert "kept the weights of epoch 1 of 1" in result.stdout


def test_a_run_that_never_finished_an_epoch_restarts_with_a_changed_recipe(tmp_path):
    from rnnapps import runs
    from rnnapps.pipelines.sentiment import recipe as recipes

    run_dir = tmp_path / "run"
    runs.start_run(recipes.SentimentRecipe(), run_dir)
    (run_dir / "tokenizer").mkdir()  # what a run that failed before its first epoch leaves
    changed = recipes.SentimentRecipe(seed=7)
    runs.start_run(changed, run_dir)
    assert not (run_dir / "tokenizer").exists() and "seed = 7" in (run_dir / "recipe.toml").read_text()
    (run_dir / "checkpoints").mkdir()
    (run_dir / "checkpoints" / "state.json").write_text(json.dumps({"epoch": 1}))
    with pytest.raises(UserError, match=r"holds a run of a different recipe \(seed changed\)"):
        runs.start_run(recipes.SentimentRecipe(), run_dir)


def test_generate_answers_to_predict_like_every_task_and_still_to_sample(generate_run):
    predicted = run("generate", "predict", "--bundle", generate_run, "--length", "20", "--seed", "3", "--json")
    sampled = run("generate", "sample", "--bundle", generate_run, "--length", "20", "--seed", "3", "--json")
    assert predicted.exit_code == 0 and json.loads(predicted.stdout) == json.loads(sampled.stdout)
    shown = run("generate", "--help").output
    assert "predict" in shown and "sample" not in shown.split("Commands:")[1]


def test_quiet_works_wherever_it_is_written():
    assert cli.quiet_first(["sentiment", "predict", "-q", "x", "--bundle", "b"]) == [
        "-q", "sentiment", "predict", "x", "--bundle", "b"]
    assert cli.quiet_first(["launch", "--", "rnnapps", "-q"]) == ["launch", "--", "rnnapps", "-q"]
    result = CliRunner().invoke(cli.cli, cli.quiet_first(["sentiment", "train", "--quiet", "--set", "x.y=1"]))
    assert result.exit_code == 2 and "no such option" not in result.output.lower()


def test_incomplete_or_damaged_bundles_and_empty_inputs_are_one_line_errors(sentiment_run, tmp_path):
    broken = tmp_path / "no-tokenizers"
    shutil.copytree(sentiment_run / "bundle", broken)
    shutil.rmtree(broken / "tokenizers")
    assert_one_line_error(run("sentiment", "predict", "hi", "--bundle", broken), str(broken / "tokenizers" / "text"),
                          "is missing")
    damaged = tmp_path / "damaged"
    shutil.copytree(sentiment_run / "bundle", damaged)
    (damaged / "metadata.json").write_text("{not json")
    assert_one_line_error(run("sentiment", "predict", "hi", "--bundle", damaged),
                          str(damaged / "metadata.json"), "not valid JSON")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    assert_one_line_error(run("sentiment", "predict", "--file", empty, "--bundle", sentiment_run),
                          "--file", "nothing to predict")
    assert_one_line_error(run("sentiment", "predict", "--bundle", sentiment_run, input="\n"), "standard input")


def test_forecast_predict_names_its_input_file_as_such(forecast_run, tmp_path):
    assert_one_line_error(run("forecast", "predict", tmp_path / "history.csv", "--bundle", forecast_run),
                          "the history file", "history.csv", "no such file")


def test_serve_on_a_port_in_use_says_so_in_one_line(sentiment_run):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--host", "127.0.0.1", "--port", port, "--model", f"sentiment={sentiment_run}")
    assert_one_line_error(result, f"port {port}", "already in use")
