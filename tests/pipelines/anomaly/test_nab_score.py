"""The NAB scorer on hand-made cases whose score is known by construction (Lavin and Ahmad 2015)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnapps.pipelines.anomaly import nab_score

STANDARD = nab_score.PROFILES["standard"]
ROWS = 100  # probation: the first 15 rows
WINDOW = np.array([[40, 59]])  # 20 rows


def _sigmoid_score(position: float) -> float:
    return 2 / (1 + math.exp(5 * position)) - 1


def _flags(*rows: int) -> np.ndarray:
    flags = np.zeros(ROWS, bool)
    flags[list(rows)] = True
    return flags


def _score(*rows: int, profile=STANDARD) -> float:
    return nab_score.normalised([nab_score.score_file(_flags(*rows), WINDOW, profile)])


def test_the_probationary_period_is_15_percent_and_at_most_750_rows():
    assert nab_score.probationary_rows(100) == 15
    assert nab_score.probationary_rows(4032) == 604
    assert nab_score.probationary_rows(22695) == 750


def test_a_flag_on_the_window_s_first_row_is_perfect_and_no_flag_is_null():
    assert _score(40) == pytest.approx(100.0)
    assert _score() == pytest.approx(0.0)
    assert _score(40, 41, 50, 59) == pytest.approx(100.0)  # only the first flag in a window counts


def test_a_late_flag_is_worth_less():
    # The last row of a 20-row window: relative position -1/20.
    worth = _sigmoid_score(-1 / 20) / _sigmoid_score(-1)
    assert _score(59) == pytest.approx(100 * (worth + 1) / 2)
    assert _score(50) > _score(55) > _score(59) > 0


def test_false_flags_cost_fp_weight_before_a_window_and_less_just_after_it():
    assert _score(20) == pytest.approx(100 * (-0.11 - 1 + 1) / 2)  # before any window: the full -0.11
    assert _score(5) == pytest.approx(0.0)  # in the probationary rows: not scored
    just_after = 0.11 * _sigmoid_score((60 - 59) / (20 - 1))
    assert _score(40, 60) == pytest.approx(100 * (1 + just_after + 1) / 2)
    far = 0.11 * _sigmoid_score((99 - 59) / (20 - 1))
    assert _score(40, 99) == pytest.approx(100 * (1 + far + 1) / 2) and far == pytest.approx(-0.11, abs=1e-4)
    long = nab_score.score_file(np.isin(np.arange(200), [40, 59 + 3 * 19]), WINDOW, STANDARD)
    assert long.raw == pytest.approx(1 - 0.11)  # three window widths on: exactly the full cost


def test_the_profiles_weigh_misses_and_false_flags_differently():
    low_fn, low_fp = nab_score.PROFILES["reward_low_fn_rate"], nab_score.PROFILES["reward_low_fp_rate"]
    missed = nab_score.score_file(_flags(20), WINDOW, low_fn)
    assert (missed.raw, missed.null, missed.perfect) == pytest.approx((-0.11 - 2, -2, 1))
    assert nab_score.score_file(_flags(20), WINDOW, low_fp).raw == pytest.approx(-0.22 - 1)


def test_a_corpus_is_normalised_over_its_summed_scores():
    found = nab_score.score_file(_flags(40), WINDOW, STANDARD)
    missed = nab_score.score_file(_flags(), WINDOW, STANDARD)
    assert nab_score.normalised([found, missed]) == pytest.approx(50.0)
    quiet = nab_score.score_file(_flags(30), np.zeros((0, 2)), STANDARD)  # no window: only its false flag counts
    assert nab_score.normalised([found, missed, quiet]) == pytest.approx(100 * (1 - 0.11 - 1 + 2) / 4)
    assert nab_score.normalised([quiet]) is None


def test_a_window_inside_the_probationary_rows_is_not_scored_and_one_across_it_starts_after_it():
    inside = nab_score.score_file(_flags(), np.array([[2, 10]]), STANDARD)
    assert (inside.windows, inside.null, inside.perfect) == (0, 0.0, 0.0)
    across = nab_score.score_file(_flags(15), np.array([[10, 29]]), STANDARD)
    assert across.windows == 1 and across.raw == pytest.approx(across.perfect)
    assert across.perfect == pytest.approx(_sigmoid_score(-15 / 20) / _sigmoid_score(-1))


def test_window_metrics_count_windows_false_flags_and_delays():
    scores = [nab_score.score_file(_flags(45, 20, 70), WINDOW, STANDARD),
              nab_score.score_file(_flags(), WINDOW, STANDARD)]
    metrics = nab_score.window_metrics(scores)
    assert (metrics["windows"], metrics["detected"], metrics["false_flags"]) == (2, 1, 2)
    assert metrics["precision"] == pytest.approx(1 / 3) and metrics["recall"] == pytest.approx(0.5)
    assert metrics["f1"] == pytest.approx(0.4)
    assert metrics["mean_delay_rows"] == 5 and metrics["mean_delay_window_fraction"] == pytest.approx(0.25)


@pytest.mark.parametrize("windows, message", [
    ([[90, 120]], r"window 1 \(rows 90-120\) is not inside the series' 100 rows"),
    ([[30, 40], [35, 50]], "window 2 starts before window 1 ends"),
])
def test_windows_outside_the_series_or_overlapping_are_refused(windows, message):
    with pytest.raises(ValueError, match=message):
        nab_score.score_file(_flags(), np.array(windows), STANDARD)
