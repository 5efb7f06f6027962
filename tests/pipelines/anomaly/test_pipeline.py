"""The anomaly task end to end on the generated demo series: it learns, never reads ahead, reloads, exports, and
refuses bad input with a clear message."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from rnnapps.errors import UserError
from rnnapps.pipelines.anomaly import AnomalyPipeline, data, demo_data


@pytest.fixture(scope="module")
def pipeline(anomaly_run):
    return AnomalyPipeline.from_bundle(anomaly_run)


def _demo_series(pipeline) -> data.Series:
    return pipeline.read_input(demo_data.SOURCE)


def test_the_detector_finds_planted_anomalies_and_no_false_ones(pipeline):
    report = pipeline.metrics["test"]
    assert report["windows"]["windows"] == 4
    assert report["windows"]["detected"] >= 2, report  # the spike and the level shift at least
    assert report["windows"]["false_flags"] <= 1, report
    assert report["nab"]["standard"] > 30, report


def test_the_detector_never_reads_ahead(pipeline):
    series = _demo_series(pipeline)
    planted = dataclasses.replace(series, values=series.values.copy())
    cut = 1500
    planted.values[cut:] += 50.0 * np.sin(np.arange(len(series) - cut))[:, None]  # a signal only the future holds
    before, after = pipeline.detect(series), pipeline.detect(planted)
    np.testing.assert_allclose(after.scores[:cut], before.scores[:cut], atol=1e-5)
    np.testing.assert_array_equal(after.flags[:cut], before.flags[:cut])
    assert after.flags[cut:].any() and not np.allclose(after.scores[cut:], before.scores[cut:])
    shorter = dataclasses.replace(series, values=series.values[:cut], timestamps=series.timestamps[:cut],
                                  lines=series.lines[:cut])
    np.testing.assert_allclose(pipeline.detect(shorter).scores, before.scores[:cut], atol=1e-5)


def test_detect_writes_every_row_and_the_picture(pipeline, tmp_path):
    result = pipeline.predict([demo_data.SOURCE], out=str(tmp_path / "rows.csv"), plot=str(tmp_path / "rows.png"))[0]
    lines = (tmp_path / "rows.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "timestamp,value,anomaly_score,is_anomaly"
    assert len(lines) == demo_data.DEFAULT_LENGTH + 1
    assert sum(int(line.rsplit(",", 1)[1]) for line in lines[1:]) == result["flags"] > 0
    assert (tmp_path / "rows.png").stat().st_size > 10_000
    assert result["flagged"][0]["time"].startswith("2026-")


def test_the_savedmodel_answers_like_the_bundle(pipeline, tmp_path):
    import tensorflow as tf

    series = _demo_series(pipeline)
    exported = tf.saved_model.load(str(pipeline.export(tmp_path / "savedmodel")))
    outputs = exported.signatures["serving_default"](history=tf.constant(series.values[None], tf.float32))
    expected = pipeline.detect(series, quiet_rows=0)
    np.testing.assert_allclose(outputs["anomaly_score"].numpy()[0], expected.scores, atol=1e-5)
    np.testing.assert_array_equal(outputs["is_anomaly"].numpy()[0], expected.flags)
    np.testing.assert_allclose(outputs["forecast"].numpy()[0], expected.forecast, rtol=1e-5, atol=1e-4)


def test_a_corpus_is_scored_one_model_per_series_in_two_processes(pipeline, tmp_path):
    folder = tmp_path / "corpus" / "demo"
    for seed in (1, 2):
        demo_data.write_csv(folder / f"series{seed}.csv", length=1200, seed=seed)
    stamps = demo_data.series(1200)[0]
    spike = int(demo_data.ANOMALIES["spike"] * 1200)
    windows = {f"demo/series{seed}.csv": [[str(stamps[spike - 10]), str(stamps[spike + 10])]] for seed in (1, 2)}
    (tmp_path / "windows.json").write_text(json.dumps(windows), encoding="utf-8")
    quick = dataclasses.replace(pipeline.recipe, training=dataclasses.replace(pipeline.recipe.training, epochs=3))
    report = AnomalyPipeline(quick, pipeline.model, pipeline.preprocessor).score(
        pipeline.read_evaluation_data(str(tmp_path / "corpus"), labels=str(tmp_path / "windows.json")), processes=2)
    assert [item["source"].rsplit("/", 1)[1] for item in report["series"]] == ["series1.csv", "series2.csv"]
    assert report["windows"]["windows"] == 2 and set(report["nab"]) == {"standard", "reward_low_fp_rate",
                                                                          "reward_low_fn_rate"}
    assert all(item["seconds"] > 0 for item in report["series"])


def test_bad_input_gets_a_clear_error(pipeline, tmp_path):
    short = tmp_path / "short.csv"
    short.write_text("timestamp,value\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"short.csv has 2 rows; the detector reads more than model.lookback = 48"):
        pipeline.predict([str(short)])
    with pytest.raises(UserError, match=r"has no column 'value'"):
        other = tmp_path / "other.csv"
        other.write_text("timestamp,load\n2024-01-01 00:00,1\n", encoding="utf-8")
        pipeline.predict([str(other)])
    recipe = dataclasses.replace(pipeline.recipe.data, source=str(short), label_column="")
    with pytest.raises(UserError, match=r"short.csv: 0 rows to learn from; use a longer series"):
        data.read_splits(recipe)
    labels = tmp_path / "windows.json"
    labels.write_text(json.dumps({"short.csv": [["2030-01-01", "2030-01-02"]]}), encoding="utf-8")
    with pytest.raises(UserError, match=r"window \[2030-01-01, 2030-01-02\] lies outside"):
        pipeline.read_evaluation_data(str(short), labels=str(labels))


def test_tune_on_picks_the_threshold_with_the_best_nab_score_on_other_series(pipeline, tmp_path):
    from rnnapps.pipelines.anomaly import evaluation, nab_score

    scores = np.zeros(400, np.float32)
    scores[[150, 260]] = [0.9, 0.35]  # a false alarm at 150 scores higher than the anomaly at 260
    windows = np.array([[250, 300]])
    threshold, best = evaluation.best_threshold([(scores, windows, 60)], hold_rows=10)
    assert threshold == 0.35  # catches the anomaly: one window found is worth more than one false flag costs
    flags = evaluation.held_flags(scores, threshold, 10)
    assert np.flatnonzero(flags).tolist() == [150, 260]
    standard = nab_score.PROFILES["standard"]
    assert best == pytest.approx(nab_score.normalised([nab_score.score_file(flags, windows, standard, 60)]))
    demo = demo_data.write_csv(tmp_path / "demo.csv")
    report = pipeline.evaluate(str(demo), tune_on=(str(demo),))
    assert report["tuned_on"] == [str(demo)] and report["threshold"] in evaluation.THRESHOLDS
    assert "data:" + str(demo) + ":tuned" in pipeline.metrics


def test_online_updates_learn_only_from_rows_before_the_ones_they_forecast(pipeline):
    from rnnapps.pipelines.anomaly import online

    schedule = online.segments(start=450, rows=1300, every=300, learn_rows=400)
    assert [(learnt.start, learnt.stop, ahead.start, ahead.stop) for learnt, ahead in schedule] == [
        (50, 450, 450, 750), (350, 750, 750, 1050), (650, 1050, 1050, 1300)]
    updating = AnomalyPipeline(dataclasses.replace(pipeline.recipe, detector=dataclasses.replace(
        pipeline.recipe.detector, refit_every_rows=600, refit_epochs=1)), pipeline.model, pipeline.preprocessor)
    weights = [weight.copy() for weight in pipeline.model.get_weights()]
    series = _demo_series(pipeline)
    detection = updating.detect(updating.read_evaluation_data(None))
    assert detection.scores.shape == (len(series),) and detection.flags[1100:1200].any()  # the spike
    assert all(np.array_equal(a, b) for a, b in zip(weights, pipeline.model.get_weights()))  # a copy learnt


def test_the_window_autoencoder_reconstructs_the_spike_worst_and_exports(tmp_path):
    import tensorflow as tf

    from rnnapps.pipelines.anomaly.recipe import AnomalyRecipe

    recipe = AnomalyPipeline.load_recipe(None, ["model.kind='autoencoder'", "data.label_column='label'",
                                                "training.epochs=8", "encoder.units=16", "model.lookback=24"])
    assert isinstance(recipe, AnomalyRecipe)
    trained = AnomalyPipeline.train(recipe, tmp_path / "run")
    detection = trained.detect(trained.read_evaluation_data(None))
    spike = int(demo_data.ANOMALIES["spike"] * demo_data.DEFAULT_LENGTH)
    # The spike is the row it reconstructs worst among the 400 around it; no interval is forecast.
    assert int(np.argmax(detection.error[spike - 200:spike + 200])) == 200 and np.isnan(detection.lower[100:]).all()
    exported = tf.saved_model.load(str(trained.export(tmp_path / "savedmodel")))
    series = trained.read_input(demo_data.SOURCE)
    outputs = exported.signatures["serving_default"](history=tf.constant(series.values[None], tf.float32))
    np.testing.assert_allclose(outputs["anomaly_score"].numpy()[0], trained.detect(series, quiet_rows=0).scores,
                               atol=1e-5)
