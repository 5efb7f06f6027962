"""The music measures count by parsing: bars that add up to their meter, tunes that copy training bars, and
the distributions of keys, meters, lengths and pitch ranges."""

import pytest

from rnnapps.pipelines.generate import abc_bars, tune_measures

JIG = "M:6/8\nL:1/8\nR:jig\nK:D\nA|dAF DFA|ded cBA|(3ddd e f2g|fdd d2:|\n"


@pytest.mark.parametrize("tune", [
    JIG,  # a pickup, a tuplet (3 in the time of 2), a repeat
    "M:4/4\nL:1/8\nK:G\nGABc d2B2|[GB]4 {c}B4|A>B c<d e/f/g/a/ b2|z8|Z2|]\n",  # chord, grace, broken, rests
    "M:3/4\nL:1/4\nK:Am\nA B c|\nM:2/4\nd e|[M:3/4]f g a|]\n",  # meter changes, as a field line and inline
    "M:C|\nL:1/8\nK:F\n|:F2AF cAFA|1 G2BG dBGB:|2 G2BG c4|]\n",  # cut time, numbered endings
    "M:6/8\nL:1/8\nK:Em\n!trill!E3 ~B3|\"Em\"e2d B2A|G3- G2E|]\n",  # decorations, a chord symbol, a tie
    "M:4/4\nL:1/8\nK:D\nA2>B2 c4|A<B c2 d>>e f2|]\n",  # broken rhythm keeps a pair of equal notes' total
    "M:6/8\nL:1/8\nK:D\n(5ABcde f3|(3ABc d3|]\n",  # in compound time 5 notes take 3 beats, 3 take 2
    "M:2/4\nK:D\nA4 B4|c8|]\n",  # no L: below 3/4 means 1/16
])
def test_tunes_whose_bars_add_up_fit(tune):
    check = abc_bars.check_tune(tune)
    assert check.parses and check.fits, check.problem


@pytest.mark.parametrize("tune, problem", [
    ("M:6/8\nL:1/8\nK:D\ndAF DFA|ded cB|dAF DFA|]\n", "a bar of 5/8 of a whole note where its meter asks for 3/4"),
    ("M:4/4\nL:1/8\nK:D\nA2>B c4 B|A2>B2 c4|A2>B2 c4|]\n", "a bar of 17/16"),  # A2>B: A3 B/2, not A2 B
    ("M:6/8\nL:1/8\nK:D\ndAF DFA|ded cBAA|dAF DFA|]\n", "a bar of 7/8"),  # too long, even at an edge
    ("M:6/8\nL:1/8\nK:D\ndAF DFA|d@d cBA|]\n", "cannot read '@d cBA|]'"),
    ("L:1/8\nK:D\ndAF DFA|]\n", "lacks a meter"),
])
def test_a_tune_that_does_not_add_up_says_where(tune, problem):
    check = abc_bars.check_tune(tune)
    assert not check.fits and problem in check.problem


def test_a_short_bar_at_a_sections_edge_is_a_pickup_not_a_mistake():
    assert abc_bars.check_tune("M:4/4\nL:1/8\nK:G\nD2|:G4 A4|B8:|\n|:d2 d4 d2|g8:|\n").fits
    assert not abc_bars.check_tune("M:4/4\nL:1/8\nK:G\nD2|G4 A4|B6|G8|]\n").fits  # mid-section: wrong


def test_copying_is_counted_in_runs_of_bars():
    training = ["M:4/4\nL:1/8\nK:G\n" + "|".join(f"G{n}A{n}" for n in range(2, 14)) + "|]\n"]
    windows = tune_measures.bar_windows(training, 9)
    borrowed = "M:4/4\nL:1/8\nK:G\nB8|" + "|".join(f"G{n}A{n}" for n in range(3, 12)) + "|c8|]\n"  # 9 bars
    brief = "M:4/4\nL:1/8\nK:G\nB8|" + "|".join(f"G{n}A{n}" for n in range(3, 11)) + "|c8|]\n"  # 8 bars
    assert tune_measures.copied(borrowed, windows, 9) and not tune_measures.copied(brief, windows, 9)


def test_describe_counts_what_parsing_finds():
    tunes = [JIG, JIG.replace("K:D", "K:G"), "M:6/8\nL:1/8\nK:D\ndAF DFA|ded c|dAF DFA|]\n"]
    described = tune_measures.describe(tunes)
    assert described["parse_share"] == 1.0 and described["fit_share"] == pytest.approx(0.667, abs=1e-3)
    assert described["keys"] == {"D": pytest.approx(0.667, abs=1e-3), "G": pytest.approx(0.333, abs=1e-3)}
    assert described["meters"] == {"6/8": 1.0} and described["median_bars"] == 5  # the pickup is a bar
    assert described["bar_fit_share"] == pytest.approx(1 - 1 / 13, abs=1e-4)  # "ded c" is short, mid-section
    assert tune_measures.pitch_range(JIG) == 10  # D up to g: an octave (7 steps) and three
    assert tune_measures.split_tunes(JIG + "\n" + JIG + "\n") == [JIG, JIG]
