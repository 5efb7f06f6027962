"""One series' detection as the user sees it: the per-row table (CSV `timestamp,value,anomaly_score,is_anomaly`),
the flagged rows, and the picture."""

from __future__ import annotations

import csv
import dataclasses
import pathlib
from typing import Any

import numpy as np

from rnnapps import atomic, plots
from rnnapps.datasets.series import Series


@dataclasses.dataclass
class Detection:
    """The detector's outputs on one series (numpy, one row per series row).

    Attributes:
        series: the series read.
        forecast, lower, upper: float32 [rows, channels], the forecast median and interval (NaN for the first L
            rows).
        error: float32 [rows], forecast errors in interval widths.
        scores: float32 [rows], anomaly scores in [0, 1].
        flags: bool [rows].
    """

    series: Series
    forecast: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    error: np.ndarray
    scores: np.ndarray
    flags: np.ndarray

    @classmethod
    def from_outputs(cls, series: Series, outputs: dict[str, Any]) -> Detection:
        """From the serving module's outputs for one series (its row of each output)."""
        return cls(series, *(np.asarray(outputs[name]) for name in
                             ("forecast", "lower", "upper", "error", "anomaly_score", "is_anomaly")))

    def flagged(self) -> list[dict[str, Any]]:
        """The flagged rows: {"row", "time", "values" {channel: value, to float32's 7 digits}, "anomaly_score"}."""
        names = self.series.channel_names
        return [{"row": int(row), "time": self.series.row_time(int(row)),
                 "values": {name: float(f"{self.series.values[row, c]:.7g}") for c, name in enumerate(names)},
                 "anomaly_score": round(float(self.scores[row]), 4)} for row in np.flatnonzero(self.flags)]

    def write_csv(self, path: str | pathlib.Path) -> pathlib.Path:
        """The per-row table: timestamp (or row), each value column, anomaly_score, is_anomaly (0/1)."""
        names = self.series.channel_names

        def write(target: pathlib.Path) -> None:
            with target.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["timestamp" if self.series.timestamps is not None else "row", *names,
                                 "anomaly_score", "is_anomaly"])
                for row in range(len(self.series)):
                    writer.writerow([self.series.row_time(row), *(f"{value:.6g}" for value in self.series.values[row]),
                                     f"{self.scores[row]:.6f}", int(self.flags[row])])

        return atomic.write_file(path, write)

    def plot(self, path: str | pathlib.Path, windows: np.ndarray | None = None,
             threshold: float | None = None) -> pathlib.Path:
        """The series, its forecast interval, flags and labelled windows over the score, as a PNG."""
        series = self.series
        x = series.timestamps if series.timestamps is not None else np.arange(len(series))
        flags = int(self.flags.sum())
        return plots.plot_anomalies(x, series.values, series.channel_names, self.scores, self.flags, path,
                                    lower=self.lower, upper=self.upper,
                                    windows=[] if windows is None else windows.tolist(), threshold=threshold,
                                    title=f"{pathlib.Path(series.source).name}: {flags} flag{'s' * (flags != 1)}")
