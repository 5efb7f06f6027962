"""The forecast recipe: the series (`[data]`, `SeriesDataConfig`), the window (`[window]`: look-back L,
horizon H; `window.WindowConfig`), the recurrent `[encoder]`, the forecaster's `[model]` options and quantiles,
the `[baselines]` it is compared with, and `[training]`. Pure Python: no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from rnnapps import sections
from rnnapps.datasets.series import SeriesSource
from rnnapps.errors import UserError
from rnnapps.pipelines.forecast import demo_data
from rnnapps.pipelines.forecast.window import WindowConfig, check_shape


@dataclasses.dataclass(frozen=True)
class SeriesDataConfig(SeriesSource):
    """The series and how it is split (the `[data]` section): `SeriesSource`'s reading fields (source, format,
    time_column, date_format, target_columns, covariate_columns, frequency, gaps, missing, thousands, encoding,
    demo_length, demo_seed; source "demo:forecast" is the generated toy series), and:

    Attributes:
        test_source: a second file that continues the series (same columns; e.g. a stock's test month): its
            rows are the test split, forecast from the history before them.
        train_rows: rows of the training split from the start (0 = by date or fraction); with
            validation_rows and test_rows, the rows after them (the ETT split: 8640, 2880, 2880).
        validation_rows: rows of the validation split after the training rows.
        test_rows: rows of the test split after the validation rows (0 with train_rows set = the rest).
        validation_start: first timestamp of the validation split (with test_start; "" = by fraction).
        test_start: first timestamp of the test split.
        test_end: the timestamp after the test split's last row ("" = the end of the file); with dates, one
            recipe splits files of any frequency alike (ETT: 12/4/4 months in the hourly and 15-minute files).
        validation_fraction: share of the rows for validation (before the test rows).
        test_fraction: share of the rows for test (the last rows).
        scaling: "standard" (minus mean, over deviation), "minmax" (to 0..1) or "none", with statistics of the
            training rows only.
    """

    source: str = demo_data.SOURCE
    demo_length: int = demo_data.DEFAULT_LENGTH
    test_source: str = ""
    train_rows: int = 0
    validation_rows: int = 0
    test_rows: int = 0
    validation_start: str = ""
    test_start: str = ""
    test_end: str = ""
    validation_fraction: float = 0.1
    test_fraction: float = 0.2
    scaling: Literal["standard", "minmax", "none"] = "standard"


@dataclasses.dataclass(frozen=True)
class ForecasterConfig:
    """The forecaster around the encoder (the `[model]` section; see `rnnapps.pipelines.forecast.model`).

    Attributes:
        head: "direct" (all H steps from the encoder's final state), "recurrent" (a decoder rolls out the
            horizon from the encoder's state, sequence to sequence) or "parallel" (SegRNN's parallel decoding).
        channel_independent: model each target channel as its own sequence, one network shared by all.
        normalization: per-window normalisation: "last_value", "instance" (mean and deviation) or "none".
        segment_length: recur over segments of this many rows (SegRNN; 0 = row by row); must divide L and H.
        linear_skip: add a linear map of the window to the forecast (LSTNet's highway), started from the
            least-squares linear baseline (the recurrent part then learns corrections to it); needs
            channel_independent and normalization = "last_value".
        dropout_rate: dropout before the output projection.
        quantiles: quantile levels forecast besides the point forecast (empty = point forecast only); a pair
            q, 1 - q gives a (1 - 2q) prediction interval.
        point_loss: the point forecast's training loss, "mse" or "mae".
        quantile_loss_weight: weight of the pinball loss of the quantiles next to the point loss.
    """

    head: Literal["direct", "recurrent", "parallel"] = "direct"
    channel_independent: bool = True
    normalization: Literal["none", "last_value", "instance"] = "last_value"
    segment_length: int = 0
    linear_skip: bool = False
    dropout_rate: float = 0.0
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    point_loss: Literal["mse", "mae"] = "mse"
    quantile_loss_weight: float = 1.0


@dataclasses.dataclass(frozen=True)
class BaselineConfig:
    """The baselines every evaluation reports beside the model, on the same windows (the `[baselines]` section).

    Attributes:
        seasonal_period: the season of the seasonal naive forecast, in rows (24 for hourly data with a daily
            cycle) or as a duration ("1D", "7D"; read with the series' spacing, so one recipe fits hourly and
            15-minute files); also the lag of the MASE scale. 0 = no seasonal baseline, MASE against lag 1.
        linear_ridge: ridge penalty of the linear baseline (a least-squares map of the window to the horizon).
    """

    seasonal_period: int | str = 24
    linear_ridge: float = 1.0


@dataclasses.dataclass(frozen=True)
class ForecastRecipe:
    """A forecast recipe: data, window, encoder, model, baselines and training sections."""

    task: str = "forecast"
    seed: int = 42
    data: SeriesDataConfig = dataclasses.field(default_factory=SeriesDataConfig)
    window: WindowConfig = dataclasses.field(default_factory=WindowConfig)
    encoder: sections.RecurrentConfig = dataclasses.field(
        default_factory=lambda: sections.RecurrentConfig(units=64, bidirectional=False))
    model: ForecasterConfig = dataclasses.field(default_factory=ForecasterConfig)
    baselines: BaselineConfig = dataclasses.field(default_factory=BaselineConfig)
    training: sections.TrainingConfig = dataclasses.field(
        default_factory=lambda: sections.TrainingConfig(epochs=20, batch_size=64, bucketing=False))

    def validate(self) -> None:
        """Raise `UserError` for values out of range or that do not fit together (each shared section, and
        `[window]`, checks its own ranges first: `rnnapps.sections.validate_sections`)."""
        where = sections.WHERE
        sections.check_range(where, "data.validation_fraction", self.data.validation_fraction, 0, 0.9)
        sections.check_range(where, "data.test_fraction", self.data.test_fraction, 0, 0.9)
        for key in ("train_rows", "validation_rows", "test_rows"):
            sections.check_range(where, f"data.{key}", getattr(self.data, key), 0)
        overlap = set(self.data.target_columns) & set(self.data.covariate_columns)
        if overlap:
            raise UserError(f"{where}: column {sorted(overlap)[0]!r} is both a target and a covariate")
        sections.check_range(where, "encoder.units", self.encoder.units, 2)  # above the shared minimum of 1
        sections.check_range(where, "model.segment_length", self.model.segment_length, 0)
        sections.check_dropout(where, "model.dropout_rate", self.model.dropout_rate)
        for level in self.model.quantiles:
            if not 0 < level < 1:
                raise UserError(f"{where}: model.quantiles must lie strictly between 0 and 1, got {level}")
        if list(self.model.quantiles) != sorted(set(self.model.quantiles)):
            raise UserError(f"{where}: model.quantiles must be increasing, each level once: "
                            f"{list(self.model.quantiles)}")
        sections.check_range(where, "model.quantile_loss_weight", self.model.quantile_loss_weight, 0)
        if isinstance(self.baselines.seasonal_period, int):
            sections.check_range(where, "baselines.seasonal_period", self.baselines.seasonal_period, 0)
            check_season(self.baselines.seasonal_period, self.window.lookback)
        sections.check_range(where, "baselines.linear_ridge", self.baselines.linear_ridge, 0)
        if self.model.linear_skip and not (self.model.channel_independent and self.model.normalization == "last_value"):
            raise UserError(f"{where}: model.linear_skip starts from the linear baseline, so it needs "
                            "model.channel_independent = true and model.normalization = 'last_value'")
        try:
            check_shape(self.window.lookback, self.window.horizon, self.model.segment_length, self.model.head,
                        self.model.normalization, self.encoder.bidirectional)
        except ValueError as error:
            raise UserError(f"{where}: {error}") from None


def check_season(period: int, lookback: int) -> None:
    """Raise UserError for a seasonal period (in rows) longer than the window."""
    if period > lookback:
        raise UserError(f"baselines.seasonal_period = {period} rows is longer than window.lookback = {lookback}; "
                        "the seasonal naive forecast repeats the window's last season")


def season_rows(period: int | str, frequency: str | None, lookback: int) -> int:
    """The seasonal period in rows: `period` itself, or a duration ("1D") divided by the series' spacing.

    Raises:
        UserError: a duration for a series without a regular spacing, one that is not a whole number of rows,
            or a period longer than the window.
    """
    if isinstance(period, str):
        import pandas as pd

        if not frequency:
            raise UserError(f"baselines.seasonal_period = {period!r} needs a regularly spaced series; give it in rows")
        try:
            duration = pd.Timedelta(period)
        except ValueError:
            raise UserError(f"baselines.seasonal_period = {period!r} is neither a number of rows nor a duration "
                            "such as '1D'") from None
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(frequency))
        if duration % step:
            raise UserError(f"baselines.seasonal_period = {period!r} is not a whole number of {frequency} rows")
        period = int(duration // step)
    check_season(period, lookback)
    return period
