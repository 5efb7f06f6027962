"""Scoring detections against labelled windows: the NAB score under its three profiles, window-level precision,
recall, F1 and delay, per series and over a corpus."""

from __future__ import annotations

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
    precision = detected / (detected + false_flags) if detected + false_flags else None
    recall = detected / count if count else None
    delays = [item["mean_delay_window_fraction"] * item["detected"] for item in windows if item["detected"]]
    total["windows"] = {
        "windows": count, "detected": detected, "false_flags": false_flags, "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if count else None),
        "mean_delay_window_fraction": sum(delays) / detected if detected else None}
    return total


def format_report(report: dict[str, Any]) -> str:
    """Human-readable lines: the NAB scores, window metrics, and one line per series of a corpus."""
    lines = []
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
