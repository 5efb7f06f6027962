"""Anomaly labels: NAB's windows JSON, a 0/1 column, and the series files of a corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnapps.datasets.series import Series
from rnnapps.errors import UserError
from rnnapps.pipelines.anomaly import labels

STAMPS = np.arange(np.datetime64("2024-01-01T00:00"), np.datetime64("2024-01-01T10:00"), np.timedelta64(1, "h"))
SERIES = Series(np.zeros((10, 1), np.float32), STAMPS.astype("datetime64[ns]"), ["value"], [], "h", "a/b.csv",
                np.arange(2, 12))


def test_timestamp_windows_become_the_rows_inside_them():
    windows = labels.windows_of(SERIES, [("2024-01-01 02:00:00.000000", "2024-01-01 04:30:00")], "labels")
    np.testing.assert_array_equal(windows, [[2, 4]])
    with pytest.raises(UserError, match=r"labels: window \[2025-01-01, 2025-01-02\] lies outside a/b.csv"):
        labels.windows_of(SERIES, [("2025-01-01", "2025-01-02")], "labels")
    with pytest.raises(UserError, match="is not a pair of dates"):
        labels.windows_of(SERIES, [("soon", "later")], "labels")


def test_each_run_of_ones_in_a_label_column_is_a_window():
    column = np.array([0, 1, 1, 0, np.nan, 1, 0, 0, 1, 1], np.float64)
    np.testing.assert_array_equal(labels.windows_from_column(column, "x"), [[1, 2], [5, 5], [8, 9]])
    with pytest.raises(UserError, match="x: row 2 has label 2; labels are 0 or 1"):
        labels.windows_from_column(np.array([0, 2]), "x")


def test_a_series_file_finds_its_key_by_the_end_of_its_path():
    found = {"realKnownCause/nyc_taxi.csv": [], "nyc_taxi.csv": []}
    assert labels.key_of("/data/nab/data/realKnownCause/nyc_taxi.csv", found) == "realKnownCause/nyc_taxi.csv"
    assert labels.key_of("elsewhere/other.csv", found) is None


def test_a_corpus_and_its_labels_must_name_the_same_files(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "one.csv").write_text("timestamp,value\n", encoding="utf-8")
    assert labels.corpus_files(tmp_path, {"cat/one.csv": []}) == [tmp_path / "cat" / "one.csv"]
    with pytest.raises(UserError, match=r"the labels name 'cat/two.csv', which is not in"):
        labels.corpus_files(tmp_path, {"cat/one.csv": [], "cat/two.csv": []})
    with pytest.raises(UserError, match=r"the labels have no entry for .*one.csv"):
        labels.corpus_files(tmp_path, {"other/one.csv": []})


@pytest.mark.parametrize("text, message", [
    ("not json", "is not a JSON file of anomaly windows"),
    ("[1, 2]", "expected an object of series name -> list of"),
    (json.dumps({"a.csv": [["2024-01-01"]]}), r"'a.csv' must be a list of \[first, last\] timestamp pairs"),
])
def test_a_windows_file_that_is_not_nab_s_is_refused(tmp_path, text, message):
    path = tmp_path / "windows.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        labels.read_windows_json(path)
