"""The anomaly commands as a user types them: detect writes its files, bad input is one line and exit 2."""

from __future__ import annotations

import json

from click.testing import CliRunner

from rnnapps import cli
from rnnapps.pipelines.anomaly import demo_data


def run(*args):
    return CliRunner().invoke(cli.cli, ["-q", *map(str, args)])


def test_detect_and_evaluate_from_the_command_line(anomaly_run, tmp_path):
    series = demo_data.write_csv(tmp_path / "series.csv")
    result = run("anomaly", "detect", series, "--bundle", anomaly_run, "--out", tmp_path / "rows.csv", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)[0]
    assert answer["rows"] == demo_data.DEFAULT_LENGTH and answer["csv"] == str(tmp_path / "rows.csv")
    assert run("anomaly", "predict", series, "--bundle", anomaly_run).exit_code == 0  # the contract's name answers
    evaluated = run("anomaly", "evaluate", "--bundle", anomaly_run)
    assert evaluated.exit_code == 0 and evaluated.output.startswith("NAB score: standard "), evaluated.output


def test_bad_input_is_one_line_and_exit_2(anomaly_run, tmp_path):
    folder = tmp_path / "corpus" / "demo"
    demo_data.write_csv(folder / "one.csv", length=400)
    labels = tmp_path / "windows.json"
    labels.write_text(json.dumps({"demo/one.csv": [], "demo/two.csv": []}), encoding="utf-8")
    for args, says in [
        (("evaluate", "--bundle", anomaly_run, "--data", tmp_path / "corpus", "--labels", labels),
         "the labels name 'demo/two.csv', which is not in"),
        (("detect", tmp_path / "missing.csv", "--bundle", anomaly_run), "missing.csv"),
    ]:
        result = run("anomaly", *args)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
        assert says in lines[0] and "Traceback" not in result.output
