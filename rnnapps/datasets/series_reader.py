"""Reading a series from CSV/TSV (or a task's generated demo) and checking it: numbers as people write them
(quoted, with thousands separators), timestamps in order and regularly spaced, missing values and gaps an error
naming the row and column, or filled as the recipe says. The one reader of the time-series tasks."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable, Sequence

import numpy as np

from rnnapps.datasets import files
from rnnapps.datasets.series import Series, SeriesSource
from rnnapps.errors import UserError

# A task's demo generator: (name after "demo:", rows, seed) -> (header, rows of strings, line numbers).
DemoTable = Callable[[str, int, int], tuple[list[str], list[list[str]], list[int]]]

FORMATS = ("auto", "csv", "tsv", "demo")
IRREGULAR = "irregular"
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "?"})
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def resolve_format(source: str, format: str, field: str = "data.source") -> str:
    """The reader for `source` when `format` is "auto"; `field` is how messages name the source."""
    if format != "auto":
        return format
    if source.startswith("demo:"):
        return "demo"
    lowered = source.lower()
    if lowered.endswith((".tsv", ".tab")):
        return "tsv"
    if lowered.endswith((".csv", ".txt")):
        return "csv"
    files.existing_path(source, field)
    raise UserError(f"{field} = {source!r}: cannot tell its format from the name; set data.format to csv or tsv")


def read_series(config: SeriesSource, source: str | None = None, *, columns: list[str] | None = None,
                field: str = "data.source", demo_table: DemoTable | None = None,
                extra_columns: Sequence[str] = ()) -> Series:
    """Read, check and fill a series as the recipe says.

    Args:
        config: the recipe's data section (a `SeriesSource`).
        source: the file to read (default `config.source`).
        columns: the channels a trained model reads (targets then covariates); the file must have them.
        field: how messages name `source` (the recipe field it comes from; `predict` says "the history file").
        demo_table: the task's generator of "demo:NAME" sources (None: the task has no demo series).
        extra_columns: other columns read beside the channels, never modelled (e.g. anomaly labels): in
            `Series.extra`, NaN where missing, and left out of the default targets.

    Returns:
        The series in the data's own units.

    Raises:
        UserError: an empty file, a missing column, a value that is not a number (naming line and column),
            unsorted, duplicate or missing timestamps, or missing values the recipe does not fill.
    """
    source = config.source if source is None else source
    format = resolve_format(source, config.format, field)
    if format == "demo":
        if demo_table is None:
            raise UserError(f"{field} = {source!r}: this task has no demo series")
        header, rows, lines = demo_table(source.removeprefix("demo:"), config.demo_length, config.demo_seed)
    elif format in ("csv", "tsv"):
        path = files.existing_path(source, field)
        header, rows, lines = _read_table(path, "," if format == "csv" else "\t", config.encoding)
    else:
        raise UserError(f"data.format = {format!r} is not one of {', '.join(FORMATS)}")
    targets, covariates = _channel_names(header, config, source, columns, extra_columns)
    index = {name: i for i, name in enumerate(header)}
    read = [*targets, *covariates, *extra_columns]
    # Float64 until the extras are split off: a label or an id column keeps its exact integers.
    values = np.stack([_numbers(rows, index[name], name, lines, source, config.thousands) for name in read], axis=1)
    timestamps = None
    frequency = None
    if config.time_column:
        timestamps = _timestamps([row[index[config.time_column]] for row in rows], lines, source, config)
        frequency = _check_spacing(timestamps, lines, source, config)
        if frequency and config.gaps == "fill":
            timestamps, values, lines = _fill_gaps(timestamps, values, lines, frequency)
    channels = len(targets) + len(covariates)
    extra = {name: values[:, channels + i] for i, name in enumerate(extra_columns)}
    series = Series(values[:, :channels].astype(np.float32), timestamps, targets, covariates, frequency, source,
                    np.asarray(lines, dtype=np.int64), extra)
    _fill_missing(series, config.missing)
    return series


def _read_table(path: pathlib.Path, delimiter: str, encoding: str) -> tuple[list[str], list[list[str]], list[int]]:
    rows = files.read_delimited(path, delimiter, encoding)
    first = next(rows, None)
    if first is None:
        raise UserError(f"{path} is empty: expected a header row and one row per time step")
    header = [name.strip() for name in first[1]]
    body, lines = [], []
    for number, row in rows:
        if len(row) != len(header):
            raise UserError(f"{path} line {number}: {len(row)} fields, but the header has {len(header)}")
        body.append(row)
        lines.append(number)
    if not body:
        raise UserError(f"{path} has a header but no rows")
    return header, body, lines


def _channel_names(header: list[str], config: SeriesSource, source: str, columns: list[str] | None,
                   extra_columns: Sequence[str]) -> tuple[list[str], list[str]]:
    known = set(header)
    wanted = [config.time_column] if config.time_column else []
    wanted += [*config.target_columns, *config.covariate_columns, *(columns or [])]
    for name in [*wanted, *extra_columns]:
        if name not in known:
            field = "data.time_column" if name == config.time_column else \
                "data.target_columns / covariate_columns" if name in wanted else "the recipe's data section"
            raise UserError(f"{source} has no column {name!r} ({field}); its columns are {', '.join(header)}")
    if columns is not None:
        count = len(columns) - len(config.covariate_columns)
        return list(columns[:count]), list(columns[count:])
    covariates = list(config.covariate_columns)
    targets = list(config.target_columns) or [name for name in header if name != config.time_column
                                              and name not in covariates and name not in extra_columns]
    if not targets:
        raise UserError(f"{source} has no column to forecast; set data.target_columns")
    return targets, covariates


def _numbers(rows: list[list[str]], column: int, name: str, lines: list[int], source: str,
             thousands: str) -> np.ndarray:
    """One column as float64 (NaN where the value is missing)."""
    values = np.empty(len(rows), dtype=np.float64)
    for i, row in enumerate(rows):
        text = row[column].strip().strip('"')
        if thousands:
            text = text.replace(thousands, "")
        if text.lower() in MISSING_MARKERS:
            values[i] = np.nan
        elif _NUMBER.match(text):
            values[i] = float(text)
        else:
            raise UserError(f"{source} line {lines[i]}, column {name!r}: {row[column]!r} is not a number")
    return values


def _timestamps(texts: list[str], lines: list[int], source: str, config: SeriesSource) -> np.ndarray:
    import pandas as pd

    parsed = pd.to_datetime(pd.Series(texts).str.strip(), format=config.date_format or None, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        hint = f"data.date_format = {config.date_format!r}" if config.date_format else "set data.date_format"
        raise UserError(f"{source} line {lines[bad[0]]}, column {config.time_column!r}: {texts[bad[0]]!r} is not "
                        f"a date ({hint})")
    return parsed.to_numpy(dtype="datetime64[ns]")


def _check_spacing(timestamps: np.ndarray, lines: list[int], source: str, config: SeriesSource) -> str | None:
    """Check order and spacing; returns the series' pandas frequency (None when irregular)."""
    import pandas as pd

    if config.time_order == "as_given":
        if config.frequency != IRREGULAR:
            raise UserError("data.time_order = 'as_given' needs data.frequency = 'irregular' (rows out of time "
                            "order have no regular spacing)")
        return None
    steps = np.diff(timestamps)
    for i in np.flatnonzero(steps <= np.timedelta64(0)):
        what = "repeats the timestamp of" if steps[i] == np.timedelta64(0) else "comes before"
        raise UserError(f"{source} line {lines[i + 1]}: {_stamp(timestamps[i + 1])} {what} line {lines[i]} "
                        f"({_stamp(timestamps[i])}); the rows must be in time order with one row per timestamp"
                        + " (or set data.time_order = 'as_given' to read the rows in file order)")
    if config.frequency == IRREGULAR or len(timestamps) < 2:
        return None
    if config.frequency:
        try:
            step = pd.Timedelta(pd.tseries.frequencies.to_offset(config.frequency)).to_timedelta64()
        except (ValueError, TypeError):
            raise UserError(f"data.frequency = {config.frequency!r} is not a pandas frequency (e.g. h, 15min, D) "
                            "or 'irregular'") from None
    else:
        values, counts = np.unique(steps, return_counts=True)
        step = values[np.argmax(counts)]
    off_grid = steps % step != np.timedelta64(0)
    # A step of several spacings is a gap (missing rows), which the recipe may fill; any other is an error.
    wrong = off_grid if config.gaps == "fill" else steps != step
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        what = "rows missing" if not off_grid[i] else "off the series' grid"
        raise UserError(
            f"{source} line {lines[i + 1]}: {_stamp(timestamps[i + 1])} follows {_stamp(timestamps[i])} "
            f"({what}: the series steps by {pd.Timedelta(step)}); set data.gaps = 'fill' to add missing rows, "
            "or data.frequency = 'irregular' for a series without a fixed spacing (trading days)")
    return pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr


def _fill_gaps(timestamps: np.ndarray, values: np.ndarray, lines: list[int],
               frequency: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Add NaN rows at the missing timestamps of a regular grid."""
    import pandas as pd

    grid = pd.date_range(timestamps[0], timestamps[-1], freq=frequency).to_numpy(dtype="datetime64[ns]")
    positions = np.searchsorted(grid, timestamps)
    filled = np.full((len(grid), values.shape[1]), np.nan, dtype=values.dtype)
    filled[positions] = values
    filled_lines = np.zeros(len(grid), dtype=np.int64)
    filled_lines[positions] = lines
    return grid, filled, list(filled_lines)


def _fill_missing(series: Series, policy: str) -> None:
    values = series.values
    missing = np.isnan(values)
    if not missing.any():
        return
    if policy == "error":
        row, channel = np.argwhere(missing)[0]
        raise UserError(f"{series.where(int(row))}: no value for {series.channel_names[channel]!r} "
                        f"({int(missing.sum())} missing values in all); set data.missing to interpolate, ffill or "
                        "zero to fill them")
    for channel in range(values.shape[1]):
        column, gaps = values[:, channel], missing[:, channel]
        if not gaps.any():
            continue
        known = np.flatnonzero(~gaps)
        if not len(known):
            raise UserError(f"{series.source}: column {series.channel_names[channel]!r} has no values at all")
        if policy == "zero":
            column[gaps] = 0.0
        elif policy == "ffill":
            last = np.maximum.accumulate(np.where(gaps, 0, np.arange(len(column))))
            column[:] = column[last]
            column[np.isnan(column)] = column[known[0]]  # before the first value: the first value
        else:
            column[gaps] = np.interp(np.flatnonzero(gaps), known, column[known])


def _stamp(value: np.datetime64) -> str:
    return np.datetime_as_string(value, unit="s").replace("T", " ")
