"""Reading series from CSV/TSV: numbers as people write them, clear errors naming line and column, gap and
missing-value policies, chronological splits and windows."""

import dataclasses

import numpy as np
import pytest

from rnnapps.errors import UserError
from rnnapps.pipelines.forecast import data, demo_data
from rnnapps.pipelines.forecast.recipe import SeriesDataConfig
from rnnapps.pipelines.forecast.window import WindowConfig

CONFIG = SeriesDataConfig(source="", time_column="date")


def write(tmp_path, text, name="series.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def hourly(rows, start=0, columns=("a", "b")):
    lines = [",".join(["date", *columns])]
    for i in range(start, start + rows):
        lines.append(f"2026-01-01 00:00:00,{i},{10 * i}".replace("2026-01-01 00:00:00",
                                                                  str(np.datetime64("2026-01-01T00") + i)))
    return "\n".join(lines) + "\n"


def test_stock_style_file_quoted_thousands_crlf_us_dates_no_final_newline(tmp_path):
    text = ('Date,Open,Volume\r\n1/3/2012,325.25,"7,380,500"\r\n1/4/2012,331.27,"5,749,400"\r\n'
            '1/5/2012,329.83,"6,590,300"')
    config = dataclasses.replace(CONFIG, time_column="Date", frequency="irregular")
    series = data.read_series(config, write(tmp_path, text))
    assert series.target_names == ["Open", "Volume"]
    np.testing.assert_allclose(series.values[:, 1], [7380500, 5749400, 6590300])
    assert str(series.timestamps[0])[:10] == "2012-01-03" and series.frequency is None


def test_tsv_covariates_and_target_order(tmp_path):
    text = "date\tx\ty\tz\n" + "".join(f"2026-01-0{d}\t{d}\t{2 * d}\t{3 * d}\n" for d in range(1, 6))
    config = dataclasses.replace(CONFIG, target_columns=("z", "x"), covariate_columns=("y",))
    series = data.read_series(config, write(tmp_path, text, "s.tsv"))
    assert series.channel_names == ["z", "x", "y"] and series.frequency == "D"
    np.testing.assert_allclose(series.values[0], [3, 1, 2])


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("date,a\n", "has a header but no rows"),
    ("date,a\n2026-01-01,1\n2026-01-02,abc\n", r"line 3, column 'a': 'abc' is not a number"),
    ("date,a\n2026-01-01,1\n", r"has no column 'b'"),
    ("date,a\n2026-01-02,1\n2026-01-01,2\n", r"line 3: 2026-01-01 00:00:00 comes before line 2"),
    ("date,a\n2026-01-01,1\n2026-01-01,2\n", r"line 3: 2026-01-01 00:00:00 repeats the timestamp of line 2"),
    ("date,a\n2026-01-01,1\n2026-01-02,2\n2026-01-03,2\n2026-01-05,3\n", r"line 5: .* \(rows missing"),
    ("date,a\n2026-01-01,1\nsoon,2\n", r"line 3, column 'date': 'soon' is not a date"),
    ("date,a\n2026-01-01,1\n2026-01-02,\n2026-01-03,3\n", r"line 3 \(2026-01-02T00:00:00\): no value for 'a'"),
    ("date,a\n2026-01-01,1,7\n", r"line 2: 3 fields, but the header has 2"),
])
def test_bad_files_are_one_line_errors_naming_the_place(tmp_path, text, message):
    config = dataclasses.replace(CONFIG, target_columns=("b",)) if "no column" in message else CONFIG
    with pytest.raises(UserError, match=message) as caught:
        data.read_series(config, write(tmp_path, text))
    assert "\n" not in str(caught.value)


def test_gaps_filled_then_values_interpolated(tmp_path):
    text = "date,a\n2026-01-01,1\n2026-01-02,2\n2026-01-05,5\n2026-01-06,\n2026-01-07,7\n"
    config = dataclasses.replace(CONFIG, gaps="fill", missing="interpolate")
    series = data.read_series(config, write(tmp_path, text))
    np.testing.assert_allclose(series.values[:, 0], [1, 2, 3, 4, 5, 6, 7])
    assert list(series.lines) == [2, 3, 0, 0, 4, 5, 6]


@pytest.mark.parametrize("policy, expected", [("ffill", [1, 1, 3]), ("zero", [1, 0, 3])])
def test_missing_value_policies(tmp_path, policy, expected):
    text = "date,a\n2026-01-01,1\n2026-01-02,NA\n2026-01-03,3\n"
    series = data.read_series(dataclasses.replace(CONFIG, missing=policy), write(tmp_path, text))
    np.testing.assert_allclose(series.values[:, 0], expected)


def test_stated_frequency_must_match(tmp_path):
    with pytest.raises(UserError, match="series steps by 0 days 01:00:00"):
        data.read_series(dataclasses.replace(CONFIG, frequency="h"),
                         write(tmp_path, "date,a\n2026-01-01,1\n2026-01-02,2\n"))


def test_windows_pair_history_with_the_rows_after_it(tmp_path):
    series = data.read_series(CONFIG, write(tmp_path, hourly(30)))
    split = data.WindowSplit(series, 10, 20, WindowConfig(lookback=4, horizon=3))
    starts = split.starts()
    assert list(starts) == list(range(10, 18))  # every forecast row inside [10, 20)
    history, future = split.windows(starts)
    assert history.shape == (8, 4, 2) and future.shape == (8, 3, 2)
    np.testing.assert_allclose(history[0, :, 0], [6, 7, 8, 9])  # the history reaches before the split
    np.testing.assert_allclose(future[0, :, 1], [100, 110, 120])


def test_chronological_splits_by_rows_fractions_and_dates(tmp_path):
    path = write(tmp_path, hourly(100))
    window = WindowConfig(lookback=5, horizon=2)
    by_rows = data.read_splits(dataclasses.replace(CONFIG, source=path, train_rows=60, validation_rows=20,
                                                   test_rows=10), window)
    assert (by_rows.train.stop, by_rows.validation.stop, by_rows.test.start, by_rows.test.stop) == (60, 80, 80, 90)
    by_fraction = data.read_splits(dataclasses.replace(CONFIG, source=path, validation_fraction=0.1,
                                                       test_fraction=0.2), window)
    assert (by_fraction.train.stop, by_fraction.validation.stop, by_fraction.test.stop) == (70, 80, 100)
    by_date = data.read_splits(dataclasses.replace(CONFIG, source=path, validation_start="2026-01-03 00:00",
                                                   test_start="2026-01-04 00:00"), window)
    assert (by_date.train.stop, by_date.validation.stop) == (48, 72)
    bounded = data.read_splits(dataclasses.replace(CONFIG, source=path, validation_start="2026-01-02 00:00",
                                                   test_start="2026-01-03 00:00", test_end="2026-01-04 00:00"), window)
    assert (bounded.train.stop, bounded.validation.stop, bounded.test.start, bounded.test.stop) == (24, 48, 48, 72)
    assert len(by_rows.train) == 60 - 5 - 2 + 1


def test_test_file_continues_the_series(tmp_path):
    config = dataclasses.replace(CONFIG, source=write(tmp_path, hourly(50)), validation_fraction=0.2,
                                 test_source=write(tmp_path, hourly(5, start=50), "test.csv"))
    splits = data.read_splits(config, WindowConfig(lookback=10, horizon=1))
    assert (splits.train.stop, splits.validation.stop, splits.test.start, splits.test.stop) == (40, 50, 50, 55)
    assert len(splits.test) == 5
    history, _ = splits.test.windows()
    assert history[0, -1, 0] == 49  # the first test day is forecast from the training file's last rows
    early = dataclasses.replace(config, test_source=write(tmp_path, hourly(5, start=10), "early.csv"))
    with pytest.raises(UserError, match="does not come after the last row"):
        data.read_splits(early, WindowConfig(lookback=10, horizon=1))


def test_series_shorter_than_a_window_is_a_clear_error(tmp_path):
    config = dataclasses.replace(CONFIG, source=write(tmp_path, hourly(20)), test_fraction=0, validation_fraction=0)
    with pytest.raises(UserError, match=r"the training split has 20 rows, fewer than .* = 24"):
        data.read_splits(config, WindowConfig(lookback=20, horizon=4))


def test_demo_series_reads_like_its_csv(tmp_path):
    config = dataclasses.replace(SeriesDataConfig(), demo_length=200)
    generated = data.read_series(config)
    written = data.read_series(config, str(demo_data.write_csv(tmp_path / "demo.csv", length=200)))
    np.testing.assert_allclose(generated.values, written.values)
    assert generated.frequency == "h" and generated.target_names == ["load", "temperature"]
    assert data.future_timestamps(generated, 2) == ["2026-01-13T08:00:00", "2026-01-13T09:00:00"]
