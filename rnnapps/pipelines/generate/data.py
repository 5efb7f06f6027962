"""The generation task's data: one running text (the shared `rnnapps.datasets.text_corpus` reader, plus the
generated demo play of `demo_data`), cut by position into the training text and the validation text; or tunes
in ABC notation (`abc`), cut by tune. Pure Python: no TensorFlow."""

from __future__ import annotations

import dataclasses

import numpy as np

from rnnapps.datasets import splits, text_corpus
from rnnapps.errors import UserError
from rnnapps.pipelines.generate import abc, demo_data, recipe

# A text of one character has nothing to predict (a language model scores each character from the one before).
MIN_SCORED_CHARACTERS = 2


def read_corpus(config: recipe.TextDataConfig, seed: int = 0) -> text_corpus.Corpus:
    """Read the text a recipe names (a file, folder, archive, TFDS dataset or the demo play) and split it by
    position (see `rnnapps.datasets.text_corpus.read_corpus`); or, with data.format = "abc", read its tunes
    and split them by tune (`read_tunes`).

    Args:
        config: the recipe's data section.
        seed: the recipe's seed (which tunes are held out, and their order).

    Returns:
        The training text (the first part) and the validation text (the last data.validation_fraction).

    Raises:
        UserError: a setting is out of range, or the source is missing, undecodable, empty or too short.
    """
    if config.format == "abc":
        return read_tunes(config, seed)
    if config.source != recipe.DEMO_SOURCE:
        return text_corpus.read_corpus(config)

    def play() -> tuple[str, str]:
        return demo_data.play_script(_demo_length(config), config.demo_seed), "the demo play"

    return text_corpus.read_corpus(config, make_text=play)


def read_tunes(config: recipe.TextDataConfig, seed: int) -> text_corpus.Corpus:
    """The tunes of an ABC source (a file, or a folder or archive of .abc files, or "demo": the toy tunes of
    `demo_data.toy_tunes`), cleaned (`abc.read_tunes`), split by tune: data.validation_fraction of the title
    groups held out, the training tunes shuffled.

    Raises:
        UserError: the source is missing or holds no tune, or validation_fraction is out of range.
    """
    fraction = config.validation_fraction
    text_corpus.check_validation_fraction(fraction, " of the tunes")
    if config.source.startswith("tfds:"):
        raise UserError(f"data.format = \"abc\" reads ABC files (or \"demo\": toy tunes); data.source = "
                        f"{config.source!r} is not one")
    if config.file_suffix == text_corpus.TextCorpusConfig.file_suffix:  # the text default: read .abc files
        config = dataclasses.replace(config, file_suffix=".abc")
    if config.source == recipe.DEMO_SOURCE:
        text, where = demo_data.toy_tunes(_demo_length(config), config.demo_seed), "the demo tunes"
    else:
        text, where = text_corpus.read_local_text(config)
    tunes = abc.read_tunes(text, where, keep_chords=config.keep_chords)
    abc.check_found(tunes, where)
    train, validation, _ = splits.carve_missing_splits(
        {"train": abc.Tunes(tunes), "test": abc.Tunes([])}, 0.0, fraction, seed,
        group_keys=lambda part: [tune.group for tune in part.tunes])
    train = train.subset(np.random.default_rng(seed).permutation(len(train)))
    return text_corpus.Corpus(train=train.text(), validation=validation.text(),
                              origin=f"{len(tunes):,} tunes in {where} ({len(train):,} train, "
                                     f"{len(validation):,} validation, versions of a tune kept together)")


def _demo_length(config: recipe.TextDataConfig) -> int:
    """data.demo_characters, checked to be positive."""
    if config.demo_characters < 1:
        raise UserError(f"data.demo_characters = {config.demo_characters}: expected a positive length")
    return config.demo_characters


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
