"""Anomaly detection in time series: a recurrent forecaster learns normal behaviour, an online detector flags
what it did not expect, scored with the NAB score."""

import click

from rnnapps import task


def _detect_options():
    return [
        click.Option(["--out"], type=click.Path(dir_okay=False),
                     help="Write every row as CSV (timestamp, values, anomaly_score, is_anomaly) to this file (one "
                          "input; with several, -2, -3, ... are added to the name)."),
        click.Option(["--plot"], type=click.Path(dir_okay=False),
                     help="Write the series with its forecast interval, flags and score to this PNG."),
    ]


def _evaluate_options():
    return [click.Option(["--labels"], type=click.Path(dir_okay=False),
                         help="NAB windows JSON (labels/combined_windows.json) to score against (default: the "
                              "recipe's data.labels or data.label_column). With --data FOLDER, every series in the "
                              "folder is scored, one model each, trained on its first rows."),
            click.Option(["--tune-on"], multiple=True, type=click.Path(exists=True),
                         help="Labelled series files or folders (repeatable) on which to pick the threshold with the "
                              "best NAB standard score, instead of the recipe's detector.threshold (chosen without "
                              "labels); the report names the threshold used. Tune on other series than you score."),
            click.Option(["--processes"], type=click.IntRange(min=1), default=1, show_default=True,
                         help="With --data FOLDER: train and detect the series in this many processes, one thread "
                              "each (2 on a 2-core machine).")]


TASK = task.TaskSpec(
    name="anomaly",
    summary="Anomaly detection: flag what a recurrent forecaster did not expect, online; NAB scores.",
    use_name="detect",
    use_help="Detect anomalies in each series file (CSV/TSV with the bundle's value columns; 'demo:anomaly' is the "
             "generated demo series), read once, in order.",
    inputs="series files",
    use_options=_detect_options,
    evaluate_options=_evaluate_options,
)


__getattr__ = TASK.module_getattr()
