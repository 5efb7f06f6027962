"""Forecast data: the series (read and checked by `reader`, as the `[data]` section `series.SeriesDataConfig`
says) split chronologically into the rows whose forecasts train, validate and test a model.

A split is a range of forecast rows: its windows are the (history of L rows, next H rows) pairs whose H forecast
rows lie inside the range. A validation or test window's history may reach back into the rows before its range
(the ETT convention), so no forecast row is ever lost to the first windows' history. Nothing is shuffled across
time: training shuffles whole windows, never rows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from rnnapps.datasets import series_reader
from rnnapps.datasets.series import Series, future_timestamps  # noqa: F401  (part of this module's interface)
from rnnapps.errors import UserError
from rnnapps.pipelines.forecast import demo_data
from rnnapps.pipelines.forecast.window import WindowConfig

if TYPE_CHECKING:  # for annotations only: the [data] section's one home is the recipe (not re-exported here)
    from rnnapps.pipelines.forecast.recipe import SeriesDataConfig


def read_series(config: SeriesDataConfig, source: str | None = None, *, columns: list[str] | None = None,
                field: str = "data.source") -> Series:
    """`rnnapps.datasets.series_reader.read_series` with the forecast demo series ("demo:forecast")."""
    return series_reader.read_series(config, source, columns=columns, field=field, demo_table=demo_data.table)


@dataclasses.dataclass
class WindowSplit:
    """The windows whose forecast rows lie in rows [start, stop) of a series.

    Attributes:
        series: the whole series (histories may reach before `start`).
        start: first forecast row.
        stop: one past the last forecast row.
        window: the recipe's `[window]` section: L rows of history and H forecast rows per window are read
            from it (not copied), so a split always agrees with the recipe.
    """

    series: Series
    start: int
    stop: int
    window: WindowConfig

    def starts(self, stride: int = 1) -> np.ndarray:
        """Row of the first forecast step of every window, int64 [windows] (every `stride`-th)."""
        return np.arange(max(self.start, self.window.lookback), self.stop - self.window.horizon + 1, stride,
                         dtype=np.int64)

    def __len__(self) -> int:
        return len(self.starts())

    def windows(self, starts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(history float32 [windows, L, channels], future float32 [windows, H, targets]) in the data's units."""
        starts = self.starts() if starts is None else starts
        lookback = self.window.lookback
        steps = np.arange(-lookback, self.window.horizon)
        rows = self.series.values[starts[:, None] + steps[None]]
        return rows[:, :lookback], rows[:, lookback:, :len(self.series.target_names)]


@dataclasses.dataclass
class SeriesSplits:
    """Train / validation / test windows of one series (chronological, in this order)."""

    series: Series
    train: WindowSplit
    validation: WindowSplit
    test: WindowSplit


def read_splits(config: SeriesDataConfig, window: WindowConfig) -> SeriesSplits:
    """Read the recipe's series (and its test file) and split it chronologically.

    Args:
        config: the recipe's `[data]` section.
        window: the recipe's `[window]` section (L and H), which every split reads.

    Returns:
        The series and its train, validation and test `WindowSplit`s.

    Raises:
        UserError: as `read_series`, or splits too short for one window of L + H rows.
    """
    series = read_series(config)
    test_start = None
    if config.test_source:
        continuation = read_series(config, config.test_source, columns=series.channel_names,
                                   field="data.test_source")
        test_start = len(series)
        series = series.concatenate(continuation)
    train_stop, validation_stop, test_begin, test_stop = _split_rows(series, config, test_start)
    splits = SeriesSplits(series, WindowSplit(series, 0, train_stop, window),
                          WindowSplit(series, train_stop, validation_stop, window),
                          WindowSplit(series, test_begin, test_stop, window))
    if not len(splits.train):
        raise UserError(f"{series.source}: the training split has {train_stop} rows, fewer than window.lookback + "
                        f"window.horizon = {window.lookback + window.horizon}; use a longer series or a shorter "
                        "window")
    for name in ("validation", "test"):
        split = getattr(splits, name)
        if split.stop > split.start and not len(split):
            raise UserError(f"{series.source}: the {name} split has {split.stop - split.start} rows, fewer than "
                            f"window.horizon = {window.horizon}; make it longer or set its fraction/rows to 0")
    return splits


def whole_series(series: Series, window: WindowConfig) -> WindowSplit:
    """Every window (L and H from the `[window]` section `window`) of a series (an evaluation file).

    Raises:
        UserError: the series is shorter than one window of L + H rows.
    """
    split = WindowSplit(series, 0, len(series), window)
    if not len(split):
        raise UserError(f"{series.source} has {len(series)} rows, fewer than window.lookback + window.horizon = "
                        f"{window.lookback + window.horizon}")
    return split


def _split_rows(series: Series, config: SeriesDataConfig, test_start: int | None) -> tuple[int, int, int, int]:
    """(end of training rows, end of validation rows, start and end of test rows), chronological.

    `test_start` is the first row of a separate test file: its rows are the test split, and the recipe's rows,
    dates or fractions split the rows before it into training and validation.
    """
    rows = len(series)
    end = rows if test_start is None else test_start
    if config.train_rows:
        train = min(config.train_rows, end)
        validation = min(train + config.validation_rows, end)
        test_stop = min(validation + config.test_rows, end) if config.test_rows else end
    elif config.validation_start or config.test_start or config.test_end:
        if series.timestamps is None:
            raise UserError("data.validation_start / test_start / test_end need timestamps; set data.time_column")
        test_stop = min(_row_of(series, config.test_end, "data.test_end"), end) if config.test_end else end
        test = _row_of(series, config.test_start, "data.test_start") if config.test_start else test_stop
        train = _row_of(series, config.validation_start, "data.validation_start") if config.validation_start else test
        if not train <= test <= test_stop:
            raise UserError("data.validation_start, test_start and test_end must be in this order")
        validation = min(test, end)
    else:
        validation = end - (0 if test_start is not None else round(end * config.test_fraction))
        train = validation - round(end * config.validation_fraction)
        test_stop = end
    if test_start is not None:
        return train, validation, test_start, rows
    return train, validation, validation, test_stop


def _row_of(series: Series, date: str, field: str) -> int:
    import pandas as pd

    try:
        stamp = pd.Timestamp(date).to_datetime64()
    except ValueError:
        raise UserError(f"{field} = {date!r} is not a date") from None
    return int(np.searchsorted(series.timestamps, stamp))

