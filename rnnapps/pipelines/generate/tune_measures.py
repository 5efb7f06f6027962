"""Music measures of sampled tunes against held-out ones (issue 34): how many parse and fit their meter
(`abc_bars`), how many copy a training tune, and how keys, meters, lengths and pitch ranges are distributed.

Tunes are in the cleaned form of `rnnapps.pipelines.generate.abc` (header M:, L:, R:, K:, then the body).
Pure Python: no TensorFlow.
"""

from __future__ import annotations

import collections
import re
import statistics
from typing import Any

from rnnapps.pipelines.generate import abc, abc_bars

_BAR_LINE = re.compile(f"{abc_bars.BAR_LINE}|{abc_bars.ENDING}")
_INLINE_FIELD = r"\[[A-Za-z]:[^\]\n]*\]"
_NOTE = re.compile(r"[_^=]*([A-Ga-g])([',]*)")
_LETTERS = "CDEFGAB"


def bars(tune: str) -> list[str]:
    """The tune's bars as written, spaces, chord symbols and inline fields removed (the units copying is
    counted in)."""
    _, body = abc_bars.split_tune(tune)
    body = re.sub(rf'"[^"\n]*"|{_INLINE_FIELD}|\s+', "", body)
    return [bar for bar in _BAR_LINE.split(body) if bar]


def pitch_range(tune: str) -> int | None:
    """Diatonic steps between the tune's lowest and highest note (an octave is 7), None without notes."""
    _, body = abc_bars.split_tune(tune)
    body = re.sub(rf'"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+|{_INLINE_FIELD}', "", body)
    steps = []
    for letter, marks in _NOTE.findall(body):
        octave = (letter.islower()) + marks.count("'") - marks.count(",")
        steps.append(7 * octave + _LETTERS.index(letter.upper()))
    return max(steps) - min(steps) if steps else None


def copied(tune: str, training_windows: set[tuple[str, ...]], window: int) -> bool:
    """Whether `tune` holds `window` consecutive bars that stand, in that order, in a training tune."""
    found = bars(tune)
    return any(tuple(found[start:start + window]) in training_windows for start in range(len(found) - window + 1))


def bar_windows(tunes: list[str], window: int) -> set[tuple[str, ...]]:
    """Every run of `window` consecutive bars of `tunes` (for `copied`)."""
    windows = set()
    for tune in tunes:
        found = bars(tune)
        windows.update(tuple(found[start:start + window]) for start in range(len(found) - window + 1))
    return windows


def describe(tunes: list[str]) -> dict[str, Any]:
    """Shares that parse and fit their meter, and the distributions of keys, meters, bars and pitch ranges.

    Returns:
        {"tunes", "parse_share", "fit_share", "bar_fit_share" (of the bars of the tunes that parse, those that fit),
        "keys": {key: share} (the 6 most common), "meters": {meter: share} (the 6 most common), "median_bars",
        "median_pitch_range" (diatonic steps), "problems" (the 5 most common reasons a tune does not fit)}.
    """
    checks = [abc_bars.check_tune(tune) for tune in tunes]
    headers = [abc_bars.split_tune(tune)[0] for tune in tunes]
    count = max(len(tunes), 1)

    def shares(values) -> dict[str, float]:
        return {value: round(number / count, 3) for value, number in collections.Counter(values).most_common(6)}

    ranges = [r for r in (pitch_range(tune) for tune in tunes) if r is not None]
    return {
        "tunes": len(tunes),
        "parse_share": round(sum(check.parses for check in checks) / count, 3),
        "fit_share": round(sum(check.fits for check in checks) / count, 3),
        "bar_fit_share": round(1 - sum(check.bad_bars for check in checks if check.parses)
                               / max(sum(check.bars for check in checks if check.parses), 1), 4),
        "keys": shares(header.get("K", "(none)") for header in headers),
        "meters": shares(header.get("M", "(none)") for header in headers),
        "median_bars": statistics.median([len(bars(tune)) for tune in tunes]) if tunes else 0,
        "median_pitch_range": statistics.median(ranges) if ranges else 0,
        "problems": dict(collections.Counter(re.sub(r"\d+/\d+|\d+", "N", check.problem)
                                             for check in checks if not check.fits).most_common(5)),
    }


def split_tunes(text: str) -> list[str]:
    """A text of cleaned tunes (`abc.END_OF_TUNE` after each) -> the tunes, each ending with a newline."""
    return [tune.strip("\n") + "\n" for tune in text.split(abc.END_OF_TUNE) if tune.strip()]
