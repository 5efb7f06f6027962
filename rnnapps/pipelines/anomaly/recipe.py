"""The anomaly recipe: the series and its labels (`[data]`), the recurrent `[encoder]` of the forecaster, the
forecaster's `[model]` options, the online `[detector]` that turns forecast errors into scores and flags, and
`[training]`. Pure Python: no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from rnnapps import sections
from rnnapps.datasets.series import SeriesSource
from rnnapps.errors import UserError
from rnnapps.pipelines.anomaly import demo_data


@dataclasses.dataclass(frozen=True)
class AnomalyDataConfig(SeriesSource):
    """The series, its labels and the rows the forecaster learns from (the `[data]` section): `SeriesSource`'s
    reading fields (source, format, time_column, date_format, target_columns, covariate_columns, frequency, gaps,
    missing, thousands, encoding, demo_length, demo_seed; "demo:anomaly" is the generated toy series), and:

    Attributes:
        labels: NAB's windows JSON (`labels/combined_windows.json`, keyed by "<category>/<file>.csv", each a
            list of [first, last] timestamps), for evaluation ("" = none, or label_column).
        label_column: a 0/1 column marking anomalous rows (each run of 1s is one window), for evaluation; never
            read by the detector.
        train_source: a separate file of normal behaviour to learn from (same columns); the whole source is then
            scored ("" = learn from the source's first rows).
        train_fraction: share of the source's first rows the forecaster learns from (NAB's probationary 15%);
            they are not scored.
        max_train_rows: at most this many rows (NAB: 750).
        validation_fraction: the last share of the learning rows held out for early stopping and for the
            detector's first error statistics (errors on rows the forecaster never trained on).
        scaling: "standard" or "minmax" with statistics of the learning rows only, or "none".
    """

    source: str = demo_data.SOURCE
    time_column: str = "timestamp"
    demo_length: int = demo_data.DEFAULT_LENGTH
    labels: str = ""
    label_column: str = ""
    train_source: str = ""
    train_fraction: float = 0.15
    max_train_rows: int = 750
    validation_fraction: float = 0.2
    scaling: Literal["standard", "minmax", "none"] = "standard"


@dataclasses.dataclass(frozen=True)
class ForecasterConfig:
    """The model whose errors the detector scores (the `[model]` section; `rnnapps.pipelines.anomaly.model`).

    Attributes:
        kind: "forecaster" (the next row's median and interval from the L rows before; a row's error is its
            distance from the median in interval widths) or "autoencoder" (an LSTM/GRU autoencoder of the last L
            rows; a row's error is the reconstruction error of the row, in the window ending at it, in scaled
            units).
        lookback: rows of history each forecast reads.
        interval: the central prediction interval forecast around the median (0.9: the 5% and 95% quantiles);
            a forecast error is measured in its widths.
        dropout_rate: dropout on the encoder's final state.
    """

    kind: Literal["forecaster", "autoencoder"] = "forecaster"
    lookback: int = 32
    interval: float = 0.9
    dropout_rate: float = 0.0


@dataclasses.dataclass(frozen=True)
class DetectorConfig:
    """How forecast errors become anomaly scores and flags, online: each row's score reads only the rows before
    and at it (the `[detector]` section; `rnnapps.pipelines.anomaly.likelihood`).

    The error of a row is its distance from the forecast median in widths of the forecast interval. Its score is
    HTM's anomaly likelihood (Ahmad et al. 2017): how unlikely the mean error of the last `average_rows` rows is
    under the distribution of that mean over the `history_rows` rows before, as a Gaussian tail probability q,
    reported as log(q) / log(1e-10) in [0, 1].

    Attributes:
        average_rows: rows in the short average of errors.
        history_rows: rows in the long history the averages are compared with.
        min_deviation: floor on the history's deviation (in interval widths), so that a series forecast
            perfectly does not flag every rounding error.
        threshold: the score at and above which a row is flagged (0.5: q <= 1e-5), chosen without labels;
            `evaluate --tune-on` picks one on labelled series instead.
        hold_rows: after a flag, rows during which no other flag is raised (one anomaly, one alert).
        refit_every_rows: read the series in segments of this many rows and fine-tune the forecaster before each
            on the rows before it (`rnnapps.pipelines.anomaly.online`; 0 = never: the forecaster keeps what it learnt
            from the first rows). `detect` and `evaluate` update; the SavedModel does not.
        refit_rows: the most recent rows each update learns from.
        refit_epochs: passes over them per update.
    """

    average_rows: int = 10
    history_rows: int = 8640
    min_deviation: float = 0.05
    threshold: float = 0.5
    hold_rows: int = 200
    refit_every_rows: int = 0
    refit_rows: int = 750
    refit_epochs: int = 2


@dataclasses.dataclass(frozen=True)
class AnomalyRecipe:
    """An anomaly recipe: data, encoder, model, detector and training sections."""

    task: str = "anomaly"
    seed: int = 42
    data: AnomalyDataConfig = dataclasses.field(default_factory=AnomalyDataConfig)
    encoder: sections.RecurrentConfig = dataclasses.field(
        default_factory=lambda: sections.RecurrentConfig(units=32, bidirectional=False))
    model: ForecasterConfig = dataclasses.field(default_factory=ForecasterConfig)
    detector: DetectorConfig = dataclasses.field(default_factory=DetectorConfig)
    training: sections.TrainingConfig = dataclasses.field(
        default_factory=lambda: sections.TrainingConfig(epochs=40, batch_size=32, bucketing=False,
                                                        early_stopping_patience=5, learning_rate=3e-3))

    def validate(self) -> None:
        """Raise `UserError` for values out of range or that do not fit together."""
        where = sections.WHERE
        sections.check_range(where, "data.train_fraction", self.data.train_fraction, 0.01, 0.9)
        sections.check_range(where, "data.max_train_rows", self.data.max_train_rows, 1)
        sections.check_range(where, "data.validation_fraction", self.data.validation_fraction, 0, 0.5)
        if self.data.labels and self.data.label_column:
            raise UserError(f"{where}: set data.labels or data.label_column, not both")
        if self.data.covariate_columns:
            raise UserError(f"{where}: data.covariate_columns: the anomaly detector reads value columns only")
        if self.encoder.bidirectional:
            raise UserError(f"{where}: encoder.bidirectional = true would read after the row it forecasts; the "
                            "detector is online")
        sections.check_range(where, "model.lookback", self.model.lookback, 2)
        sections.check_range(where, "model.interval", self.model.interval, 0.05, 0.995)
        sections.check_dropout(where, "model.dropout_rate", self.model.dropout_rate)
        sections.check_range(where, "detector.average_rows", self.detector.average_rows, 1)
        sections.check_range(where, "detector.history_rows", self.detector.history_rows, 2)
        sections.check_range(where, "detector.min_deviation", self.detector.min_deviation, 1e-6)
        sections.check_range(where, "detector.threshold", self.detector.threshold, 0, 1)
        sections.check_range(where, "detector.hold_rows", self.detector.hold_rows, 0)
        sections.check_range(where, "detector.refit_every_rows", self.detector.refit_every_rows, 0)
        sections.check_range(where, "detector.refit_rows", self.detector.refit_rows, 2)
        sections.check_range(where, "detector.refit_epochs", self.detector.refit_epochs, 1)
