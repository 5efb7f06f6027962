"""Time-series forecasting: LSTM/GRU forecasters on CSV series, with quantiles, baselines and backtests."""

import click

from rnnapps import task


def _predict_options():
    return [click.Option(["--plot"], type=click.Path(dir_okay=False),
                         help="Write the forecast with its intervals against the history to this PNG (one input; "
                              "with several, -2, -3, ... are added to the name).")]


def _evaluate_options():
    return [
        click.Option(["--backtest"], is_flag=True,
                     help="Also backtest with a rolling origin: one forecast every --backtest-step rows."),
        click.Option(["--backtest-step"], type=click.IntRange(min=1), default=None,
                     help="Rows between backtest origins (default: the horizon, so forecasts do not overlap)."),
    ]


TASK = task.TaskSpec(
    name="forecast",
    summary="Time-series forecasting: LSTM/GRU forecasters on CSV series, quantiles, baselines, backtests.",
    use_help="Forecast the rows after each history file (CSV/TSV with the training columns; the last L rows are "
             "read; 'demo:forecast' is the generated demo series).",
    inputs="history files",
    use_options=_predict_options,
    evaluate_options=_evaluate_options,
)


__getattr__ = TASK.module_getattr()
