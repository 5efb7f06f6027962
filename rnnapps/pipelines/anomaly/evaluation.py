"""Scoring detections against labelled windows: the NAB score under its three profiles, window-level precision,
recall, F1 and delay, per series and over a corpus."""

from __future__ import annotations

import functools
import math
import pathlib
from typing import Any

import numpy as np

from rnnapps.pipelines.anomaly import nab_score


def series_report(flags: np.ndarray, windows: np.ndarray | None, probation: int, source: str) -> dict[str, Any]:
    """One series' report: rows scored, flags, and with labels the NAB scores and window metrics.

    Args:
        flags: bool [rows], the detector's flags.
        windows: int [windows, 2] labelled windows, or None without labels.
        probation: rows not scored at the start.
        source: the series' name in the report.
    """
    flags = np.asarray(flags, bool)
    report: dict[str, Any] = {"source": source, "rows": len(flags), "scored_rows": max(0, len(flags) - probation),
                              "flags": int(flags[probation:].sum())}
    if windows is None:
        return report
    scores = {name: nab_score.score_file(flags, windows, profile, probation)
              for name, profile in nab_score.PROFILES.items()}
    report["nab_parts"] = {name: {"raw": score.raw, "null": score.null, "perfect": score.perfect}
                           for name, score in scores.items()}
    report["nab"] = {name: nab_score.normalised([score]) for name, score in scores.items()}
    report["windows"] = nab_score.window_metrics([scores["standard"]])
    return report


THRESHOLDS = tuple(round(0.05 * step, 2) for step in range(1, 20))  # 0.05, 0.1, ..., 0.95: what --tune-on tries


def held_flags(scores: np.ndarray, threshold: float, hold_rows: int) -> np.ndarray:
    """The detector's flags of float [rows] scores at another threshold (`likelihood.held_flags`): bool [rows]."""
    return flags_at_thresholds(scores, [threshold], hold_rows)[0]


def flags_at_thresholds(scores: np.ndarray, thresholds, hold_rows: int) -> np.ndarray:
    """Flags of float [rows] scores at each threshold at once: bool [thresholds, rows]."""
    import tensorflow as tf

    levels = tf.constant(np.asarray(thresholds, np.float32)[:, None])
    repeated = tf.repeat(tf.constant(np.asarray(scores, np.float32)[None]), len(thresholds), axis=0)
    return _compiled_held_flags()(repeated, levels, hold_rows).numpy()


@functools.cache
def _compiled_held_flags():
    import tensorflow as tf

    from rnnapps.pipelines.anomaly import likelihood

    return tf.function(likelihood.held_flags, reduce_retracing=True)


def best_threshold(series: list[tuple[np.ndarray, np.ndarray | None, int]], hold_rows: int) -> tuple[float, float]:
    """The threshold of `THRESHOLDS` with the best NAB standard score over labelled series (the highest of equals).

    Args:
        series: (scores float [rows], windows int [windows, 2], probation rows) per labelled series.
        hold_rows: the detector's hold after a flag.

    Returns:
        (threshold, its NAB standard score over the series).
    """
    profile = nab_score.PROFILES["standard"]
    totals = [[] for _ in THRESHOLDS]
    for scores, windows, probation in series:
        if windows is None:
            continue
        for index, flags in enumerate(flags_at_thresholds(scores, THRESHOLDS, hold_rows)):
            totals[index].append(nab_score.score_file(flags, windows, profile, probation))
    results = [nab_score.normalised(scored) for scored in totals]
    if all(result is None for result in results):
        raise ValueError("no labelled window to tune the threshold on")
    # Of thresholds that score alike on the tuning series, the highest: it flags least on series unseen.
    best = max(range(len(THRESHOLDS)), key=lambda index: (-math.inf if results[index] is None else results[index],
                                                           index))
    return THRESHOLDS[best], results[best]


def corpus_report(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The NAB scores and window metrics of labelled series scored together (raw, null and perfect summed over
    the series before normalising, as NAB does), with each series' report under "series"."""
    labelled = [report for report in reports if "nab_parts" in report]
    total: dict[str, Any] = {"series": reports, "rows": sum(report["rows"] for report in reports),
                             "flags": sum(report["flags"] for report in reports)}
    if not labelled:
        return total
    total["nab"] = {}
    for name in nab_score.PROFILES:
        parts = [nab_score.FileScore(**report["nab_parts"][name], windows=0, detected=0, false_flags=0, delays=(),
                                     widths=()) for report in labelled]
        total["nab"][name] = nab_score.normalised(parts)
    windows = [report["windows"] for report in labelled]
    detected = sum(item["detected"] for item in windows)
    false_flags = sum(item["false_flags"] for item in windows)
    count = sum(item["windows"] for item in windows)
    delays = [item["mean_delay_window_fraction"] * item["detected"] for item in windows if item["detected"]]
    total["windows"] = {**nab_score.window_rates(count, detected, false_flags),
                        "mean_delay_window_fraction": sum(delays) / detected if detected else None}
    return total


def format_report(report: dict[str, Any]) -> str:
    """Human-readable lines: the NAB scores, window metrics, and one line per series of a corpus."""
    lines = []
    if "tuned_on" in report:
        lines.append(f"threshold {report['threshold']:g}, tuned on {len(report['tuned_on'])} labelled series (NAB "
                     f"standard {report['tuned_on_nab_standard']:.1f} there)")
    if "nab" in report:
        nab = report["nab"]
        scores = "   ".join(f"{name.replace('_', ' ')} {value:.1f}" for name, value in nab.items() if value is not None)
        lines.append(f"NAB score: {scores}" if scores else "NAB score: no labelled window to find")
        metrics = report["windows"]
        if metrics["windows"]:
            delay = metrics.get("mean_delay_window_fraction")
            lines.append(f"windows: {metrics['detected']}/{metrics['windows']} found, {metrics['false_flags']} false "
                         f"flags; precision {_number(metrics['precision'])}   recall {_number(metrics['recall'])}   "
                         f"F1 {_number(metrics['f1'])}"
                         + (f"   first flag {100 * delay:.0f}% into the window on average" if delay is not None
                            else ""))
    for item in report.get("series", []):
        nab = item.get("nab", {}).get("standard")
        lines.append(f"  {pathlib.PurePath(item['source']).name}: {item['flags']} flags in {item['scored_rows']} "
                     f"rows" + (f", NAB {nab:.1f}" if nab is not None else "")
                     + (f", {item['seconds']:.0f} s" if "seconds" in item else ""))
    if "series" not in report:
        lines.append(f"{report['flags']} flags in {report['scored_rows']} scored rows of {report['source']}")
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
