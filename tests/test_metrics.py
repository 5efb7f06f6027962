"""The metrics users know, against hand-computed values: classification report, sacreBLEU/chrF with
several references, caption BLEU-1..4, bits per character."""

import math

import numpy as np
import pytest

from rnnapps import metrics


def test_classification_report_by_hand():
    # true:      0 0 0 1 1 2     predicted: 0 0 1 1 2 2
    report = metrics.classification_report([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"])
    assert report["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert report["accuracy"] == pytest.approx(4 / 6)
    per_class = report["per_class"]
    assert per_class["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert per_class["b"]["precision"] == pytest.approx(0.5) and per_class["b"]["recall"] == pytest.approx(0.5)
    assert per_class["c"]["f1"] == pytest.approx(2 / 3)
    assert report["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_a_class_never_predicted_scores_zero_not_nan():
    report = metrics.classification_report([0, 1], [0, 0], ["a", "b"])
    assert report["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_translation_scores_use_every_reference():
    hypotheses = ["the cat sat on the mat .", "hello there , my friend ."]
    one = metrics.translation_scores(hypotheses, [["a cat sat on a mat ."], ["hi , my friend ."]])
    more = metrics.translation_scores(hypotheses, [["a cat sat on a mat .", "the cat sat on the mat ."],
                                                   ["hi , my friend ."]])
    assert more["bleu"] > one["bleu"] and more["chrf"] > one["chrf"]
    assert more["references_per_sentence"] == 1.5 and "case:mixed" in more["bleu_signature"]
    perfect = metrics.translation_scores(hypotheses, [[hypotheses[0]], [hypotheses[1]]])
    assert perfect["bleu"] == pytest.approx(100.0) and perfect["chrf"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="2 hypotheses but 1 reference lists"):
        metrics.translation_scores(hypotheses, [["x"]])


def test_translation_bleu_is_cased_and_lowercased_bleu_is_reported_beside_it():
    lowercase = metrics.translation_scores(["where is the station in paris ?"], [["Where is the station in Paris?"]])
    cased = metrics.translation_scores(["Where is the station in Paris?"], [["Where is the station in Paris?"]])
    assert cased["bleu"] == pytest.approx(100) and lowercase["bleu"] < 60
    assert lowercase["bleu_lowercase"] == pytest.approx(100)


def test_caption_bleu_orders_and_case():
    references = [["a red circle at the top", "a small red circle"]]
    exact = metrics.caption_scores(["a red circle at the top"], references)
    assert all(exact[f"bleu_{n}"] == pytest.approx(1.0) for n in range(1, 5))
    shuffled = metrics.caption_scores(["circle red a"], [["a red circle"]])
    assert shuffled["bleu_1"] == pytest.approx(1.0) and shuffled["bleu_4"] < 0.5
    assert metrics.caption_scores(["A Red Circle"], [["a red circle"]], lowercase=True)["bleu_1"] == pytest.approx(1)


def test_language_model_scores():
    scores = metrics.language_model_scores(total_nats=10 * math.log(2), tokens=10)
    assert scores["bits_per_token"] == pytest.approx(1.0) and scores["perplexity"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="no tokens were scored"):
        metrics.language_model_scores(1.0, 0)


def test_regression_errors_pinball_coverage_and_mase_by_hand():
    predicted = np.array([[1.0, 2.0], [3.0, 5.0]])
    actual = np.array([[2.0, 2.0], [1.0, 5.0]])  # errors -1, 0, 2, 0
    errors = metrics.regression_errors(predicted, actual)
    assert errors["mse"] == pytest.approx(5 / 4) and errors["mae"] == pytest.approx(3 / 4)
    assert errors["rmse"] == pytest.approx(math.sqrt(5 / 4))
    # actual - predicted = 1, 0, -2, 0: level 0.9 -> 0.9 * 1 and 0.1 * 2
    assert metrics.pinball_loss(predicted, actual, 0.9) == pytest.approx((0.9 + 0.2) / 4)
    assert metrics.pinball_loss(predicted, actual, 0.5) == pytest.approx(0.5 * errors["mae"])
    assert metrics.interval_coverage(predicted - 0.5, predicted + 1.5, actual) == pytest.approx(3 / 4)
    # per channel MAE (1.5, 0) over scales (3, 2), averaged
    assert metrics.mean_absolute_scaled_error(predicted, actual, [3.0, 2.0]) == pytest.approx((0.5 + 0) / 2)
