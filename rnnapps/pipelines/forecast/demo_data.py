"""A toy hourly series that rnnapps generates itself (demo data, not a benchmark): a trend, a daily and a
weekly cycle and noise, in two channels ("load" and "temperature") that share the daily rhythm. Learnable in seconds;
being sums of cycles, it is a series a linear map of the window also forecasts well.
"""

from __future__ import annotations

import pathlib

import numpy as np

from rnnapps.datasets import files
from rnnapps.errors import UserError

SOURCE = "demo:forecast"
DEFAULT_LENGTH = 24 * 7 * 10  # ten weeks of hours
START = np.datetime64("2026-01-05T00:00")  # a Monday
COLUMNS = ("date", "load", "temperature")


def series(length: int = DEFAULT_LENGTH, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The demo series.

    Args:
        length: hours generated.
        seed: noise seed.

    Returns:
        (timestamps datetime64[m] [length], values float64 [length, 2]: load, temperature).
    """
    rng = np.random.default_rng(seed)
    hours = np.arange(length)
    day = 2 * np.pi * hours / 24
    week = 2 * np.pi * hours / (24 * 7)
    weekend = ((hours // 24) % 7 >= 5).astype(np.float64)
    load = 50 + 0.01 * hours + 10 * np.sin(day - np.pi / 2) + 4 * np.sin(week) - 6 * weekend
    temperature = 12 + 5 * np.sin(day - 2 * np.pi / 3) + 3 * np.sin(2 * np.pi * hours / (24 * 30))
    noise = rng.normal(0.0, [1.0, 0.6], size=(length, 2))
    values = np.stack([load, temperature], axis=1) + noise
    return START + hours.astype("timedelta64[h]"), values


def table(name: str, length: int = DEFAULT_LENGTH, seed: int = 0) -> tuple[list[str], list[list[str]], list[int]]:
    """The demo series as a parsed table: (header, rows of strings, line numbers), as a CSV file would read.

    Raises:
        UserError: `name` is not "forecast".
    """
    if name != "forecast":
        raise UserError(f"unknown demo series {'demo:' + name!r}; the demo series is {SOURCE!r}")
    if length < 2:
        raise UserError(f"data.demo_length = {length} must be at least 2")
    timestamps, values = series(length, seed)
    rows = [[np.datetime_as_string(stamp, unit="m").replace("T", " "), f"{load:.3f}", f"{temperature:.3f}"]
            for stamp, (load, temperature) in zip(timestamps, values)]
    return list(COLUMNS), rows, list(range(2, length + 2))


def write_csv(path: str | pathlib.Path, length: int = DEFAULT_LENGTH, seed: int = 0) -> pathlib.Path:
    """Write the demo series as a CSV file (header `date,load,temperature`) and return its path."""
    header, rows, _ = table("forecast", length, seed)
    return files.write_csv(path, header, rows)
