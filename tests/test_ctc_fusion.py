"""CTC prefix beam search with a fused language model (rnnapps.decoding.ctc_fusion): exact on small problems, and a
language model that prefers one transcript turns an ambiguous recording into it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnapps.decoding import ctc_fusion

BLANK = ctc_fusion.BLANK


def collapse(path) -> tuple[int, ...]:
    """The labelling of a CTC path: repeats merged, blanks dropped."""
    return tuple(label for label, _ in itertools.groupby(path) if label != BLANK)


def exact_best(log_probs: np.ndarray) -> tuple[tuple[int, ...], float]:
    """The most likely labelling by summing every path (tiny problems only)."""
    totals: dict[tuple[int, ...], float] = {}
    frames, classes = log_probs.shape
    for path in itertools.product(range(classes), repeat=frames):
        score = float(sum(log_probs[t, c] for t, c in enumerate(path)))
        labels = collapse(path)
        totals[labels] = float(np.logaddexp(totals.get(labels, -np.inf), score))
    return max(totals.items(), key=lambda item: item[1])


def random_log_probs(rng, frames: int, classes: int, sharpness: float = 2.0) -> np.ndarray:
    logits = rng.normal(size=(frames, classes)) * sharpness
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


def test_without_a_language_model_the_beam_finds_the_most_likely_labelling():
    rng = np.random.default_rng(0)
    problems = [random_log_probs(rng, frames, 3) for frames in (1, 2, 4, 5, 6) for _ in range(4)]
    found = ctc_fusion.prefix_beam_search(problems, beam_size=64, fusion=ctc_fusion.Fusion(prune=0))
    for log_probs, (ids, score) in zip(problems, found):
        labels, best = exact_best(log_probs)
        assert tuple(ids) == labels
        assert score == pytest.approx(best, abs=1e-6)  # the labelling's probability summed over all its paths


def test_a_repeated_label_needs_a_blank_between():
    certain = np.full((5, 3), -30.0)
    for frame, label in enumerate([1, 1, BLANK, 1, 2]):
        certain[frame, label] = 0.0
    [(ids, score)] = ctc_fusion.prefix_beam_search([certain], beam_size=4)
    assert ids == [1, 1, 2]
    assert score == pytest.approx(0.0, abs=1e-6)


class BigramScorer:
    """A toy language model over classes 1..n: log P(next | last) from a table [n + 1, n + 2] (row 0: the start;
    the last column: the end)."""

    def __init__(self, table: np.ndarray):
        self.table = np.log(table)

    def start(self, count):
        return [0] * count, np.repeat(self.table[:1], count, axis=0)

    def advance(self, states, class_ids):
        return list(class_ids), self.table[class_ids]


def test_the_language_model_decides_between_what_the_audio_leaves_open():
    # Frames say: class 1 surely, then class 2 or 3 almost equally (2 a little likelier), then the end.
    frames = np.log(np.array([[0.02, 0.96, 0.01, 0.01],
                              [0.02, 0.01, 0.50, 0.47],
                              [0.97, 0.01, 0.01, 0.01]]))
    prefers_3 = np.full((4, 5), 0.05)
    prefers_3[1, 3] = 0.8  # after 1 comes 3
    plain = ctc_fusion.prefix_beam_search([frames], beam_size=8)
    fused = ctc_fusion.prefix_beam_search([frames], beam_size=8, scorer=BigramScorer(prefers_3),
                                          fusion=ctc_fusion.Fusion(lm_weight=1.0, length_bonus=0.0))
    assert plain[0][0] == [1, 2]
    assert fused[0][0] == [1, 3]


def test_the_end_of_a_transcript_is_scored_and_the_bonus_keeps_characters():
    # Frames say 1, then 2 weakly: a model that ends transcripts after 1 drops the 2, unless the bonus pays for it.
    frames = np.log(np.array([[0.02, 0.96, 0.01, 0.01],
                              [0.40, 0.01, 0.58, 0.01]]))
    ends_after_1 = np.full((4, 5), 0.1)
    ends_after_1[1, 4] = 0.9
    scorer = BigramScorer(ends_after_1)
    short = ctc_fusion.prefix_beam_search([frames], 8, scorer, ctc_fusion.Fusion(lm_weight=1.0, length_bonus=0.0))
    kept = ctc_fusion.prefix_beam_search([frames], 8, scorer, ctc_fusion.Fusion(lm_weight=1.0, length_bonus=5.0))
    assert short[0][0] == [1]
    assert kept[0][0] == [1, 2]


def test_utterances_of_different_lengths_are_decoded_together_as_alone():
    rng = np.random.default_rng(1)
    problems = [random_log_probs(rng, frames, 5) for frames in (3, 9, 1, 6)]
    table = rng.uniform(0.1, 1.0, size=(5, 6))
    scorer, fusion = BigramScorer(table / table.sum(axis=1, keepdims=True)), ctc_fusion.Fusion(0.7, 0.5)
    together = ctc_fusion.prefix_beam_search(problems, 6, scorer, fusion)
    alone = [ctc_fusion.prefix_beam_search([log_probs], 6, scorer, fusion)[0] for log_probs in problems]
    assert [ids for ids, _ in together] == [ids for ids, _ in alone]
    assert [score for _, score in together] == pytest.approx([score for _, score in alone])
