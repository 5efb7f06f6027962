"""A toy series that rnnapps generates itself (demo data, not a benchmark): a half-hourly value with a daily cycle
and noise, into which four kinds of anomaly are planted: a spike, a level shift, a drift and a flat line. Each is
labelled NAB's way, by a window centred on where it starts (10% of the rows shared among the anomalies), in a
0/1 "label" column the detector never reads. Learnable in seconds.
"""

from __future__ import annotations

import pathlib

import numpy as np

from rnnapps.datasets import files
from rnnapps.errors import UserError

SOURCE = "demo:anomaly"
DEFAULT_LENGTH = 3000
START = np.datetime64("2026-03-02T00:00")
STEP = np.timedelta64(30, "m")
PERIOD = 48  # rows per day
COLUMNS = ("timestamp", "value", "label")
# Where each anomaly starts, as a share of the series.
ANOMALIES = {"spike": 0.37, "level_shift": 0.53, "drift": 0.70, "flat_line": 0.87}


def series(length: int = DEFAULT_LENGTH, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The demo series.

    Args:
        length: rows generated (at least 200, so that every anomaly has room).
        seed: noise seed.

    Returns:
        (timestamps datetime64[m] [length], values float64 [length], labels int64 [length]: 1 inside an
        anomaly's window).
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(length)
    values = 20 + 6 * np.sin(2 * np.pi * rows / PERIOD) + 2 * np.sin(4 * np.pi * rows / PERIOD + 1.0)
    values = values + rng.normal(0.0, 0.5, length)
    starts = {name: int(share * length) for name, share in ANOMALIES.items()}
    values[starts["spike"]] += 9.0
    values[starts["level_shift"]:] += 5.0
    drift = np.arange(length - starts["drift"])
    values[starts["drift"]:] += np.minimum(drift, PERIOD * 3) * 0.04
    flat = slice(starts["flat_line"], starts["flat_line"] + PERIOD)
    values[flat] = values[starts["flat_line"]]
    labels = np.zeros(length, np.int64)
    half_width = max(1, int(0.1 * length / len(ANOMALIES)) // 2)
    for start in starts.values():
        labels[max(0, start - half_width):start + half_width] = 1
    return START + STEP * rows, values, labels


def table(name: str, length: int = DEFAULT_LENGTH, seed: int = 0) -> tuple[list[str], list[list[str]], list[int]]:
    """The demo series as a parsed table: (header, rows of strings, line numbers), as a CSV file would read.

    Raises:
        UserError: `name` is not "anomaly", or `length` is under 200.
    """
    if name != "anomaly":
        raise UserError(f"unknown demo series {'demo:' + name!r}; the demo series is {SOURCE!r}")
    if length < 200:
        raise UserError(f"data.demo_length = {length} must be at least 200")
    timestamps, values, labels = series(length, seed)
    rows = [[np.datetime_as_string(stamp, unit="m").replace("T", " "), f"{value:.3f}", str(label)]
            for stamp, value, label in zip(timestamps, values, labels)]
    return list(COLUMNS), rows, list(range(2, length + 2))


def write_csv(path: str | pathlib.Path, length: int = DEFAULT_LENGTH, seed: int = 0) -> pathlib.Path:
    """Write the demo series as a CSV file (header `timestamp,value,label`) and return its path."""
    header, rows, _ = table("anomaly", length, seed)
    return files.write_csv(path, header, rows)
