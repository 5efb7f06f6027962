"""Anomaly data: a series (read by the shared `series_reader`), its labelled windows, and the rows the
forecaster learns from. The learning rows come first (NAB's probationary period) and are never scored; the
detector then reads the whole series in order.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from rnnapps.datasets import series_reader
from rnnapps.datasets.series import Series
from rnnapps.errors import UserError
from rnnapps.pipelines.anomaly import demo_data, labels
from rnnapps.pipelines.anomaly.recipe import AnomalyDataConfig


@dataclasses.dataclass
class RowRange:
    """Rows [start, stop) of a series (len() counts them)."""

    series: Series
    start: int
    stop: int

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


@dataclasses.dataclass
class LabelledSeries:
    """A series the detector reads, with what it is scored against.

    Attributes:
        series: the whole series, in order.
        windows: int64 [windows, 2] labelled anomaly windows (first and last row), or None without labels.
        probation: rows at the start that are not scored (the rows the forecaster learnt from).
    """

    series: Series
    windows: np.ndarray | None
    probation: int

    def __len__(self) -> int:
        return max(0, len(self.series) - self.probation)


@dataclasses.dataclass
class AnomalySplits:
    """The learning rows (train, then validation) and the scored series."""

    train: RowRange
    validation: RowRange
    test: LabelledSeries


def read_series(config: AnomalyDataConfig, source: str | None = None, *, columns: list[str] | None = None,
                field: str = "data.source", with_labels: bool = True) -> Series:
    """`rnnapps.datasets.series_reader.read_series` with the anomaly demo ("demo:anomaly") and, `with_labels`,
    the recipe's label column (detection reads none: a file to detect on needs no labels)."""
    extra = (config.label_column,) if config.label_column and with_labels else ()
    return series_reader.read_series(config, source, columns=columns, field=field, demo_table=demo_data.table,
                                     extra_columns=extra)


def learning_rows(rows: int, config: AnomalyDataConfig) -> int:
    """The rows learnt from at the start of a series of `rows` rows: train_fraction of them, at most
    max_train_rows (NAB's probationary period with the defaults)."""
    return int(min(math.floor(config.train_fraction * rows), config.max_train_rows))


def labelled(config: AnomalyDataConfig, series: Series, probation: int,
             labelled_windows: dict[str, list] | None = None) -> LabelledSeries:
    """A series with its windows from the recipe's labels (data.labels JSON, or data.label_column).

    Args:
        config: the recipe's data section.
        series: the series read.
        probation: rows not scored.
        labelled_windows: the labels JSON already read (default: read data.labels when set).

    Raises:
        UserError: the labels have no entry for the series, or a window outside it.
    """
    where = f"the labels of {series.source}"
    if config.label_column and config.label_column in series.extra:
        windows = labels.windows_from_column(series.extra[config.label_column], where)
    elif labelled_windows is not None or config.labels:
        labelled_windows = labelled_windows if labelled_windows is not None else labels.read_windows_json(config.labels)
        key = labels.key_of(series.source, labelled_windows)
        if key is None:
            raise UserError(f"the labels have no entry for {series.source}; their keys look like "
                            f"{next(iter(labelled_windows), '<category>/<file>.csv')!r}")
        windows = labels.windows_of(series, labelled_windows[key], where)
    else:
        windows = None
    return LabelledSeries(series, windows, probation)


def read_splits(config: AnomalyDataConfig) -> AnomalySplits:
    """The recipe's series split into learning rows (train, validation) and the scored series.

    Raises:
        UserError: as `read_series` and `labelled`, or too few learning rows.
    """
    series = read_series(config)
    if config.train_source:
        training = read_series(config, config.train_source, columns=series.channel_names, field="data.train_source")
        learnt, probation = len(training), 0
    else:
        training, learnt = series, learning_rows(len(series), config)
        probation = learnt
    validation_start = learnt - round(learnt * config.validation_fraction)
    if validation_start < 2:
        raise UserError(f"{training.source}: {learnt} rows to learn from; use a longer series or raise "
                        "data.train_fraction")
    return AnomalySplits(RowRange(training, 0, validation_start), RowRange(training, validation_start, learnt),
                         labelled(config, series, probation))
