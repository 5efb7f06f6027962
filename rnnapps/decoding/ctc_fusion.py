"""CTC prefix beam search with shallow fusion of a language model (Hannun et al. 2014, "First-pass large
vocabulary continuous speech recognition using bi-directional recurrent DNNs"): a prefix's score is

    log P_ctc(prefix | audio) + lm_weight * log P_lm(prefix) + length_bonus * len(prefix)

and, at the end of the audio, lm_weight * log P_lm(end | prefix) as well, so that a language model that knows
where transcripts end can also judge the last word. The bonus per character balances the language model's cost
of every character it reads (without it, fusion prefers short transcripts).

This runs on the host, in numpy, frame by frame, because the language model is asked for the next-character
scores of the prefixes that survive each frame: the new prefixes of every utterance of a batch go to the
`PrefixScorer` in one call. Class 0 (PAD_ID) is the blank, as in `rnnapps.decoding.ctc`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from rnnapps.special_tokens import PAD_ID

BLANK = PAD_ID
_NONE = -np.inf


class PrefixScorer(Protocol):
    """A language model over the recogniser's classes, one state per prefix.

    `start(count)` gives `count` states of the empty prefix; `advance(states, class_ids)` reads one class into
    each state. Both return (states: a list with one opaque state per row, log_probs float [rows, classes + 1]:
    log P(next class | prefix) for every class, the blank's column unused, and log P(end | prefix) last).
    """

    def start(self, count: int) -> tuple[list[Any], np.ndarray]: ...

    def advance(self, states: list[Any], class_ids: np.ndarray) -> tuple[list[Any], np.ndarray]: ...


@dataclasses.dataclass(frozen=True)
class Fusion:
    """How much the language model counts: `lm_weight` times its log probability, plus `length_bonus` per
    character written. `prune`: classes more than this many nats below a frame's best are not tried (0 = all)."""

    lm_weight: float = 0.5
    length_bonus: float = 1.0
    prune: float = 10.0


@dataclasses.dataclass
class _Prefix:
    """A prefix's CTC log probabilities (ending in a blank / in its last class) and language-model score."""

    blank: float = _NONE
    label: float = _NONE
    lm: float = 0.0

    @property
    def ctc(self) -> float:
        return float(np.logaddexp(self.blank, self.label))


class _Utterance:
    """The beam of one utterance: prefix (a tuple of class ids) -> `_Prefix`, and the language model's state and
    next-class scores of every prefix it has read."""

    def __init__(self, state: Any, next_log_probs: np.ndarray):
        self.beam: dict[tuple[int, ...], _Prefix] = {(): _Prefix(blank=0.0)}
        self.lm_state = {(): state}
        self.lm_next = {(): next_log_probs}

    def step(self, log_probs: np.ndarray, beam_size: int, fusion: Fusion, weight: float) -> None:
        """Extend every prefix by one frame's classes (log_probs float [classes]) and keep the best `beam_size`."""
        tried = np.arange(len(log_probs))
        if fusion.prune > 0:
            tried = tried[(log_probs >= log_probs.max() - fusion.prune) | (tried == BLANK)]
        extended: dict[tuple[int, ...], _Prefix] = {}

        def entry(prefix, lm):
            found = extended.get(prefix)
            if found is None:
                found = extended[prefix] = _Prefix(lm=lm)
            return found

        for prefix, scores in self.beam.items():
            total = scores.ctc
            for class_id in tried:
                p = float(log_probs[class_id])
                if class_id == BLANK:
                    kept = entry(prefix, scores.lm)
                    kept.blank = np.logaddexp(kept.blank, total + p)
                    continue
                longer = entry(prefix + (int(class_id),), scores.lm + float(self.lm_next[prefix][class_id]))
                if prefix and class_id == prefix[-1]:
                    # A repeat needs a blank between (a new character); without one it continues the last.
                    longer.label = np.logaddexp(longer.label, scores.blank + p)
                    kept = entry(prefix, scores.lm)
                    kept.label = np.logaddexp(kept.label, scores.label + p)
                else:
                    longer.label = np.logaddexp(longer.label, total + p)
        ranked = sorted(extended.items(), key=lambda item: -_fused(item[0], item[1], weight, fusion.length_bonus))
        self.beam = dict(ranked[:beam_size])

    def forget_dropped(self) -> None:
        """Drop the language model's states of prefixes no longer in the beam (one that comes back is read
        again): memory stays bounded by the beam, not the recording's length."""
        self.lm_state = {prefix: self.lm_state[prefix] for prefix in self.beam}
        self.lm_next = {prefix: self.lm_next[prefix] for prefix in self.beam}

    def unread(self) -> list[tuple[int, ...]]:
        """The beam's prefixes whose next-class scores the language model has not given yet."""
        return [prefix for prefix in self.beam if prefix not in self.lm_next]

    def best(self, weight: float, fusion: Fusion) -> tuple[tuple[int, ...], float]:
        """The best prefix with the language model's end-of-transcript score added, and its fused score."""
        def final(item):
            prefix, scores = item
            return _fused(prefix, scores, weight, fusion.length_bonus) + weight * float(self.lm_next[prefix][-1])

        prefix, scores = max(self.beam.items(), key=final)
        return prefix, final((prefix, scores))


def _fused(prefix, scores: _Prefix, weight: float, length_bonus: float) -> float:
    return scores.ctc + weight * scores.lm + length_bonus * len(prefix)


class _NoLanguageModel:
    """The scorer of plain prefix beam search: every next class equally likely (its weight is 0)."""

    def __init__(self, classes: int):
        self.classes = classes

    def start(self, count):
        return [None] * count, np.zeros((count, self.classes + 1), np.float32)

    def advance(self, states, class_ids):
        return self.start(len(states))


def prefix_beam_search(log_probs: Sequence[np.ndarray], beam_size: int, scorer: PrefixScorer | None = None,
                       fusion: Fusion = Fusion()) -> list[tuple[list[int], float]]:
    """The best transcript of each utterance by CTC prefix beam search, with the scorer's language model fused in.

    Args:
        log_probs: one float array [frames, classes] per utterance, CTC log probabilities (class 0 the blank),
            only its real frames.
        beam_size: prefixes kept after every frame.
        scorer: the language model (None = plain prefix beam search; then `fusion`'s weight and bonus are not
            used).
        fusion: the language model's weight, the bonus per character and the pruning of unlikely classes.

    Returns:
        Per utterance, (class ids of the best transcript, its fused score: CTC log probability + lm_weight *
        language-model log probability (end included) + length_bonus * characters).
    """
    if not log_probs:
        return []
    classes = log_probs[0].shape[-1]
    if scorer is None:
        scorer, fusion = _NoLanguageModel(classes), dataclasses.replace(fusion, length_bonus=0.0)
        weight = 0.0
    else:
        weight = fusion.lm_weight
    states, next_log_probs = scorer.start(len(log_probs))
    utterances = [_Utterance(state, scores) for state, scores in zip(states, next_log_probs)]
    for frame in range(max(len(frames) for frames in log_probs)):
        asked: list[tuple[_Utterance, tuple[int, ...]]] = []
        for utterance, frames in zip(utterances, log_probs):
            if frame < len(frames):
                utterance.step(np.asarray(frames[frame], np.float64), beam_size, fusion, weight)
                asked += [(utterance, prefix) for prefix in utterance.unread()]
        if asked:
            # Every new prefix extends one that the language model has read (it was in the beam a frame ago).
            parents = [utterance.lm_state[prefix[:-1]] for utterance, prefix in asked]
            states, next_log_probs = scorer.advance(parents, np.array([prefix[-1] for _, prefix in asked], np.int32))
            for (utterance, prefix), state, scores in zip(asked, states, next_log_probs):
                utterance.lm_state[prefix], utterance.lm_next[prefix] = state, scores
        for utterance, frames in zip(utterances, log_probs):
            if frame < len(frames):
                utterance.forget_dropped()
    return [(list(prefix), score) for prefix, score in (u.best(weight, fusion) for u in utterances)]
