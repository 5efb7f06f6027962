"""Toy reviews that rnnapps generates itself (demo data, not a benchmark): negation flips a judgement
("was not great"), and after "but" the second clause decides the label."""

from __future__ import annotations

import pathlib
import random

from rnnapps.datasets import files
from rnnapps.errors import UserError

_SUBJECTS = ["the movie", "this film", "the plot", "the acting", "the soundtrack", "the ending", "the cast",
             "the story", "the dialogue", "the director's work"]
_POSITIVE = ["great", "wonderful", "brilliant", "moving", "delightful", "superb", "charming", "excellent",
             "fun", "beautiful", "gripping", "clever"]
_NEGATIVE = ["awful", "boring", "dull", "terrible", "painful", "weak", "bland", "clumsy", "tedious",
             "dreadful", "messy", "forgettable"]
_INTENSIFIERS = ["", "", "really ", "truly ", "very ", "quite ", "so "]
_FILLERS = ["", "", "i saw it last sunday. ", "my friend picked it. ", "it runs two hours. ",
            "we watched it at home. "]
_VERBS = {"pos": ["loved", "enjoyed", "adored"], "neg": ["hated", "disliked", "regretted"]}


def _judgement(rng: random.Random, label: str) -> str:
    """One clause whose sentiment is `label`."""
    subject = rng.choice(_SUBJECTS)
    negated = rng.random() < 0.35
    # A negated clause uses an adjective of the opposite polarity.
    polarity = ("neg" if label == "pos" else "pos") if negated else label
    adjective = rng.choice(_POSITIVE if polarity == "pos" else _NEGATIVE)
    if rng.random() < 0.2 and not negated:
        return f"i {rng.choice(_VERBS[label])} {subject}"
    verb = rng.choice(["was", "is"])
    return f"{subject} {verb} {'not ' if negated else ''}{rng.choice(_INTENSIFIERS)}{adjective}"


def sentiment_reviews(count: int = 2000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Generate toy reviews labelled "pos" or "neg".

    Args:
        count: number of reviews.
        seed: random seed (the same seed gives the same reviews).

    Returns:
        (texts, labels), two lists of `count` strings.
    """
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(count):
        label = rng.choice(["pos", "neg"])
        clause = _judgement(rng, label)
        if rng.random() < 0.3:
            # "X but Y": the clause after "but" decides, the one before says the opposite.
            opposite = "neg" if label == "pos" else "pos"
            clause = f"{_judgement(rng, opposite)} but {clause}"
        texts.append(f"{rng.choice(_FILLERS)}{clause}{rng.choice(['.', '!', '.', ' ...'])}")
        labels.append(label)
    return texts, labels


def write_sentiment_tsv(path: str | pathlib.Path, count: int = 2000, seed: int = 0) -> pathlib.Path:
    """Write toy reviews as a header-less TSV of `text<TAB>label` lines and return the path."""
    return files.write_tsv(path, *sentiment_reviews(count, seed))


def labelled_reviews(name: str) -> tuple[list[str], list[str]]:
    """The demo text-classification set called `name` (for "demo:NAME" sources).

    Plain lists, not `data.LabelledTexts`: `data` imports this module, not the other way round.

    Args:
        name: "sentiment" (2,000 reviews of `sentiment_reviews()`).

    Returns:
        (texts, labels), as `sentiment_reviews` gives them.

    Raises:
        UserError: `name` is not a known demo text-classification set.
    """
    if name != "sentiment":
        raise UserError(f"unknown demo dataset 'demo:{name}'; known: demo:sentiment")
    return sentiment_reviews()
