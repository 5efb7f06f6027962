"""The Numenta Anomaly Benchmark score (Lavin and Ahmad 2015), from the paper's definition and the NAB repository's
README, on numpy arrays.

A detector's flags on a series are scored against labelled anomaly windows:
- the first `probationary_rows` rows are not scored (the detector is still learning);
- inside a window, only the window's first flag counts, worth `tp_weight * S(y) / S(-1)` where y in [-1, 0) is the
  flag's relative position (-1 the window's first row) and S(y) = 2 sigmoid(-5 y) - 1: early is worth more;
- a window with no flag costs `fn_weight`;
- every flag outside a window costs `fp_weight * S(y)` with y its distance after the previous window's end, in
  window widths (up to -1 from three widths on, and -1 before any window).
A corpus score is normalised so that the null detector (never flags) scores 0 and the perfect one (flags each
window's first scored row) 100: 100 (raw - null) / (perfect - null), with raw, null and perfect summed over files.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np


@dataclasses.dataclass(frozen=True)
class Profile:
    """An application profile: the weights of a window found, a false flag and a window missed."""

    tp_weight: float
    fp_weight: float
    fn_weight: float


PROFILES = {
    "standard": Profile(1.0, 0.11, 1.0),
    "reward_low_fp_rate": Profile(1.0, 0.22, 1.0),
    "reward_low_fn_rate": Profile(1.0, 0.11, 2.0),
}
PROBATIONARY_PERCENT = 0.15


def scaled_sigmoid(position: np.ndarray) -> np.ndarray:
    """S(y) = 2 sigmoid(-5 y) - 1, and -1 from y = 3 on: float [n] -> float [n]."""
    position = np.asarray(position, np.float64)
    return np.where(position >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0)


def probationary_rows(rows: int, percent: float = PROBATIONARY_PERCENT) -> int:
    """The rows NAB does not score at the start of a series of `rows` rows: 15%, at most 750."""
    return int(min(math.floor(percent * rows), percent * 5000))


def check_windows(windows: np.ndarray, rows: int, where: str = "the labels") -> np.ndarray:
    """Windows int [windows, 2] of first and last row (inclusive), checked to lie in the series, in order and apart.

    Raises:
        ValueError: naming the first window out of place.
    """
    windows = np.asarray(windows, np.int64).reshape(-1, 2)
    for index, (first, last) in enumerate(windows):
        if not 0 <= first <= last < rows:
            raise ValueError(f"{where}: window {index + 1} (rows {first}-{last}) is not inside the series' "
                             f"{rows} rows")
        if index and first <= windows[index - 1, 1]:
            raise ValueError(f"{where}: window {index + 1} starts before window {index} ends; windows must be "
                             "in time order and apart")
    return windows


def row_weights(rows: int, windows: np.ndarray, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """What a flag on each row is worth, and which window the row is in.

    Args:
        rows: the series' length.
        windows: int [windows, 2], first and last row of each window (checked by `check_windows`).
        profile: the weights.

    Returns:
        (weights float64 [rows]: the value of a flag there (positive in a window, negative outside),
        window int64 [rows]: the row's window index, -1 outside every window).
    """
    index = np.arange(rows)
    window = np.full(rows, -1, np.int64)
    weights = np.full(rows, -profile.fp_weight)  # before any window: S(3) = -1
    max_tp = scaled_sigmoid(np.array(-1.0))
    for number, (first, last) in enumerate(windows):
        width = last - first + 1
        inside = slice(first, last + 1)
        window[inside] = number
        weights[inside] = scaled_sigmoid(-(last - index[inside] + 1) / width) * profile.tp_weight / max_tp
        following = windows[number + 1, 0] if number + 1 < len(windows) else rows
        after = slice(last + 1, following)
        # A one-row window has no width to measure distance by: every later flag is a full false positive.
        distance = (index[after] - last) / (width - 1) if width > 1 else np.full(following - last - 1, 3.0)
        weights[after] = scaled_sigmoid(distance) * profile.fp_weight
    return weights, window


@dataclasses.dataclass(frozen=True)
class FileScore:
    """One series' NAB score parts under one profile (raw points, before normalisation).

    Attributes:
        raw: the detector's score: windows found (first flag's worth) + false flags' cost - windows missed.
        null: the score of a detector that never flags (- fn_weight per scored window).
        perfect: the score of one that flags each window's first scored row.
        windows: windows with a scored row.
        detected: windows flagged at least once.
        false_flags: flags outside every window (scored rows only).
        delays: for each detected window, rows from its first row to its first flag.
        widths: the width in rows of each detected window.
    """

    raw: float
    null: float
    perfect: float
    windows: int
    detected: int
    false_flags: int
    delays: tuple[int, ...]
    widths: tuple[int, ...]


def score_file(flags: np.ndarray, windows: np.ndarray, profile: Profile, probation: int | None = None) -> FileScore:
    """Score a detector's flags on one series.

    Args:
        flags: bool [rows], True where the detector flags.
        windows: int [windows, 2], first and last row of each labelled window (inclusive).
        profile: the weights.
        probation: rows not scored at the start (default: NAB's, `probationary_rows`).

    Returns:
        The series' `FileScore`.
    """
    flags = np.asarray(flags, bool)
    rows = len(flags)
    windows = check_windows(windows, rows)
    probation = probationary_rows(rows) if probation is None else probation
    weights, window_of = row_weights(rows, windows, profile)
    scored = np.arange(rows) >= probation
    raw = float(weights[flags & scored & (window_of < 0)].sum())
    false_flags = int((flags & scored & (window_of < 0)).sum())
    null = perfect = 0.0
    counted = detected = 0
    delays, widths = [], []
    for first, last in windows:
        start = max(first, probation)
        if start > last:
            continue  # wholly inside the probationary rows: not scored
        counted += 1
        null -= profile.fn_weight
        perfect += weights[start]
        hits = np.flatnonzero(flags[start:last + 1])
        if len(hits):
            detected += 1
            raw += weights[start + hits[0]]
            delays.append(int(start + hits[0] - first))
            widths.append(int(last - first + 1))
        else:
            raw -= profile.fn_weight
    return FileScore(raw, null, perfect, counted, detected, false_flags, tuple(delays), tuple(widths))


def normalised(scores: Iterable[FileScore]) -> float | None:
    """The NAB score of files scored together: 100 (raw - null) / (perfect - null), negative below the null
    detector; None when no file has a window to find (the score is undefined)."""
    scores = list(scores)
    raw, null, perfect = (sum(getattr(score, name) for score in scores) for name in ("raw", "null", "perfect"))
    if perfect == null:
        return None
    return 100.0 * (raw - null) / (perfect - null)


def window_metrics(scores: Iterable[FileScore]) -> dict[str, float | int | None]:
    """Window-level counts of files scored together: windows, detected, false flags, precision (windows found
    over windows found plus false flags), recall, F1, and the mean detection delay in rows and in window widths."""
    scores = list(scores)
    windows = sum(score.windows for score in scores)
    detected = sum(score.detected for score in scores)
    false_flags = sum(score.false_flags for score in scores)
    delays = [delay for score in scores for delay in score.delays]
    fractions = [delay / width for score in scores for delay, width in zip(score.delays, score.widths)]
    return {**window_rates(windows, detected, false_flags),
            "mean_delay_rows": float(np.mean(delays)) if delays else None,
            "mean_delay_window_fraction": float(np.mean(fractions)) if fractions else None}


def window_rates(windows: int, detected: int, false_flags: int) -> dict[str, float | int | None]:
    """The window counts with precision (windows found over windows found plus false flags), recall and F1 (None
    where undefined; F1 0 when there are windows and none is found)."""
    precision = detected / (detected + false_flags) if detected + false_flags else None
    recall = detected / windows if windows else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if windows else None)
    return {"windows": windows, "detected": detected, "false_flags": false_flags, "precision": precision,
            "recall": recall, "f1": f1}
