"""Anomaly detection: a recurrent forecaster learns a series' normal behaviour from its first rows, and an online
detector flags the rows whose forecast errors are unlikely (HTM's anomaly likelihood), scored on NAB's windows.
Exported as a SavedModel that maps a raw history to each row's forecast interval, score and flag."""

from __future__ import annotations

import logging
import pathlib
from typing import Any

import numpy as np
import tensorflow as tf

from rnnapps import atomic
from rnnapps.errors import UserError
from rnnapps.pipelines import base
from rnnapps.pipelines.anomaly import corpus as corpus_detection
from rnnapps.pipelines.anomaly import data, demo_data, evaluation, preprocess, serving
from rnnapps.pipelines.anomaly import labels as label_files
from rnnapps.pipelines.anomaly import model as models
from rnnapps.pipelines.anomaly import recipe as recipes
from rnnapps.pipelines.anomaly.corpus import Corpus
from rnnapps.pipelines.anomaly.detection import Detection

log = logging.getLogger(__name__)

DETECTION_PLOT = "detection.png"


class AnomalyPipeline(base.Pipeline):
    """Anomaly detection: `pipeline("series.csv") -> {"source", "flags": [...], "flagged": [...]}`."""

    task = "anomaly"
    recipe_cls = recipes.AnomalyRecipe
    preprocessor_cls = preprocess.AnomalyPreprocessor
    examples_name = "rows"
    demo_inputs = (demo_data.SOURCE,)
    evaluation_data_options = ("labels",)
    input_types = (str, pathlib.Path)
    predict_batch_size = 1  # series differ in length

    def make_serving(self) -> serving.AnomalyServing:
        return serving.AnomalyServing(self.preprocessor, self.model, self.recipe.detector)

    # ------------------------------------------------------------------ training hooks

    @classmethod
    def read_data(cls, recipe: recipes.AnomalyRecipe) -> data.AnomalySplits:
        splits = data.read_splits(recipe.data)
        series = splits.test.series
        windows = splits.test.windows
        log.info("series: %d rows%s of %s; learning from %d rows, scoring %d%s", len(series),
                 f" every {series.frequency}" if series.frequency else "", ", ".join(series.channel_names),
                 splits.validation.stop, len(splits.test),
                 "" if windows is None else f", {len(windows)} labelled windows")
        return splits

    @classmethod
    def plan_training(cls, recipe: recipes.AnomalyRecipe, preprocessor: preprocess.AnomalyPreprocessor,
                      splits: data.AnomalySplits, run_dir: pathlib.Path) -> base.TrainingPlan:
        """Shuffled (window, next row) pairs of the training rows; the validation rows' pairs for early stopping."""
        batch_size = recipe.training.batch_size
        autoencodes = recipe.model.kind == "autoencoder"
        train = preprocessor.batches(splits.train, batch_size, shuffle=True, seed=recipe.seed, autoencodes=autoencodes)
        if train is None:
            raise UserError(f"{splits.train.series.source}: {len(splits.train)} training rows, no more than "
                            f"model.lookback = {recipe.model.lookback}; learn from more rows or read fewer")
        pairs = len(preprocessor.windows(splits.train)[0])
        return base.TrainingPlan(
            build_model=lambda: models.build_model(recipe),
            train_data=train,
            validation_data=preprocessor.batches(splits.validation, batch_size, shuffle=False, seed=recipe.seed,
                                                 autoencodes=autoencodes),
            examples_per_epoch=pairs, loss=models.build_loss(recipe),
            summary={"train_pairs": pairs, "learning_rows": splits.validation.stop})

    def serving_examples(self, splits: data.AnomalySplits) -> dict[str, Any]:
        """The last 300 rows of the scored series (the try-it page's example history)."""
        series = splits.test.series
        rows = series.values[-300:].astype(np.float64)
        return {"inputs": {"history": [np.round(rows, 6).tolist()]}, "columns": series.channel_names}

    def bundle_artifacts(self, splits: data.AnomalySplits, report: dict[str, Any]):
        """detection.png: the scored series with its flags (and labelled windows)."""
        return {DETECTION_PLOT: lambda path: self.detect(splits.test).plot(path, splits.test.windows,
                                                                          self.recipe.detector.threshold)}

    # ------------------------------------------------------------------ detection

    def detect(self, labelled: data.LabelledSeries | data.Series, quiet_rows: int | None = None) -> Detection:
        """Run the online detector over a whole series through the serving module (the SavedModel's graph).

        Args:
            labelled: the series (with its probation: no flag is raised in those rows).
            quiet_rows: rows without scores at the start (default: the labelled series' probation, else 0).
        """
        series = self._checked(labelled.series if isinstance(labelled, data.LabelledSeries) else labelled)
        quiet = quiet_rows if quiet_rows is not None else getattr(labelled, "probation", 0)
        if not self.recipe.detector.refit_every_rows:
            outputs = self.serving.detect_after(tf.constant(series.values[None], tf.float32),
                                                tf.constant(quiet, tf.int32))
            return Detection.from_outputs(series, {name: value.numpy()[0] for name, value in outputs.items()})
        from rnnapps.pipelines.anomaly import online

        forecasts = online.forecast_rows_updated(self, series, start=quiet or data.learning_rows(
            len(series), self.recipe.data))
        scored = self.serving.score_errors(tf.constant(forecasts["error"][None]), tf.constant(quiet, tf.int32))
        return Detection.from_outputs(series, {**forecasts, **{name: value.numpy()[0] for name, value in
                                                               scored.items()}})

    def _checked(self, series: data.Series) -> data.Series:
        if len(series) <= self.recipe.model.lookback:
            raise UserError(f"{series.source} has {len(series)} rows; the detector reads more than "
                            f"model.lookback = {self.recipe.model.lookback}")
        return series

    def read_input(self, source: str | pathlib.Path | data.Series) -> data.Series:
        """A series to detect on: a file (or 'demo:anomaly') with the bundle's value columns, or a `data.Series`."""
        if isinstance(source, data.Series):
            return source
        return data.read_series(self.recipe.data, str(source), columns=self.preprocessor.channel_names,
                                field="the series file", with_labels=False)

    def predict(self, inputs, **options) -> list[dict[str, Any]]:
        """Detect anomalies in each series, read once, in order (one series at a time: they differ in length).

        Args:
            inputs: file names (CSV/TSV with the bundle's value columns, or 'demo:anomaly') or `data.Series`.
            **options: out: write each series' per-row CSV here (several inputs: NAME-2.csv, ...); plot: each
                series' picture as a PNG (NAME-2.png, ...).

        Returns:
            One {"source", "rows", "flags", "flagged": [{"row", "time", "values", "anomaly_score"}]} per input
            (and "csv", "plot": the files written).
        """
        return super().predict(inputs, **options)

    def prediction_items(self, inputs: list[Any], **options) -> list[data.Series]:
        """The series each input names, read and checked."""
        return [self._checked(self.read_input(source)) for source in super().prediction_items(inputs)]

    def prediction_function(self, **options):
        """The serving module's detection of one series (a batch of one: series differ in length)."""
        return lambda batch: self.serving.detect_after(tf.constant(batch[0].values[None], tf.float32), tf.constant(0))

    def prediction_result(self, series: data.Series, outputs: dict[str, Any]) -> dict[str, Any]:
        detection = Detection.from_outputs(series, outputs)
        flagged = detection.flagged()
        # The detection rides along to after_prediction, which writes its files and drops it.
        return {"source": series.source, "rows": len(series), "flags": len(flagged), "flagged": flagged,
                "_detection": detection}

    def after_prediction(self, items: list[data.Series], results: list[dict[str, Any]], out: str | None = None,
                         plot: str | None = None, **options) -> None:
        """`out`: each series' per-row CSV; `plot`: each series' picture (NAME-2.*, ... for later inputs)."""
        for index, result in enumerate(results):
            detection = result.pop("_detection")
            if out:
                result["csv"] = str(detection.write_csv(atomic.numbered(out, index)))
            if plot:
                result["plot"] = str(detection.plot(atomic.numbered(plot, index),
                                                    threshold=self.recipe.detector.threshold))

    # ------------------------------------------------------------------ evaluation

    def score(self, examples: data.LabelledSeries | Corpus, tune_on: tuple[str, ...] = (), processes: int = 1,
              **options) -> dict[str, Any]:
        """Flags, and with labels the NAB scores and window metrics, of one series or of a corpus (one model
        trained per series, on its first rows, with this bundle's recipe).

        Args:
            examples: a labelled series, or a corpus.
            tune_on: labelled series files or folders (labels from the corpus' or the recipe's windows JSON) whose
                best NAB standard threshold replaces detector.threshold; the report says which was used.
            processes: worker processes that train and detect a corpus' series (1 = this process).
        """
        detected = self.detect_each(examples, processes)
        threshold = self.recipe.detector.threshold
        report_extra: dict[str, Any] = {"threshold": threshold}
        if tune_on:
            tuning = self.detect_each(self._tuning_corpus(tune_on, examples), processes)
            threshold, tuned_score = evaluation.best_threshold(
                [(detection.scores, labelled.windows, labelled.probation) for labelled, detection, _ in tuning],
                self.recipe.detector.hold_rows)
            report_extra = {"threshold": threshold, "tuned_on": [labelled.series.source for labelled, _, _ in tuning],
                            "tuned_on_nab_standard": tuned_score}
        reports = []
        for labelled, detection, seconds in detected:
            flags = detection.flags if threshold == self.recipe.detector.threshold else \
                evaluation.held_flags(detection.scores, threshold, self.recipe.detector.hold_rows)
            report = evaluation.series_report(flags, labelled.windows, labelled.probation, labelled.series.source)
            if seconds is not None:
                report["seconds"] = seconds
            reports.append(report)
        if isinstance(examples, Corpus):
            return {**evaluation.corpus_report(reports), **report_extra}
        return {**reports[0], **report_extra}

    def detect_each(self, examples: data.LabelledSeries | Corpus, processes: int = 1
                    ) -> list[tuple[data.LabelledSeries, Detection, float | None]]:
        """(series, detection, seconds to train and detect) of one series (this model), or of every series of a
        corpus (a model each, trained on its first rows, in `processes` worker processes)."""
        if not isinstance(examples, Corpus):
            return [(examples, self.detect(examples), None)]
        return corpus_detection.detect_corpus(type(self), self.recipe, examples, processes)

    def _tuning_corpus(self, sources: tuple[str, ...], examples: data.LabelledSeries | Corpus) -> Corpus:
        """The labelled series `--tune-on` names (files or folders), with the evaluated corpus' labels (or the
        recipe's data.labels)."""
        labelled_windows = examples.labelled_windows if isinstance(examples, Corpus) else None
        if labelled_windows is None and self.recipe.data.labels:
            labelled_windows = label_files.read_windows_json(self.recipe.data.labels)
        if labelled_windows is None and not self.recipe.data.label_column:
            raise UserError("--tune-on needs labels: pass --labels JSON (or set data.labels or data.label_column)")
        files = []
        for source in sources:
            path = pathlib.Path(source)
            found = label_files.corpus_files(path, None) if path.is_dir() else [path]
            for file in found:
                if labelled_windows is not None and label_files.key_of(file, labelled_windows) is None:
                    raise UserError(f"--tune-on: the labels have no entry for {file}")
            files += found
        return Corpus(files, labelled_windows)

    @classmethod
    def fit_series(cls, recipe: recipes.AnomalyRecipe, run_dir: pathlib.Path) -> AnomalyPipeline:
        """A pipeline trained on one series' learning rows, without scores or a bundle (the corpus evaluation)."""
        from rnnapps import runs

        package_logger = logging.getLogger("rnnapps")
        level = package_logger.level
        package_logger.setLevel(max(logging.WARNING, level))  # one progress bar for the corpus, not one per series
        try:
            fitted = runs.fit(cls, recipe, run_dir)
        finally:
            package_logger.setLevel(level)
        return cls(recipe, fitted.result.model, fitted.preprocessor)

    def read_evaluation_data(self, source: str | None, labels: str | None = None
                             ) -> data.LabelledSeries | Corpus:
        """The recipe's own scored series (None), another series file, or a folder of series (a corpus, one model
        per series), each scored against `labels` (a windows JSON; default the recipe's data.labels or
        data.label_column)."""
        config = self.recipe.data
        labelled_windows = label_files.read_windows_json(labels, "--labels") if labels else None
        if source is None:
            splits = data.read_splits(config)
            if labelled_windows is None:
                return splits.test
            return data.labelled(config, splits.test.series, splits.test.probation, labelled_windows)
        if pathlib.Path(source).is_dir():
            return Corpus(label_files.corpus_files(source, labelled_windows), labelled_windows)
        series = data.read_series(config, source, columns=self.preprocessor.channel_names, field="--data",
                                  with_labels=labelled_windows is None)
        return data.labelled(config, series, data.learning_rows(len(series), config), labelled_windows)

    def evaluation_variant(self, tune_on: tuple[str, ...] = (), **options) -> str:
        return "tuned" if tune_on else ""

    # ------------------------------------------------------------------ presentation

    def format_report(self, report: dict[str, Any]) -> str:
        return evaluation.format_report(report)

    def format_prediction(self, result: dict[str, Any]) -> str:
        lines = [f"{result['source']}: {result['flags']} flagged of {result['rows']} rows"]
        for item in result["flagged"][:20]:
            values = ", ".join(f"{name} {value:.6g}" for name, value in item["values"].items())
            lines.append(f"  {item['time']}\t{values}\tscore {item['anomaly_score']:.3f}")
        if result["flags"] > 20:
            lines.append(f"  ... {result['flags'] - 20} more (--out CSV writes every row)")
        for key in ("csv", "plot"):
            if key in result:
                lines.append(f"  {key} written to {result[key]}")
        return "\n".join(lines)

    def serving_usage(self, path: pathlib.Path) -> str:
        pre = self.preprocessor
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default'](history=tf.constant(HISTORY)) with "
                f"HISTORY float32 [batch, rows > {pre.lookback}, {len(pre.channel_names)}] "
                f"({', '.join(pre.channel_names)}, data units) -> anomaly_score, is_anomaly [batch, rows], and each "
                "row's forecast, lower, upper [batch, rows, channels]")


