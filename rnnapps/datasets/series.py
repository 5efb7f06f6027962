"""A multichannel time series in the data's own units, the reading fields of a time-series recipe's `[data]`
section (`SeriesSource`), and the per-channel scaling fitted on a series' training rows (`Scaler`). Shared by the
time-series tasks (forecast, anomaly); `series_reader` reads files into a `Series`."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

from rnnapps.errors import UserError


@dataclasses.dataclass(frozen=True)
class SeriesSource:
    """Where a series comes from and how it is read: the reading fields of a time-series task's `[data]` section
    (forecast and anomaly extend it with their own splitting fields).

    Attributes:
        source: a .csv/.tsv file with a header row, or "demo:NAME" (a generated toy series of the task).
        format: "auto" guesses from the name; or csv, tsv, demo.
        time_column: the timestamp column ("" = none: rows are equally spaced steps).
        date_format: strftime format of the timestamps ("" = ISO 8601 or what pandas infers; "1/3/2012" reads
            month first).
        target_columns: the columns modelled, in this order (empty = every column but the time and covariates).
        covariate_columns: columns known in the past that the model reads but does not forecast.
        frequency: "" infers the spacing from the data and requires it to be regular; "irregular" only checks
            the order (trading days: weekends and holidays are not gaps); or a pandas frequency ("h", "15min",
            "D") that the spacing must match.
        gaps: a missing timestamp is an "error" (naming the row), or "fill" adds the missing rows, whose values
            the `missing` policy then fills.
        time_order: "strict": timestamps must increase row by row (a repeated or earlier one is an error naming
            both rows); "as_given": the rows are the steps, in file order, whatever their timestamps (NAB's files
            repeat the hour the clocks go back, and step back in time once); needs frequency = "irregular".
        missing: an empty or NA value is an "error" (naming row and column), or filled: "interpolate"
            (linear in time), "ffill" (the last value before it) or "zero".
        thousands: thousands separator inside numbers ("7,380,500"; "" = none).
        encoding: text encoding of the files.
        demo_length: rows of the generated demo series.
        demo_seed: seed of the generated demo series.
    """

    source: str = ""
    format: Literal["auto", "csv", "tsv", "demo"] = "auto"
    time_column: str = "date"
    date_format: str = ""
    target_columns: tuple[str, ...] = ()
    covariate_columns: tuple[str, ...] = ()
    frequency: str = ""
    gaps: Literal["error", "fill"] = "error"
    time_order: Literal["strict", "as_given"] = "strict"
    missing: Literal["error", "interpolate", "ffill", "zero"] = "error"
    thousands: str = ","
    encoding: str = "utf-8"
    demo_length: int = 1000
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
        extra: columns read beside the channels and never modelled (e.g. anomaly labels): name -> float64
            [rows], NaN where missing.
    """

    values: np.ndarray
    timestamps: np.ndarray | None
    target_names: list[str]
    covariate_names: list[str]
    frequency: str | None
    source: str
    lines: np.ndarray
    extra: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

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
        extra = {name: np.concatenate([column, other.extra[name]]) for name, column in self.extra.items()
                 if name in other.extra}
        return Series(np.concatenate([self.values, other.values]), timestamps, self.target_names,
                      self.covariate_names, self.frequency, self.source, np.concatenate([self.lines, other.lines]),
                      extra)


def future_timestamps(series: Series, horizon: int) -> list[str] | None:
    """ISO timestamps of the `horizon` rows after the series' last one (None when irregular or untimed)."""
    import pandas as pd

    if series.timestamps is None or not series.frequency:
        return None
    stamps = pd.date_range(pd.Timestamp(series.timestamps[-1]), periods=horizon + 1, freq=series.frequency)[1:]
    return [stamp.isoformat() for stamp in stamps]


@dataclasses.dataclass(frozen=True)
class Scaler:
    """Per-channel affine scaling: scaled = (value - offset) / scale.

    Attributes:
        kind: "standard", "minmax" or "none".
        offset: float [channels].
        scale: float [channels] (> 0).
    """

    kind: str
    offset: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, kind: str, values: np.ndarray) -> Scaler:
        """Statistics of `values` float [rows, channels] (the training rows)."""
        channels = values.shape[1]
        if kind == "standard":
            offset, scale = values.mean(axis=0), values.std(axis=0)
        elif kind == "minmax":
            offset, scale = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
        else:
            offset, scale = np.zeros(channels), np.ones(channels)
        # A constant training channel keeps its values' offset and a unit scale instead of dividing by zero.
        scale = np.where(scale > 1e-12, scale, 1.0)
        return cls(kind, np.asarray(offset, np.float64), np.asarray(scale, np.float64))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Data units -> scaled, float32, any leading shape [..., channels]."""
        return ((values - self.offset[:values.shape[-1]]) / self.scale[:values.shape[-1]]).astype(np.float32)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """Scaled -> data units, float32, for the first values.shape[-1] channels."""
        return (values * self.scale[:values.shape[-1]] + self.offset[:values.shape[-1]]).astype(np.float32)

    def transform_graph(self, values):
        """Data units -> scaled, in graph: a float32 tensor [..., channels] (all the scaler's channels)."""
        import tensorflow as tf

        return (values - tf.constant(self.offset, tf.float32)) / tf.constant(self.scale, tf.float32)

    def inverse_graph(self, values, channels: int | None = None):
        """Scaled -> data units, in graph: a float32 tensor [..., channels] of the first `channels` channels
        (default all)."""
        import tensorflow as tf

        count = len(self.scale) if channels is None else channels
        return values * tf.constant(self.scale[:count], tf.float32) + tf.constant(self.offset[:count], tf.float32)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, for the bundle's metadata."""
        return {"kind": self.kind, "offset": self.offset.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> Scaler:
        """The scaler `to_json` wrote."""
        return cls(stored["kind"], np.asarray(stored["offset"], np.float64), np.asarray(stored["scale"], np.float64))
