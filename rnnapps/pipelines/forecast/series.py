"""A multichannel time series in the data's own units, and the recipe's `[data]` section that says where it
comes from, how it is read and how it is split."""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from rnnapps.errors import UserError
from rnnapps.pipelines.forecast import demo_data


@dataclasses.dataclass(frozen=True)
class SeriesDataConfig:
    """Where the series comes from, which columns it forecasts and how it is split (the `[data]` section).

    Attributes:
        source: a .csv/.tsv file with a header row, or "demo:forecast" (a generated toy series).
        format: "auto" guesses from the name; or csv, tsv, demo.
        test_source: a second file that continues the series (same columns; e.g. a stock's test month): its
            rows are the test split, forecast from the history before them.
        time_column: the timestamp column ("" = none: rows are equally spaced steps).
        date_format: strftime format of the timestamps ("" = ISO 8601 or what pandas infers; "1/3/2012" reads
            month first).
        target_columns: the columns forecast, in this order (empty = every column but the time and covariates).
        covariate_columns: columns known in the past that the model reads but does not forecast.
        frequency: "" infers the spacing from the data and requires it to be regular; "irregular" only checks
            the order (trading days: weekends and holidays are not gaps); or a pandas frequency ("h", "15min",
            "D") that the spacing must match.
        gaps: a missing timestamp is an "error" (naming the row), or "fill" adds the missing rows, whose values
            the `missing` policy then fills.
        missing: an empty or NA value is an "error" (naming row and column), or filled: "interpolate"
            (linear in time), "ffill" (the last value before it) or "zero".
        thousands: thousands separator inside numbers ("7,380,500"; "" = none).
        encoding: text encoding of the files.
        train_rows: rows of the training split from the start (0 = by date or fraction); with
            validation_rows and test_rows, the rows after them (the ETT split: 8640, 2880, 2880).
        validation_rows: rows of the validation split after the training rows.
        test_rows: rows of the test split after the validation rows (0 with train_rows set = the rest).
        validation_start: first timestamp of the validation split (with test_start; "" = by fraction).
        test_start: first timestamp of the test split.
        test_end: the timestamp after the test split's last row ("" = the end of the file); with dates, one
            recipe splits files of any frequency alike (ETT: 12/4/4 months in the hourly and 15-minute files).
        validation_fraction: share of the rows for validation (before the test rows).
        test_fraction: share of the rows for test (the last rows).
        scaling: "standard" (minus mean, over deviation), "minmax" (to 0..1) or "none", with statistics of the
            training rows only.
        demo_length: rows of the generated demo series.
        demo_seed: seed of the generated demo series.
    """

    source: str = demo_data.SOURCE
    format: Literal["auto", "csv", "tsv", "demo"] = "auto"
    test_source: str = ""
    time_column: str = "date"
    date_format: str = ""
    target_columns: tuple[str, ...] = ()
    covariate_columns: tuple[str, ...] = ()
    frequency: str = ""
    gaps: Literal["error", "fill"] = "error"
    missing: Literal["error", "interpolate", "ffill", "zero"] = "error"
    thousands: str = ","
    encoding: str = "utf-8"
    train_rows: int = 0
    validation_rows: int = 0
    test_rows: int = 0
    validation_start: str = ""
    test_start: str = ""
    test_end: str = ""
    validation_fraction: float = 0.1
    test_fraction: float = 0.2
    scaling: Literal["standard", "minmax", "none"] = "standard"
    demo_length: int = demo_data.DEFAULT_LENGTH
    demo_seed: int = 0


@dataclasses.dataclass
class Series:
    """A multichannel time series in the data's own units.

    Attributes:
        values: float32 [rows, targets + covariates]: the target channels, then the covariates.
        timestamps: datetime64[ns] [rows], or None without a time column.
        target_names: names of the first `len(target_names)` channels.
        covariate_names: names of the channels after them.
        frequency: the pandas frequency of the rows ("h"), or None when irregular or without timestamps.
        source: where the series was read from (for messages).
        lines: the file line of every row (for messages; 0 for rows added by gap filling).
    """

    values: np.ndarray
    timestamps: np.ndarray | None
    target_names: list[str]
    covariate_names: list[str]
    frequency: str | None
    source: str
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    @property
    def channel_names(self) -> list[str]:
        """Every channel the model reads: targets, then covariates."""
        return [*self.target_names, *self.covariate_names]

    def where(self, row: int) -> str:
        """How a message names a row: its file line, and its timestamp when there is one."""
        line = int(self.lines[row])
        place = f"{self.source} line {line}" if line else f"{self.source} row {row + 1}"
        return f"{place} ({np.datetime_as_string(self.timestamps[row], unit='s')})" if self.timestamps is not None \
            else place

    def row_time(self, row: int) -> str | int:
        """How reports name a row: its timestamp ("2016-07-01 00:00:00"), or its row number without timestamps."""
        if self.timestamps is None:
            return row
        return str(np.datetime_as_string(self.timestamps[row], unit="s")).replace("T", " ")

    def concatenate(self, other: Series) -> Series:
        """This series followed by `other` (same channels; `other` must start after this one ends)."""
        if other.channel_names != self.channel_names:
            raise UserError(f"{other.source} has channels {other.channel_names}, {self.source} has "
                            f"{self.channel_names}")
        if self.timestamps is not None and other.timestamps is not None and other.timestamps[0] <= self.timestamps[-1]:
            raise UserError(f"{other.where(0)} does not come after the last row of {self.source}; the test file "
                            "must continue the series")
        timestamps = None if self.timestamps is None or other.timestamps is None else \
            np.concatenate([self.timestamps, other.timestamps])
        return Series(np.concatenate([self.values, other.values]), timestamps, self.target_names,
                      self.covariate_names, self.frequency, self.source, np.concatenate([self.lines, other.lines]))


def future_timestamps(series: Series, horizon: int) -> list[str] | None:
    """ISO timestamps of the `horizon` rows after the series' last one (None when irregular or untimed)."""
    import pandas as pd

    if series.timestamps is None or not series.frequency:
        return None
    stamps = pd.date_range(pd.Timestamp(series.timestamps[-1]), periods=horizon + 1, freq=series.frequency)[1:]
    return [stamp.isoformat() for stamp in stamps]
