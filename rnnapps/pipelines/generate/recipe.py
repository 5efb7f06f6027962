"""The generation recipe: the text, the tokenizer (characters, or the musical tokens of ABC notation), the
language model (embedding, `[decoder]` stack, windows), the `[decoding]` (sampling) defaults and the training
settings.

Sections renamed in round 2 (old recipes and bundles keep loading, with a warning): `[rnn]` is now `[decoder]`
(the stack that generates) and `[sample]` is now `[decoding]` (the search/sampling settings of every task).
Pure Python: no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Literal

from rnnapps import sections
from rnnapps.datasets import text_corpus
from rnnapps.errors import UserError

MAX_SAMPLE_LENGTH = sections.MAX_SAMPLE_LENGTH  # tokens (characters, for a character model) per call
DEMO_SOURCE = "demo"  # data.source of the generated toy play (see `rnnapps.pipelines.generate.data`)


@dataclasses.dataclass(frozen=True)
class TextDataConfig(text_corpus.TextCorpusConfig):
    """The shared text-corpus section (`rnnapps.datasets.text_corpus.TextCorpusConfig`) plus the generated
    demo play: `source = "demo"` (the default) reads a toy play laid out like Tiny Shakespeare; and tunes in
    ABC notation (`format = "abc"`, `rnnapps.pipelines.generate.abc`).

    Attributes:
        source: as in `TextCorpusConfig`, or "demo".
        format: "text" (one running text, split by position) or "abc" (tunes, cleaned and split by tune:
            validation_fraction is then the share of tunes held out, versions of one tune kept together; a
            folder is read for its .abc files unless file_suffix says otherwise).
        keep_chords: with "abc", keep the chord symbols ("G", "Em7") in the tunes.
        demo_characters: length of the generated demo play (or, with format "abc", of the toy tunes).
        demo_seed: random seed of the generated demo play.
    """

    source: str = DEMO_SOURCE
    format: Literal["text", "abc"] = "text"
    keep_chords: bool = False
    demo_characters: int = 60000
    demo_seed: int = 0


@dataclasses.dataclass(frozen=True)
class LanguageModelConfig:
    """How the text is cut for training.

    Attributes:
        sequence_length: tokens (characters) per training window (backpropagation reaches this far back; at
            sampling time the state carries context indefinitely).
        stateful: carry the state from one batch to the next: the training text is read as batch_size
            contiguous streams, window after window, and each window starts from the state the previous
            one left (truncated backpropagation through time; reset every epoch). False: windows are cut
            at random offsets, shuffled, and each starts from a zero state.
    """

    sequence_length: int = 128
    stateful: bool = False


@dataclasses.dataclass(frozen=True)
class SamplingConfig(sections.Section):
    """Defaults of `sample` (each can be overridden per call): the recipe's `[decoding]` section.

    Attributes:
        length: tokens (characters, for a character model) generated at most.
        temperature: > 0; below 1 is more conservative, above 1 more surprising.
        top_k: sample only among the k most likely tokens (0 = all).
        top_p: sample only from the smallest set of tokens holding this probability (1 = all).
        prompt: text the demo and `summary` samples start from ("" starts a fresh line).
        stop_at: a sample ends just before the first time it writes this ("" = after `length` characters,
            which then only bounds it): "\n\n" ends a tune of an ABC recipe, where tunes are separated by an
            empty line. Saved into the exported model.
    """

    length: int = 400
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 1.0
    prompt: str = ""
    stop_at: str = ""

    def validate(self, name: str) -> None:
        check_sampling(self.length, self.temperature, self.top_k, self.top_p, where=f"{sections.WHERE}: {name}.")


def _default_decoder() -> sections.RecurrentConfig:
    return sections.RecurrentConfig(cell="lstm", units=256, num_layers=2, bidirectional=False, dropout_rate=0.2)


@dataclasses.dataclass(frozen=True)
class GenerateRecipe:
    """A generation recipe: data, tokenizer (characters or musical tokens), embedding, recurrent stack
    (`decoder`), windows (`model`), sampling (`decoding`), training."""

    # Round 2 names the sections alike across tasks; recipes and bundles written before keep loading.
    renamed_keys: ClassVar[dict[str, str]] = {"rnn": "decoder", "sample": "decoding"}

    task: str = "generate"
    seed: int = 42
    data: TextDataConfig = dataclasses.field(default_factory=TextDataConfig)
    tokenizer: sections.TokenizerConfig = dataclasses.field(
        default_factory=lambda: sections.TokenizerConfig(kind="char", vocab_size=1000, lowercase=False))
    embedding: sections.EmbeddingConfig = dataclasses.field(
        default_factory=lambda: sections.EmbeddingConfig(dim=64))
    decoder: sections.RecurrentConfig = dataclasses.field(default_factory=_default_decoder)
    model: LanguageModelConfig = dataclasses.field(default_factory=LanguageModelConfig)
    decoding: SamplingConfig = dataclasses.field(default_factory=SamplingConfig)
    training: sections.TrainingConfig = dataclasses.field(
        default_factory=lambda: sections.TrainingConfig(epochs=20, batch_size=64, learning_rate=0.002,
                                                       bucketing=False, early_stopping_patience=3))

    def validate(self) -> None:
        """Raise `UserError` for window lengths out of range or options a language model cannot use (each
        section checks its own ranges: `rnnapps.sections`)."""
        where = sections.WHERE
        if self.tokenizer.kind not in ("char", "abc"):
            raise UserError(f"{where}: tokenizer.kind = {self.tokenizer.kind!r}, but generation reads characters "
                            "(kind = \"char\") or, for tunes in ABC notation, musical tokens (kind = \"abc\")")
        if self.tokenizer.kind == "abc" and self.tokenizer.lowercase:
            raise UserError(f"{where}: tokenizer.lowercase = true folds pitch away (in ABC, C is an octave below "
                            "c); set it to false for musical tokens")
        if self.decoder.bidirectional:
            raise UserError(f"{where}: decoder.bidirectional = true cannot generate text (a language model may "
                            "only read what comes before); set it to false")
        if self.embedding.pretrained_path:
            raise UserError(f"{where}: embedding.pretrained_path is for word vectors; a character model "
                            "learns its embedding, leave it empty")
        sections.check_range(where, "model.sequence_length", self.model.sequence_length, 2, 100_000)


def check_sampling(length: int, temperature: float, top_k: int, top_p: float, where: str = "") -> None:
    """Raise `UserError` for sampling settings out of range; `where` prefixes the setting's name.

    (`rnnapps.decoding.Sampling` checks the same ranges with ValueErrors; these messages name the setting
    as the recipe and the command line spell it, and also check the length.)
    """
    if not 0 <= length <= MAX_SAMPLE_LENGTH:
        raise UserError(f"{where}length = {length} must be between 0 and {MAX_SAMPLE_LENGTH} tokens (characters, "
                        "for a character model)")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise UserError(f"{where}temperature = {temperature} must be > 0 (try 0.5 to 1.2; lower is more "
                        "conservative)")
    if top_k < 0:
        raise UserError(f"{where}top_k = {top_k} must be >= 0 (0 = no top-k filter)")
    if not 0 < top_p <= 1:
        raise UserError(f"{where}top_p = {top_p} must be in (0, 1] (1 = no nucleus filter)")
