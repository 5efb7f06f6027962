"""The generation task's data: one running text (the shared `rnnapps.datasets.text_corpus` reader, plus the
generated demo play of `demo_data`), cut by position into the training text and the validation text.
Pure Python: no TensorFlow."""

from __future__ import annotations

import dataclasses

from rnnapps.datasets import text_corpus
from rnnapps.errors import UserError
from rnnapps.pipelines.generate import demo_data, recipe

# A text of one character has nothing to predict (a language model scores each character from the one before).
MIN_SCORED_CHARACTERS = 2


def read_corpus(config: recipe.TextDataConfig) -> text_corpus.Corpus:
    """Read the text a recipe names (a file, folder, archive, TFDS dataset or the demo play) and split it by
    position (see `rnnapps.datasets.text_corpus.read_corpus`).

    Args:
        config: the recipe's data section.

    Returns:
        The training text (the first part) and the validation text (the last data.validation_fraction).

    Raises:
        UserError: a setting is out of range, or the source is missing, undecodable, empty or too short.
    """
    if config.source != recipe.DEMO_SOURCE:
        return text_corpus.read_corpus(config)

    def play() -> tuple[str, str]:
        if config.demo_characters < 1:
            raise UserError(f"data.demo_characters = {config.demo_characters}: expected a positive length")
        return demo_data.play_script(config.demo_characters, config.demo_seed), "the demo play"

    return text_corpus.read_corpus(config, make_text=play)


@dataclasses.dataclass(frozen=True)
class TextSplits:
    """A corpus as the Task contract sees its splits (`rnnapps.pipelines.base`).

    Attributes:
        corpus: the text as read, cut in two.
    """

    corpus: text_corpus.Corpus

    @property
    def train(self) -> str:
        """The training text."""
        return self.corpus.train

    @property
    def validation(self) -> str:
        """The held-out text scored after training: the validation text, or "" when it is too short to
        score (fewer than 2 characters), so that training then skips the score instead of failing."""
        held_out = self.corpus.validation
        return held_out if len(held_out) >= MIN_SCORED_CHARACTERS else ""

    @property
    def test(self) -> str:
        """A language model is scored on its validation text: there is no test text."""
        return ""
