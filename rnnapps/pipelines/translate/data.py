"""The translation task's data: parallel sentence pairs from Anki/Tatoeba TSV files, two line-aligned text
files, TFDS translation datasets and the demo generator (`demo_data`), split reproducibly so that no source
sentence is in two splits."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Literal

from rnnapps.datasets import files, splits, tfds_source
from rnnapps.errors import UserError
from rnnapps.pipelines.translate import demo_data
from rnnapps.pipelines.translate import pairs as pair_types

# The data types live in `pairs` (shared with `demo_data`); they are part of this module's interface.
SentencePairs = pair_types.SentencePairs
TranslationSplits = pair_types.TranslationSplits

FORMATS = ("auto", "tsv", "parallel_files", "tfds", "demo")
TSV_SUFFIXES = (".tsv", ".txt", ".tab")


@dataclasses.dataclass(frozen=True)
class ParallelDataConfig:
    """Where sentence pairs come from, which side is the source, and how they are split.

    Attributes:
        source: an Anki/Tatoeba file (.tsv/.txt/.tab with `english<TAB>other[<TAB>attribution]`
            lines, e.g. spa.txt); the source-language file of two parallel files (see
            `target_source`); "tfds:NAME" (e.g. "tfds:ted_hrlr_translate/pt_to_en"); or
            "demo:translation" (generated toy data, see `demo_data`: English -> a made-up verb-final
            language).
        target_source: "" unless the pairs are two parallel files: then `source` is the
            source-language file and this the target-language file, one sentence per line, line N
            of one translating line N of the other.
        validation_source, test_source: a corpus's own validation and test files, in the format of
            `source` (with two parallel files: the source-language file of the split, its target-language
            file in `validation_target_source` / `test_target_source`). A split given here is used as it
            is; only the missing ones are carved from the training pairs (Multi30k, WMT and IWSLT ship
            train/valid/test files). Not for TFDS and demo sources, which bring their own splits.
        validation_target_source, test_target_source: the target-language files of those splits.
        format: "auto" guesses it (a "tfds:" or "demo:" prefix, a `target_source` means
            parallel_files, a .tsv/.txt/.tab file means tsv); or one of tsv, parallel_files, tfds, demo.
        source_column: 0-based TSV column of the source sentence. With the defaults spa.txt
            (english<TAB>spanish) is read as Spanish -> English; swap the two columns for
            English -> Spanish. Further columns (Anki's attribution) are ignored.
        target_column: 0-based TSV column of the target sentence.
        source_language: TFDS feature holding the source language, e.g. "pt" (required for TFDS).
        target_language: TFDS feature holding the target language, e.g. "en" (required for TFDS).
        encoding: text encoding of local files.
        validation_fraction: share of the distinct source sentences held out for validation when the
            source has no validation split.
        test_fraction: share of the distinct source sentences held out for test when the source has
            no test split. Both shares are of all pairs read (90/5/5 with the defaults).
        max_examples: keep at most this many pairs of each split the source has (a local file or the
            demo has one), a random subset chosen with the seed, before validation and test are
            carved; 0 = all. For quick runs.
        max_length: source tokens the model reads when it translates: longer inputs are truncated to
            this many (in `predict`, `evaluate` and the SavedModel). Unless `max_pair_length` is set it
            is also the longest training pair kept. Applied on token ids; reading keeps every pair.
        max_pair_length: training and validation pairs are dropped when the source has more than this
            many tokens, the target with END more than this many, or either side none; 0 = max_length
            (the behaviour of recipes written before this field existed).
        tfds_data_dir: TFDS data directory ("" = the TFDS default).
    """

    source: str = "demo:translation"
    target_source: str = ""
    validation_source: str = ""
    validation_target_source: str = ""
    test_source: str = ""
    test_target_source: str = ""
    format: Literal["auto", "tsv", "parallel_files", "tfds", "demo"] = "auto"
    source_column: int = 1
    target_column: int = 0
    source_language: str = ""
    target_language: str = ""
    encoding: str = "utf-8"
    validation_fraction: float = 0.05
    test_fraction: float = 0.05
    max_examples: int = 0
    max_length: int = 0
    max_pair_length: int = 0
    tfds_data_dir: str = ""


def resolve_format(config: ParallelDataConfig) -> str:
    """The reader to use for `config.source` when `config.format` is "auto".

    Args:
        config: the recipe's data section (`source`, `target_source` and `format` are looked at).

    Returns:
        One of tsv, parallel_files, tfds, demo.
    """
    if config.format != "auto":
        return config.format
    if files.named_kind(config.source):
        return files.named_kind(config.source)
    if config.target_source:
        return "parallel_files"
    if config.source.lower().endswith(TSV_SUFFIXES):
        return "tsv"
    files.existing_path(config.source)  # a missing source is reported as missing, whatever its name
    raise UserError(
        f"data.source = {config.source!r}: cannot tell its format from the name; set data.format to one of "
        f"{', '.join(FORMATS[1:])}"
    )


def read_splits(config: ParallelDataConfig, seed: int) -> TranslationSplits:
    """Read the sentence pairs a recipe names and split them reproducibly.

    Splits the source has (TFDS train / validation (or valid, dev) / test, or the recipe's
    validation_source / test_source files) are used as they are.
    Missing validation and test splits are carved from the training pairs grouped by source sentence,
    so that no source sentence is in two of them (spa.txt has many sentences with several
    translations). TFDS pairs with an empty side are skipped; in local files they are an error.

    Args:
        config: the recipe's data section.
        seed: split seed; the same seed gives the same splits (and the same `max_examples` subset).

    Returns:
        The train, validation and test pairs, each in source order.

    Raises:
        UserError: the configuration is inconsistent, or the source is missing, empty or malformed
            (naming the file and line).
    """
    _check(config)
    format = resolve_format(config)
    found = _read_source(config, format)
    if config.max_examples:
        found = {split: pairs.subset(splits.sample_indices(len(pairs), config.max_examples, seed + 2))
                 for split, pairs in found.items()}
    train = found.get("train")
    if train is None or len(train) == 0:
        raise UserError(f"data.source = {config.source!r} has no training pairs (splits found: {sorted(found)})")
    # Both fractions are shares of all pairs; a source sentence never lands in two splits.
    train, validation, test = splits.carve_missing_splits(found, config.test_fraction, config.validation_fraction,
                                                          seed, group_keys=lambda pairs: pairs.sources)
    return TranslationSplits(train, validation, test)


def _check(config: ParallelDataConfig) -> None:
    """Reject settings that contradict each other before any data is read."""
    if config.format not in FORMATS:
        raise UserError(f"data.format = {config.format!r} is not one of {', '.join(FORMATS)}")
    splits.check_fractions(config.validation_fraction, config.test_fraction)
    if config.max_examples < 0:
        raise UserError(f"data.max_examples = {config.max_examples}: expected 0 (all) or a positive count")
    if config.source_column < 0 or config.target_column < 0 or config.source_column == config.target_column:
        raise UserError(f"data.source_column = {config.source_column} and data.target_column = "
                        f"{config.target_column}: expected two different 0-based column numbers")


def _read_source(config: ParallelDataConfig, format: str) -> dict[str, SentencePairs]:
    if config.target_source and format != "parallel_files":
        raise UserError(f"data.target_source = {config.target_source!r} is only read with data.format = "
                        f"'parallel_files', but the format is {format!r}; clear data.target_source or set "
                        "data.format = 'parallel_files'")
    split_files = [f"data.{field}" for field in ("validation_source", "validation_target_source", "test_source",
                                                  "test_target_source") if getattr(config, field)]
    if split_files and format in ("demo", "tfds"):
        raise UserError(f"{split_files[0]} is set, but a {format} source brings its own splits; clear it, or "
                        "give data.source as a local file")
    if format == "demo":
        return {"train": demo_data.sentence_pairs(config.source.removeprefix("demo:"))}
    if format == "tfds":
        return _read_tfds(config)
    found = {"train": _read_local(config, format, "")}
    for split in ("validation", "test"):
        if getattr(config, f"{split}_source"):
            found[split] = _read_local(config, format, f"{split}_")
    return found


def _read_local(config: ParallelDataConfig, format: str, split_prefix: str) -> SentencePairs:
    """The pairs of one split's local file(s): `data.{split_prefix}source` (and its target file)."""
    source_field, target_field = f"{split_prefix}source", f"{split_prefix}target_source"
    source, target = getattr(config, source_field), getattr(config, target_field)
    if format == "parallel_files":
        if not target:
            raise UserError(f"data.{target_field} is empty: with data.format = 'parallel_files' set it to the "
                            f"target-language file (line N translates line N of data.{source_field})")
        source_path = _existing_file(source, f"data.{source_field}")
        target_path = _existing_file(target, f"data.{target_field}")
        return _read_parallel_files(source_path, target_path, config.encoding)
    if target:
        raise UserError(f"data.{target_field} = {target!r} is only read with two parallel files (data.format = "
                        f"'parallel_files'); a {format} file holds both sides: clear data.{target_field}")
    return _read_tsv(_existing_file(source, f"data.{source_field}"), config)


def _existing_file(source: str, field: str) -> pathlib.Path:
    path = files.existing_path(source, field)
    if path.is_dir():
        raise UserError(f"{field} = {source!r} is a folder; expected a text file of sentence pairs")
    return path


def _read_tsv(path: pathlib.Path, config: ParallelDataConfig) -> SentencePairs:
    source_column, target_column = config.source_column, config.target_column
    needed = max(source_column, target_column) + 1
    pairs = SentencePairs([], [])
    for number, row in files.read_delimited(path, "\t", config.encoding):  # skips blank lines
        if len(row) < needed:
            raise UserError(
                f"{path} line {number}: found {len(row)} column{'s' if len(row) != 1 else ''}, expected source "
                f"in column {source_column} and target in column {target_column} (0-based; set "
                "data.source_column and data.target_column)"
            )
        source, target = row[source_column].strip(), row[target_column].strip()
        for side, column, text in (("source", source_column, source), ("target", target_column, target)):
            if not text:
                raise UserError(f"{path} line {number}: the {side} sentence (column {column}) is empty; "
                                "fill it in or delete the line")
        pairs.sources.append(source)
        pairs.targets.append(target)
    if not len(pairs):
        raise UserError(f"{path} is empty: expected one sentence pair per line, source in column "
                        f"{source_column} and target in column {target_column}, separated by tabs")
    return pairs


def _sentence_lines(path: pathlib.Path, encoding: str) -> list[str]:
    """The stripped lines of a one-sentence-per-line file, without the blank lines at its end (editors
    often add one, and it must not make two parallel files differ in length)."""
    lines = [line.strip() for _, line in files.read_lines(path, encoding)]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise UserError(f"{path} is empty: expected one sentence per line")
    return lines


def _read_parallel_files(source_path: pathlib.Path, target_path: pathlib.Path, encoding: str) -> SentencePairs:
    sources = _sentence_lines(source_path, encoding)
    targets = _sentence_lines(target_path, encoding)
    if len(sources) != len(targets):
        raise UserError(f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}; line N "
                        "of one file must translate line N of the other")
    pairs = SentencePairs([], [])
    for number, (source, target) in enumerate(zip(sources, targets), start=1):
        if not source and not target:
            continue  # a blank line on both sides separates nothing
        if not source or not target:
            empty, other = (source_path, target_path) if not source else (target_path, source_path)
            raise UserError(f"{empty} line {number} is empty but {other} line {number} is not; give both "
                            "files a sentence on that line or delete it from both")
        pairs.sources.append(source)
        pairs.targets.append(target)
    return pairs


def _read_tfds(config: ParallelDataConfig) -> dict[str, SentencePairs]:
    name = config.source.removeprefix("tfds:")
    datasets, info = tfds_source.load_splits(name, config.tfds_data_dir)
    languages = sorted(info.features)
    for field in ("source_language", "target_language"):
        value = getattr(config, field)
        if not value:
            raise UserError(f"data.{field} is empty: a TFDS source needs it; TFDS dataset {name!r} has the "
                            f"features {languages}")
        if value not in info.features:
            raise UserError(f"data.{field} = {value!r}: TFDS dataset {name!r} has no such feature; it has "
                            f"{languages}")
    found: dict[str, SentencePairs] = {}
    for split, dataset in datasets.items():
        if split not in tfds_source.SPLIT_NAMES:
            continue
        pairs = found.setdefault(tfds_source.SPLIT_NAMES[split], SentencePairs([], []))
        for record in dataset:
            source = _decode(record[config.source_language]).strip()
            target = _decode(record[config.target_language]).strip()
            if source and target:  # a published dataset cannot be fixed by the user: skip its empty pairs
                pairs.sources.append(source)
                pairs.targets.append(target)
    return found


def _decode(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)

