"""Sentiment data: (text, label) examples from TFDS, local files or the demo generator, split reproducibly
into train / validation / test."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Literal

from rnnapps.datasets import files, splits, tfds_source
from rnnapps.errors import UserError
from rnnapps.pipelines.sentiment import demo_data

FORMATS = ("auto", "folder", "csv", "tsv", "jsonl", "tfds", "demo")


@dataclasses.dataclass(frozen=True)
class TextClassificationDataConfig:
    """Where labelled texts come from and how they are split.

    Attributes:
        source: a file (.csv/.tsv/.jsonl), a folder with one sub-folder per class (optionally under
            train/ and test/ folders, the aclImdb layout), a .tar.gz of such a folder, "tfds:NAME"
            (e.g. "tfds:imdb_reviews"), or "demo:sentiment" (generated toy data).
        format: "auto" guesses from the source; or one of folder, csv, tsv, jsonl, tfds, demo.
        test_source: optional separate file or folder for the test split (same format).
        text_column: column name (with a header), 0-based index (without), or JSON/TFDS key.
        label_column: likewise for the label; labels may be strings (pos/neg) or numbers (0/1).
        header: CSV/TSV files start with a header row.
        encoding: text encoding of local files.
        labels: the label set in a fixed order; empty = the sorted labels of the training split.
            Folder sources read only these class folders when given. Data whose labels are all numbers
            (0, 1, ...) reads them as these names in order (0 = the first).
        validation_fraction: share of the training data held out for validation.
        test_fraction: share held out for test when the source has no test split.
        max_length: tokens kept per text (longer texts are truncated).
        truncation: keep the "start" or the "end" of a text that is too long.
        tfds_data_dir: TFDS data directory ("" = the TFDS default).
    """

    source: str = "demo:sentiment"
    format: Literal["auto", "folder", "csv", "tsv", "jsonl", "tfds", "demo"] = "auto"
    test_source: str = ""
    text_column: str | int = "text"
    label_column: str | int = "label"
    header: bool = True
    encoding: str = "utf-8"
    labels: tuple[str, ...] = ()
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    max_length: int = 400
    truncation: Literal["start", "end"] = "end"
    tfds_data_dir: str = ""


@dataclasses.dataclass
class LabelledTexts:
    """Parallel lists of texts and their raw (string) labels."""

    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> LabelledTexts:
        """The examples at `indices`, in that order."""
        return LabelledTexts([self.texts[i] for i in indices], [self.labels[i] for i in indices])


@dataclasses.dataclass
class ClassificationSplits:
    """Train / validation / test examples and the label names (position = class id)."""

    train: LabelledTexts
    validation: LabelledTexts
    test: LabelledTexts
    label_names: list[str]

    def label_ids(self, examples: LabelledTexts) -> list[int]:
        """Class ids of `examples.labels`."""
        index = {name: i for i, name in enumerate(self.label_names)}
        return [index[label] for label in examples.labels]


def resolve_format(source: str, format: str) -> str:
    """The reader to use for `source` when `format` is "auto"."""
    if format != "auto":
        return format
    if kind := files.named_kind(source):
        return kind
    lowered = source.lower()
    for suffix, name in ((".csv", "csv"), (".tsv", "tsv"), (".tab", "tsv"), (".jsonl", "jsonl"), (".json", "jsonl")):
        if lowered.endswith(suffix):
            return name
    if lowered.endswith(files.TAR_SUFFIXES) or pathlib.Path(source).is_dir():
        return "folder"
    files.existing_path(source)  # a missing source is reported as missing, whatever its name
    raise UserError(
        f"data.source = {source!r}: cannot tell its format from the name; set data.format to one of "
        f"{', '.join(FORMATS[1:])}"
    )


def read_splits(config: TextClassificationDataConfig, seed: int) -> ClassificationSplits:
    """Read the labelled texts a recipe names and split them reproducibly.

    Args:
        config: the recipe's data section.
        seed: split seed; the same seed gives the same split.

    Returns:
        The splits with label names. Validation is carved from training data; test comes from the
        source's own test split, `test_source`, or is carved from training data.

    Raises:
        UserError: the source is missing, malformed (naming file and line), empty, or has labels
            outside `config.labels`.
    """
    format = resolve_format(config.source, config.format)
    found = _read_source(config, config.source, format)
    if config.test_source:
        found["test"] = _read_source(config, config.test_source, format)["train"]
    train = found.pop("train", None)
    if train is None or len(train) == 0:
        raise UserError(f"data.source = {config.source!r} has no training examples")
    # The label set comes from the whole training source, before validation and test are carved
    # from it, so that a rare label never fails the run depending on where the seed puts it.
    label_names = list(config.labels) or sorted(set(train.labels))
    # The validation share is of what the test split left (kept as it always was: same splits, same seeds).
    train, validation, test = splits.carve_missing_splits({**found, "train": train}, config.test_fraction,
                                                          config.validation_fraction, seed, fractions_of_all=False)
    if config.labels:
        train, validation, test = (_numbered_labels_named(examples, label_names)
                                   for examples in (train, validation, test))
    known = set(label_names)
    for name, examples in (("training", train), ("validation", validation), ("test", test)):
        unknown = sorted(set(examples.labels) - known)
        if unknown:
            raise UserError(
                f"the {name} data has label {unknown[0]!r}, which is not among the labels "
                f"{label_names}; add it to data.labels or fix the data"
            )
    if len(label_names) < 2:
        raise UserError(f"a classifier needs at least two labels; the training data has only {label_names}")
    return ClassificationSplits(train, validation, test, label_names)


def _numbered_labels_named(examples: LabelledTexts, label_names: list[str]) -> LabelledTexts:
    """Numbered labels (0, 1, ...) read as the names data.labels gives them in order (0 = the first), when every
    label of the examples is such a number and none is a name itself: a `sentence<TAB>0|1` file then trains the
    IMDB recipe, whose data.labels = ["neg", "pos"], with 0 = neg and 1 = pos. Other examples are unchanged."""
    found = set(examples.labels)
    numbered = {str(i): name for i, name in enumerate(label_names)}
    if not found or found & set(label_names) or not found <= set(numbered):
        return examples
    return LabelledTexts(examples.texts, [numbered[label] for label in examples.labels])


def _read_source(config: TextClassificationDataConfig, source: str, format: str) -> dict[str, LabelledTexts]:
    if format == "demo":
        return {"train": LabelledTexts(*demo_data.labelled_reviews(source.removeprefix("demo:")))}
    if format == "tfds":
        return read_labelled_texts(
            source.removeprefix("tfds:"), config.text_column, config.label_column, config.tfds_data_dir)
    path = files.existing_path(source, "data.test_source" if source == config.test_source else "data.source")
    if format == "folder":
        found = _read_folder(path, config)
    elif format in ("csv", "tsv"):
        found = {"train": _read_table(path, config, "," if format == "csv" else "\t")}
    elif format == "jsonl":
        found = {"train": _read_jsonl(path, config)}
    else:
        raise UserError(f"data.format = {format!r} is not one of {', '.join(FORMATS)}")
    if not any(len(examples) for examples in found.values()):
        raise UserError(f"{path} has no examples")
    return found


def read_labelled_texts(name: str, text_key: str | int, label_key: str | int, data_dir: str = "") -> dict:
    """Read a TFDS text classification dataset into `LabelledTexts` per split.

    Class-label features are turned into their names (imdb_reviews: "neg", "pos"). Examples whose
    class id is negative are unlabelled (imdb_reviews "unsupervised", the GLUE test splits use -1)
    and are skipped; other splits than train, validation and test are not read.

    Args:
        name: a TFDS name, optionally with config and version ("imdb_reviews", "glue/sst2").
        text_key: the text feature.
        label_key: the label feature (a class label, or a text/number used as is).
        data_dir: TFDS data directory ("" = the TFDS default).

    Returns:
        {"train": LabelledTexts, "test": ..., "validation": ...} for the labelled splits the dataset has.

    Raises:
        UserError: the dataset cannot be loaded or lacks one of the two features.
    """
    datasets, info = tfds_source.load_splits(name, data_dir)
    text_key, label_key = str(text_key), str(label_key)
    for key in (text_key, label_key):
        if key not in info.features:
            raise UserError(f"TFDS dataset {name!r} has no feature {key!r}; it has {sorted(info.features)}")
    names = getattr(info.features[label_key], "names", None)
    found = {}
    for split, dataset in datasets.items():
        if split not in tfds_source.SPLIT_NAMES:
            continue
        examples = LabelledTexts([], [])
        for record in dataset:
            label = record[label_key]
            if names and int(label) < 0:
                continue
            examples.texts.append(tfds_source.decode_text(record[text_key]))
            examples.labels.append(names[int(label)] if names else tfds_source.decode_text(label))
        if len(examples):
            found[tfds_source.SPLIT_NAMES[split]] = examples
    return found


def _read_folder(path: pathlib.Path, config: TextClassificationDataConfig) -> dict[str, LabelledTexts]:
    entries = list(files.iter_folder_texts(path))
    # An archive usually wraps everything in one top folder (aclImdb/...): drop common leading parts,
    # but never the CLASS/file level itself (a folder with a single class keeps its class name).
    while (entries and all(len(parts) >= 2 for parts, _ in entries)
           and any(len(parts) >= 3 for parts, _ in entries) and len({parts[0] for parts, _ in entries}) == 1):
        entries = [(parts[1:], data) for parts, data in entries]
    split_layout = any(len(parts) == 3 and parts[0] in files.SPLIT_FOLDER_NAMES for parts, _ in entries)
    wanted = set(config.labels)
    found: dict[str, LabelledTexts] = {}
    for parts, data in entries:
        if split_layout:
            if len(parts) != 3 or parts[0] not in files.SPLIT_FOLDER_NAMES:
                continue
            split, label = files.SPLIT_FOLDER_NAMES[parts[0]], parts[1]
        else:
            if len(parts) != 2:
                continue
            split, label = "train", parts[0]
        if wanted and label not in wanted:
            continue
        try:
            text = data.decode(config.encoding)
        except UnicodeDecodeError:
            raise UserError(f"{path}: {'/'.join(parts)} is not valid {config.encoding}; re-save it as UTF-8 "
                            "or set data.encoding") from None
        examples = found.setdefault(split, LabelledTexts([], []))
        examples.texts.append(text)
        examples.labels.append(label)
    if not found:
        raise UserError(f"{path} has no class folders with .txt files (expected CLASS/*.txt or SPLIT/CLASS/*.txt)")
    return found


def _read_table(path: pathlib.Path, config: TextClassificationDataConfig, delimiter: str) -> LabelledTexts:
    rows = files.read_delimited(path, delimiter, config.encoding)
    header = None
    if config.header:
        first = next(rows, None)
        if first is None:
            raise UserError(f"{path} is empty")
        header = [name.strip() for name in first[1]]
    text_index = files.column_index(header, config.text_column, "text_column", path)
    label_index = files.column_index(header, config.label_column, "label_column", path)
    needed = max(text_index, label_index) + 1
    examples = LabelledTexts([], [])
    for number, row in rows:
        if len(row) < needed:
            raise UserError(
                f"{path} line {number}: expected at least {needed} columns "
                f"(text in column {text_index}, label in column {label_index}), found {len(row)}"
            )
        label = row[label_index].strip()
        if not label:
            raise UserError(f"{path} line {number}: the label is empty")
        examples.texts.append(row[text_index])
        examples.labels.append(label)
    return examples


def _read_jsonl(path: pathlib.Path, config: TextClassificationDataConfig) -> LabelledTexts:
    examples = LabelledTexts([], [])
    for number, record in files.read_jsonl(path, config.encoding):
        for key in (config.text_column, config.label_column):
            if str(key) not in record:
                raise UserError(f"{path} line {number}: no key {key!r} (keys: {sorted(record)})")
        label = record[str(config.label_column)]
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            raise UserError(f"{path} line {number}: label {label!r} must be a string or an integer")
        text = record[str(config.text_column)]
        if not isinstance(text, str):
            raise UserError(f"{path} line {number}: text {text!r} must be a string")
        examples.texts.append(text)
        examples.labels.append(str(label).strip())
    return examples
