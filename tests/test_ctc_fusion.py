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


class HistoryScorer:
    """A toy language model whose next-class distribution depends on the whole history (its state): a prefix
    routed to another prefix's state gets other scores. log P(next | history) over classes 1..n and the end."""

    def __init__(self, classes: int, seed: int = 0):
        self.classes, self.seed = classes, seed

    def scores(self, history: tuple[int, ...]) -> np.ndarray:
        rng = np.random.default_rng([self.seed, len(history), *history])
        weights = rng.uniform(0.05, 1.0, size=self.classes + 1)
        weights[0] = 1e-30  # the blank is never a character
        return np.log(weights / weights.sum())

    def start(self, count):
        return [()] * count, np.stack([self.scores(())] * count)

    def advance(self, states, class_ids):
        histories = [state + (int(class_id),) for state, class_id in zip(states, class_ids)]
        return histories, np.stack([self.scores(history) for history in histories])

    def log_prob(self, labels: tuple[int, ...]) -> float:
        """log P(labels, then the end)."""
        total = 0.0
        for index in range(len(labels) + 1):
            scores = self.scores(labels[:index])
            total += scores[labels[index]] if index < len(labels) else scores[-1]
        return float(total)


def exact_fused_best(log_probs, scorer: HistoryScorer, weight: float, bonus: float):
    """The best labelling by fused score, every path summed (tiny problems only)."""
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        labels = collapse(path)
        score = float(sum(log_probs[t, c] for t, c in enumerate(path)))
        totals[labels] = float(np.logaddexp(totals.get(labels, -np.inf), score))
    fused = {labels: ctc + weight * scorer.log_prob(labels) + bonus * len(labels) for labels, ctc in totals.items()}
    return max(fused.items(), key=lambda item: item[1])


def test_with_a_language_model_the_beam_finds_the_best_fused_score():
    rng = np.random.default_rng(2)
    problems = [random_log_probs(rng, frames, 3, sharpness=1.0) for frames in (1, 3, 4, 5, 5, 6)]
    scorer = HistoryScorer(classes=3, seed=5)
    for weight, bonus in ((0.5, 0.0), (1.0, 1.5), (2.0, -0.5)):
        found = ctc_fusion.prefix_beam_search(problems, 64, scorer, ctc_fusion.Fusion(weight, bonus, prune=0))
        for log_probs, (ids, score) in zip(problems, found):
            labels, best = exact_fused_best(log_probs, scorer, weight, bonus)
            assert tuple(ids) == labels and score == pytest.approx(best, abs=1e-6), (weight, bonus)


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


def test_the_end_of_a_transcript_decides_where_it_stops():
    # Frames say 1, then 2 a little likelier than a blank, and the model expects 2 after 1; but hardly anything
    # ends after 2: only the end's score drops the 2.
    frames = np.log(np.array([[0.02, 0.96, 0.01, 0.01],
                              [0.40, 0.01, 0.58, 0.01]]))
    table = np.array([[0.1, 0.8, 0.05, 0.04, 0.01],    # the start
                      [0.0, 0.03, 0.8, 0.02, 0.15],    # after 1: most likely 2 (without the end, [1, 2] wins)
                      [0.0, 0.3, 0.3, 0.39, 0.01],     # after 2: hardly ever the end
                      [0.0, 0.3, 0.3, 0.39, 0.01]])
    scorer = BigramScorer(np.where(table > 0, table, 1e-9))
    fused = ctc_fusion.prefix_beam_search([frames], 8, scorer, ctc_fusion.Fusion(lm_weight=1.0, length_bonus=0.0))
    assert fused[0][0] == [1]
    bonus = ctc_fusion.prefix_beam_search([frames], 8, scorer, ctc_fusion.Fusion(lm_weight=1.0, length_bonus=5.0))
    assert bonus[0][0] == [1, 2]  # a bonus per character pays for the 2


def test_utterances_of_different_lengths_are_decoded_together_as_alone():
    rng = np.random.default_rng(1)
    problems = [random_log_probs(rng, frames, 5) for frames in (3, 9, 1, 6)]
    scorer, fusion = HistoryScorer(classes=5, seed=3), ctc_fusion.Fusion(0.7, 0.5)
    together = ctc_fusion.prefix_beam_search(problems, 6, scorer, fusion)
    alone = [ctc_fusion.prefix_beam_search([log_probs], 6, scorer, fusion)[0] for log_probs in problems]
    assert [ids for ids, _ in together] == [ids for ids, _ in alone]
    assert [score for _, score in together] == pytest.approx([score for _, score in alone])
