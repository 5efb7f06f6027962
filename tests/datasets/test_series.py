"""The shared time-series pieces: the reader's extra columns, and the scaling."""

from __future__ import annotations

import numpy as np
import pytest

from rnnapps.datasets import series_reader
from rnnapps.datasets.series import Scaler, SeriesSource
from rnnapps.errors import UserError


def _write(tmp_path, text: str):
    path = tmp_path / "series.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_extra_columns_are_read_beside_the_channels_and_never_modelled(tmp_path):
    source = _write(tmp_path, "timestamp,value,label\n2024-01-01 00:00,1.5,0\n2024-01-01 01:00,2.5,1\n"
                              "2024-01-01 03:00,4.0,0\n")
    config = SeriesSource(source=source, time_column="timestamp", gaps="fill", missing="interpolate")
    series = series_reader.read_series(config, extra_columns=("label",))
    assert series.target_names == ["value"]
    np.testing.assert_allclose(series.values[:, 0], [1.5, 2.5, 3.25, 4.0])  # the gap's value interpolated
    np.testing.assert_array_equal(series.extra["label"], [0, 1, np.nan, 0])  # the gap's label left missing
    with pytest.raises(UserError, match=r"has no column 'is_anomaly' \(the recipe's data section\); its columns "
                                        r"are timestamp, value, label"):
        series_reader.read_series(config, extra_columns=("is_anomaly",))


def test_a_demo_source_needs_the_task_s_generator():
    with pytest.raises(UserError, match=r"data.source = 'demo:forecast': this task has no demo series"):
        series_reader.read_series(SeriesSource(source="demo:forecast"))


def test_standard_scaling_uses_the_rows_it_is_fitted_on():
    values = np.array([[1.0], [3.0]])
    scaler = Scaler.fit("standard", values)
    np.testing.assert_allclose(scaler.transform(np.array([[2.0], [5.0]]))[:, 0], [0.0, 3.0])
    assert Scaler.from_json(scaler.to_json()).to_json() == scaler.to_json()


@pytest.mark.parametrize("kind", ["minmax", "none"])
def test_other_scalings_and_a_constant_channel(kind):
    values = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0]])
    scaler = Scaler.fit(kind, values)
    scaled = scaler.transform(values)
    if kind == "minmax":
        np.testing.assert_allclose(scaled[:, 0], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(scaler.inverse(scaled), values, rtol=1e-6)
    assert np.isfinite(scaled).all()




def test_rows_out_of_time_order_are_an_error_or_read_as_given(tmp_path):
    source = _write(tmp_path, "timestamp,value\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n2024-01-01 01:00,3\n"
                              "2024-01-01 00:30,4\n")
    with pytest.raises(UserError, match=r"line 4: 2024-01-01 01:00:00 repeats the timestamp of line 3 .*"
                                        r"data.time_order = 'as_given'"):
        series_reader.read_series(SeriesSource(source=source, time_column="timestamp"))
    with pytest.raises(UserError, match="data.time_order = 'as_given' needs data.frequency = 'irregular'"):
        series_reader.read_series(SeriesSource(source=source, time_column="timestamp", time_order="as_given"))
    kept = series_reader.read_series(SeriesSource(source=source, time_column="timestamp", time_order="as_given",
                                                  frequency="irregular"))
    np.testing.assert_array_equal(kept.values[:, 0], [1, 2, 3, 4])
