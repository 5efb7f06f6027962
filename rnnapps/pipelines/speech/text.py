"""Transcript normalisation (the recipe's `[text]` section): one rule for training targets, references and
language-model text, so that what is scored is what was learnt. Pure Python."""

from __future__ import annotations

import collections
import unicodedata
from collections.abc import Iterable

from rnnapps.pipelines.speech import recipe as recipes


def normalise(text: str, config: recipes.TextConfig) -> str:
    """A transcript as the model learns and is scored on it: Unicode NFC, case folded if `config.lowercase`,
    every character that is not a letter, a digit, a space or one of `config.keep` made a space, runs of
    spaces one, no spaces at the ends."""
    text = unicodedata.normalize("NFC", text)
    if config.lowercase:
        text = text.lower()
    kept = "".join(char if char.isalnum() or char in config.keep else " " for char in text)
    return " ".join(kept.split())


def outside_alphabet(texts: Iterable[str], alphabet: Iterable[str]) -> dict[str, int]:
    """Characters of `texts` that are not in `alphabet` -> how often they occur, most frequent first (a model
    cannot write them: they count as errors in CER, and evaluation reports them)."""
    known = set(alphabet)
    counts = collections.Counter(char for text in texts for char in text if char not in known)
    return dict(counts.most_common())
