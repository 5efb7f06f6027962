"""Anomaly labels as row windows: NAB's windows JSON (`labels/combined_windows.json`: "<category>/<file>.csv" ->
[[first timestamp, last timestamp], ...]) or a 0/1 label column, and the series files of a NAB-format corpus."""

from __future__ import annotations

import json
import pathlib

import numpy as np

from rnnapps.datasets import files
from rnnapps.datasets.series import Series
from rnnapps.errors import UserError

NO_WINDOWS = np.zeros((0, 2), np.int64)


def read_windows_json(path: str | pathlib.Path, field: str = "data.labels") -> dict[str, list[tuple[str, str]]]:
    """NAB's windows JSON: series key ("realKnownCause/nyc_taxi.csv") -> [(first, last) timestamp strings].

    Raises:
        UserError: a missing file, text that is not JSON, or a value that is not a list of [first, last] pairs.
    """
    path = files.existing_path(str(path), field)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not a JSON file of anomaly windows: {error}") from None
    if not isinstance(stored, dict):
        raise UserError(f"{path}: expected an object of series name -> list of [first, last] timestamps")
    windows = {}
    for key, pairs in stored.items():
        if not isinstance(pairs, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in pairs):
            raise UserError(f"{path}: {key!r} must be a list of [first, last] timestamp pairs")
        windows[key.replace("\\", "/")] = [(str(first), str(last)) for first, last in pairs]
    return windows


def key_of(source: str | pathlib.Path, labelled: dict[str, list]) -> str | None:
    """The labels' key for a series file: the key its path ends with ("…/realKnownCause/nyc_taxi.csv" ->
    "realKnownCause/nyc_taxi.csv"), or None when none does."""
    path = pathlib.Path(source).as_posix()
    found = [key for key in labelled if path == key or path.endswith("/" + key)]
    return max(found, key=len) if found else None


def windows_of(series: Series, pairs: list[tuple[str, str]], where: str) -> np.ndarray:
    """Timestamp windows -> int64 [windows, 2] first and last row (the rows inside each window, inclusive).

    Raises:
        UserError: the series has no timestamps, a window is not a pair of dates, or lies outside the series.
    """
    import pandas as pd

    if not pairs:
        return NO_WINDOWS
    if series.timestamps is None:
        raise UserError(f"{where}: timestamp windows need the series' timestamps; set data.time_column")
    rows = []
    for first, last in pairs:
        try:
            start, stop = pd.Timestamp(first).to_datetime64(), pd.Timestamp(last).to_datetime64()
        except ValueError:
            raise UserError(f"{where}: window [{first!r}, {last!r}] is not a pair of dates") from None
        # Masks, not a binary search: a series read in file order (data.time_order) may step back in time.
        inside = np.flatnonzero((series.timestamps >= start) & (series.timestamps <= stop))
        begin, end = (int(inside[0]), int(inside[-1])) if len(inside) else (1, 0)
        if begin > end:
            raise UserError(f"{where}: window [{first}, {last}] lies outside {series.source} (rows "
                            f"{series.row_time(0)} to {series.row_time(len(series) - 1)})")
        rows.append((begin, end))
    return np.asarray(rows, np.int64)


def windows_from_column(labels: np.ndarray, where: str) -> np.ndarray:
    """A 0/1 column float [rows] -> int64 [windows, 2]: each run of 1s is one window.

    Raises:
        UserError: a value other than 0 or 1 (a missing label counts as 0).
    """
    labels = np.nan_to_num(np.asarray(labels, np.float64), nan=0.0)
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if len(bad):
        raise UserError(f"{where}: row {bad[0] + 1} has label {labels[bad[0]]:g}; labels are 0 or 1")
    edges = np.diff(np.concatenate([[0], labels.astype(np.int64), [0]]))
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1], axis=1).astype(np.int64)


def corpus_files(folder: str | pathlib.Path, labelled: dict[str, list] | None) -> list[pathlib.Path]:
    """The series files (.csv/.tsv, recursively, sorted) of a corpus folder.

    Args:
        folder: the folder (NAB: its `data/`).
        labelled: the labels JSON read; then every file must have labels and every label a file.

    Raises:
        UserError: no series in the folder, a file without labels, or labels naming a file that is not there.
    """
    root = files.existing_path(str(folder), "--data")
    found = sorted(path for path in root.rglob("*") if path.suffix.lower() in (".csv", ".tsv") and path.is_file())
    if not found:
        raise UserError(f"{root} holds no .csv or .tsv series")
    if labelled is not None:
        keys = {path: key_of(path, labelled) for path in found}
        unlabelled = [path for path, key in keys.items() if key is None]
        if unlabelled:
            raise UserError(f"the labels have no entry for {unlabelled[0]} ({len(unlabelled)} files in all); "
                            "give the labels of this corpus")
        missing = sorted(set(labelled) - set(keys.values()))
        if missing:
            raise UserError(f"the labels name {missing[0]!r}, which is not in {root} ({len(missing)} in all)")
    return found
