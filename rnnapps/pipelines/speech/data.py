"""Recordings with transcripts, read at the model's sample rate and split so that a speaker (or any group) is
never in two splits; connected speech made by joining recordings of one speaker.

Audio is read into memory (mono float32 at `features.sample_rate`): 20 minutes at 16 kHz is 77 MB. Rows whose
audio is missing or unreadable, or whose normalised transcript is empty, are left out with a warning that counts
them and names the first (LJ Speech's transcripts without audio are counted in an info line: that subset ships
text-only transcripts on purpose).
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib

import numpy as np

from rnnapps.datasets import audio, splits
from rnnapps.errors import UserError
from rnnapps.pipelines.speech import demo_data, formats, text
from rnnapps.pipelines.speech import recipe as recipes

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Utterances:
    """Recordings at the model's rate with their normalised transcripts.

    Attributes:
        audio: float32 [samples] per recording.
        texts: normalised transcripts.
        names: how results name each recording.
        groups: the speaker (or other group) of each ("" = none).
        joined: True for a recording made by joining several (connected speech).
    """

    audio: list[np.ndarray]
    texts: list[str]
    names: list[str]
    groups: list[str]
    joined: list[bool]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> Utterances:
        """The recordings at `indices`, in that order."""
        indices = [int(i) for i in indices]
        return Utterances(*([values[i] for i in indices] for values in (self.audio, self.texts, self.names,
                                                                         self.groups, self.joined)))

    def __add__(self, other: Utterances) -> Utterances:
        return Utterances(self.audio + other.audio, self.texts + other.texts, self.names + other.names,
                          self.groups + other.groups, self.joined + other.joined)

    def total_seconds(self, rate: int) -> float:
        """Total duration of the recordings at `rate` samples per second."""
        return sum(len(samples) for samples in self.audio) / rate


@dataclasses.dataclass
class SpeechSplits:
    """The train, validation and test recordings of a recipe."""

    train: Utterances
    validation: Utterances
    test: Utterances


def read_splits(recipe: recipes.SpeechRecipe) -> SpeechSplits:
    """The recipe's recordings, normalised, resampled, split by group (or seeded), with joined recordings added.

    Raises:
        UserError: an unreadable source, or no usable recording left.
    """
    config, rate = recipe.data, recipe.features.sample_rate
    format = formats.detect_format(config)
    if format == "demo":
        found, split_names = _demo(config, rate), []
    else:
        found, split_names = _read(formats.read_entries(config, format), recipe, format)
    if config.max_utterances and len(found) > config.max_utterances:
        chosen = np.sort(np.random.default_rng(recipe.seed).permutation(len(found))[:config.max_utterances])
        found, split_names = found.subset(chosen), [split_names[i] for i in chosen] if split_names else []
    train, validation, test = _split(found, split_names or [""] * len(found), config, recipe.seed)
    if config.max_train_minutes:
        train = _first_minutes(train, config.max_train_minutes, rate, recipe.seed)
    for extra in config.extra_train:
        train = train + _extra_training(recipe, extra)
    longest = int(config.max_seconds * rate)
    train, validation = (_shorter_than(part, longest, name) for part, name in ((train, "training"),
                                                                               (validation, "validation")))
    if config.join_min:
        rng = np.random.default_rng(recipe.seed + 7)
        count = config.joined_per_split
        train = train + join(train, count, config, rate, rng)
        validation = validation + join(validation, max(count // 5, 1), config, rate, rng)
        test = test + join(test, max(count // 5, 1), config, rate, rng)
    if not len(train):
        raise UserError(f"data.source = {config.source!r}: no training recordings are left; check the split settings")
    return SpeechSplits(train, validation, test)


def language_model_text(recipe: recipes.SpeechRecipe, read: SpeechSplits | None = None) -> list[str]:
    """Normalised transcripts to train a character language model on for fusion (one per line of its text): the
    training split's (joined ones included) and those of rows without audio (LJ Speech's text-only
    transcripts), never a validation or test recording's, nor a row of a held-out group.

    Args:
        recipe: the speech recipe (its data source, split and text normalisation).
        read: the recipe's splits when already read (`read_splits`).
    """
    parts = read or read_splits(recipe)
    format = formats.detect_format(recipe.data)
    if format == "demo":
        return list(parts.train.texts)
    held_out_groups = (set(parts.validation.groups) | set(parts.test.groups)) - set(parts.train.groups)
    text_only = [text.normalise(entry.text, recipe.text) for entry in formats.read_entries(recipe.data, format)
                 if isinstance(entry.audio, str) and not pathlib.Path(entry.audio).exists()
                 and entry.group not in held_out_groups]
    return list(parts.train.texts) + [line for line in text_only if line]


def read_utterances(recipe: recipes.SpeechRecipe, source: str) -> Utterances:
    """Every recording of `source` (in the recipe's format settings), unsplit: for `evaluate --data`."""
    config = dataclasses.replace(recipe.data, source=source, format="auto", test_groups=(), validation_groups=(),
                                 max_utterances=0)
    format = formats.detect_format(config)
    if format == "demo":
        return _demo(config, recipe.features.sample_rate)
    return _read(formats.read_entries(config, format), dataclasses.replace(recipe, data=config), format)[0]


def _first_minutes(part: Utterances, minutes: float, rate: int, seed: int) -> Utterances:
    """A seeded choice of `part`'s recordings holding at most `minutes` of audio (at least one recording)."""
    order = np.random.default_rng(seed + 11).permutation(len(part))
    lengths = np.cumsum([len(part.audio[index]) for index in order])
    kept = max(int(np.searchsorted(lengths, minutes * 60 * rate, side="right")), 1)
    chosen = part.subset(np.sort(order[:kept]))
    log.info("training on %d of %d recordings (%.1f of %.1f min: data.max_train_minutes)", len(chosen), len(part),
             chosen.total_seconds(rate) / 60, part.total_seconds(rate) / 60)
    return chosen


def _extra_training(recipe: recipes.SpeechRecipe, source: str) -> Utterances:
    """Every recording of `source`, read with the recipe's data settings, for the training split only."""
    config = dataclasses.replace(recipe.data, source=source, test_groups=(), validation_groups=(), max_utterances=0,
                                 extra_train=())
    format = formats.detect_format(config)
    if format == "demo":
        raise UserError(f"data.extra_train = {source!r}: name recordings to add, not the demo data")
    found = _read(formats.read_entries(config, format), dataclasses.replace(recipe, data=config), format)[0]
    log.info("%d extra training recordings (%.1f min) from %s", len(found),
             found.total_seconds(recipe.features.sample_rate) / 60, source)
    return found


def _demo(config: recipes.SpeechDataConfig, rate: int) -> Utterances:
    generated = demo_data.generate(config.demo_utterances, config.demo_seed)
    return Utterances([np.asarray(audio.resample(u.samples, demo_data.RATE, rate)) for u in generated],
                      [u.text for u in generated], [f"demo {i + 1}" for i in range(len(generated))],
                      [u.speaker for u in generated], [False] * len(generated))


def _read(entries: list[formats.Entry], recipe: recipes.SpeechRecipe, format: str) -> tuple[Utterances, list[str]]:
    """Read and resample the audio of every entry; leave out (and count) the unusable ones.

    Returns:
        (the usable recordings, the source's split of each: "train", "validation", "test" or "").
    """
    from tqdm import tqdm

    rate = recipe.features.sample_rate
    kept, split_names = Utterances([], [], [], [], []), []
    problems: dict[str, list[str]] = {}
    for entry in tqdm(entries, desc="reading audio", unit="file", leave=False, disable=len(entries) < 200):
        transcript = text.normalise(entry.text, recipe.text)
        if not transcript:
            problems.setdefault("an empty transcript", []).append(entry.name)
            continue
        if isinstance(entry.audio, tuple):
            samples, source_rate = entry.audio
            samples = np.asarray(audio.resample(samples, int(source_rate), rate))
        else:
            try:
                samples = audio.read_at_rate(entry.audio, rate, max_seconds=0)
            except UserError as error:
                missing = "no such audio file" in str(error)
                problems.setdefault("no audio file" if missing else "unreadable audio", []).append(str(error))
                continue
        kept.audio.append(samples)
        kept.texts.append(transcript)
        kept.names.append(entry.name)
        kept.groups.append(entry.group)
        kept.joined.append(False)
        split_names.append(entry.split)
    for problem, names in problems.items():
        text_only = format == "ljspeech" and problem == "no audio file"
        (log.info if text_only else log.warning)(
            "%d of %d transcripts left out: %s (first: %s)%s", len(names), len(entries), problem, names[0],
            "; LJ Speech subsets ship transcripts without audio" if text_only else "")
    if not len(kept):
        raise UserError(f"data.source = {recipe.data.source!r}: none of its {len(entries)} recordings could be used "
                        f"({'; '.join(problems)})")
    return kept, split_names


def _split(found: Utterances, split_names: list[str], config: recipes.SpeechDataConfig, seed: int):
    """(train, validation, test): named groups first, then the source's own splits, then seeded shares of the
    groups (of the recordings when there are none)."""
    named = {"test": set(config.test_groups), "validation": set(config.validation_groups)}
    for split, wanted in named.items():
        unknown = wanted - set(found.groups)
        if unknown:
            raise UserError(f"data.{split}_groups names {sorted(unknown)}, which no recording has; the groups are "
                            f"{sorted(set(found.groups))[:20]}")
    parts: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for index, group in enumerate(found.groups):
        chosen = next((split for split, wanted in named.items() if group in wanted), split_names[index] or "train")
        parts[chosen].append(index)
    present = {"train": found.subset(parts["train"])}
    for split in ("validation", "test"):
        if parts[split] or named[split] or any(name == split for name in split_names):
            present[split] = found.subset(parts[split])
    has_groups = any(found.groups) and config.carve_by == "group"
    splits.check_fractions(config.validation_fraction, config.test_fraction)
    return splits.carve_missing_splits(present, config.test_fraction, config.validation_fraction, seed,
                                       group_keys=(lambda part: part.groups) if has_groups else None)


def _shorter_than(part: Utterances, longest: int, name: str) -> Utterances:
    keep = [index for index, samples in enumerate(part.audio) if len(samples) <= longest]
    if len(keep) < len(part):
        log.warning("%d %s recordings longer than data.max_seconds left out", len(part) - len(keep), name)
    return part.subset(keep)


def join(part: Utterances, count: int, config: recipes.SpeechDataConfig, rate: int,
         rng: np.random.Generator) -> Utterances:
    """`count` recordings of connected speech: join_min..join_max recordings of one group (a group as likely as
    its share of the recordings, so many small groups, such as synthetic voices, do not crowd out the rest), in
    random order, separated by up to join_gap_seconds of silence; their transcripts joined by spaces."""
    single = [index for index, joined in enumerate(part.joined) if not joined]
    by_group: dict[str, list[int]] = {}
    for index in single:
        by_group.setdefault(part.groups[index], []).append(index)
    made = Utterances([], [], [], [], [])
    if not single:
        return made
    gap = int(config.join_gap_seconds * rate)
    for number in range(count):
        members = by_group[part.groups[single[rng.integers(len(single))]]]
        chosen = rng.choice(members, size=int(rng.integers(config.join_min, config.join_max + 1)))
        pieces = []
        for position, index in enumerate(chosen):
            if position:
                pieces.append(np.zeros(int(rng.integers(0, gap + 1)), np.float32))
            pieces.append(part.audio[index])
        made.audio.append(np.concatenate(pieces))
        made.texts.append(" ".join(part.texts[index] for index in chosen))
        made.names.append(f"joined {number + 1} ({' + '.join(part.names[index] for index in chosen)})")
        made.groups.append(part.groups[chosen[0]])
        made.joined.append(True)
    return made
