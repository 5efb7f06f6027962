"""The transcript formats a speech recipe reads, each to a list of `Entry` (audio location, transcript, group):
LJ Speech's metadata.csv, LibriSpeech's *.trans.txt, CSV/TSV/JSONL tables, file names that hold the transcript,
and TFDS datasets. Audio is read later (`rnnapps.pipelines.speech.data`).
"""

from __future__ import annotations

import dataclasses
import pathlib
import re

import numpy as np

from rnnapps.datasets import audio, files, tfds_source
from rnnapps.errors import UserError
from rnnapps.pipelines.speech import recipe as recipes


@dataclasses.dataclass(frozen=True)
class Entry:
    """One recording before its audio is read.

    Attributes:
        name: how messages and results name it (the file path, or "tfds:NAME/split/N").
        audio: an audio file path, or (float32 samples [samples], rate) already decoded (TFDS).
        text: the transcript as written in the source (normalised later).
        group: the speaker or other grouping ("" = none).
        split: the source's own split ("train", "validation", "test"), or "" when it has none.
    """

    name: str
    audio: str | tuple[np.ndarray, int]
    text: str
    group: str = ""
    split: str = ""


def detect_format(config: recipes.SpeechDataConfig) -> str:
    """The format of `config.source` (config.format unless "auto").

    Raises:
        UserError: a missing source, or one whose format cannot be told (says which formats there are).
    """
    if config.format != "auto":
        return config.format
    if kind := files.named_kind(config.source):
        return kind
    path = files.existing_path(config.source)
    if path.is_dir():
        if (path / "metadata.csv").is_file():
            return "ljspeech"
        if next(path.rglob("*.trans.txt"), None) is not None:
            return "librispeech"
        if config.filename_pattern:
            return "filenames"
        raise UserError(f"data.source = {config.source!r}: a folder without metadata.csv (LJ Speech) or *.trans.txt "
                        "(LibriSpeech); for audio files whose names hold the transcript set data.filename_pattern "
                        "(e.g. '{text}_{speaker}_{take}')")
    suffix = path.suffix.lower()
    if path.name == "metadata.csv":
        return "ljspeech"
    if suffix in (".csv", ".tsv", ".jsonl"):
        return suffix[1:]
    raise UserError(f"data.source = {config.source!r}: cannot tell its format from the name; set data.format to one "
                    f"of {', '.join(recipes.FORMATS[1:])}")


def read_entries(config: recipes.SpeechDataConfig, format: str) -> list[Entry]:
    """Every recording the source names, in the source's order (demo data is made in `data`)."""
    readers = {"ljspeech": _ljspeech, "librispeech": _librispeech, "csv": _table, "tsv": _table, "jsonl": _table,
               "filenames": _filenames, "tfds": _tfds}
    return readers[format](config, format)


def _audio_path(name: str, folder: pathlib.Path) -> str:
    path = pathlib.Path(name).expanduser()
    return str(path if path.is_absolute() else folder / path)


def _ljspeech(config: recipes.SpeechDataConfig, format: str) -> list[Entry]:
    """metadata.csv: `id|transcript|normalized transcript` lines (CRLF line ends); audio in wavs/ID.wav."""
    path = files.existing_path(config.source)
    table = path / "metadata.csv" if path.is_dir() else path
    folder = pathlib.Path(config.audio_dir) if config.audio_dir else table.parent / "wavs"
    columns = {"text": 1, "transcript": 1, "normalized": 2, "normalised": 2}
    if config.text_column not in columns:
        raise UserError(f"data.text_column = {config.text_column!r}: LJ Speech's columns are 'text' (as written) "
                        "and 'normalized' (numbers and abbreviations spelt out)")
    entries = []
    for number, line in files.read_lines(table):
        fields = line.rstrip("\r\n").split("|")
        if len(fields) < 3:
            raise UserError(f"{table} line {number}: expected 'id|transcript|normalized transcript', got {line[:60]!r}")
        text = fields[columns[config.text_column]] or fields[1]
        entries.append(Entry(f"{folder / fields[0]}.wav", f"{folder / fields[0]}.wav", text))
    return entries


def _librispeech(config: recipes.SpeechDataConfig, format: str) -> list[Entry]:
    """Folders of `*.trans.txt` (`ID transcript` lines) beside ID.flac; the speaker is ID's first field."""
    entries = []
    for table in sorted(files.existing_path(config.source).rglob("*.trans.txt")):
        for _, line in files.read_lines(table):
            identifier, _, text = line.strip().partition(" ")
            if not identifier:
                continue
            found = [table.parent / f"{identifier}{suffix}" for suffix in (".flac", ".wav")]
            location = next((str(path) for path in found if path.is_file()), str(found[0]))
            entries.append(Entry(location, location, text, identifier.split("-")[0]))
    return entries


def _table(config: recipes.SpeechDataConfig, format: str) -> list[Entry]:
    """CSV/TSV with a header row, or JSONL: an audio path and a transcript per row (and a group column)."""
    path = files.existing_path(config.source)
    folder = pathlib.Path(config.audio_dir) if config.audio_dir else path.parent
    if format == "jsonl":
        rows = ((number, row) for number, row in files.read_jsonl(path))
    else:
        lines = files.read_delimited(path, "\t" if format == "tsv" else ",")
        _, header = next(lines, (0, []))
        rows = ((number, dict(zip(header, values))) for number, values in lines)
    entries = []
    for number, row in rows:
        for column in (config.audio_column, config.text_column):
            if column not in row:
                found = ", ".join(map(str, row)) or "none"
                raise UserError(f"{path} line {number}: no {column!r} column (found {found}); set data.audio_column "
                                "and data.text_column")
        group = str(row.get(config.group_column, "")) if config.group_column else ""
        location = _audio_path(str(row[config.audio_column]), folder)
        entries.append(Entry(location, location, str(row[config.text_column] or ""), group))
    return entries


def pattern_regex(pattern: str) -> re.Pattern:
    """`data.filename_pattern` ("{text}_{speaker}_{take}") as a regular expression with one named group per
    field; fields match as little as they can, so "_" separates them."""
    parts = re.split(r"\{(\w+)\}", pattern)
    if "text" not in parts[1::2]:
        raise UserError(f"data.filename_pattern = {pattern!r} has no {{text}} field")
    regex = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)" for index, part in enumerate(parts))
    return re.compile(f"^{regex}$")


def _filenames(config: recipes.SpeechDataConfig, format: str) -> list[Entry]:
    """A folder of audio files named by `filename_pattern`; {speaker} (or group_column's field) groups them."""
    folder = files.existing_path(config.source)
    regex = pattern_regex(config.filename_pattern or "{text}")
    group_field = config.group_column or "speaker"
    entries = []
    for path in audio.audio_files(folder):
        match = regex.match(path.stem)
        if match is None:
            raise UserError(f"{path}: the name does not match data.filename_pattern = {config.filename_pattern!r}")
        entries.append(Entry(str(path), str(path), match["text"], match.groupdict().get(group_field) or ""))
    if not entries:
        raise UserError(f"data.source = {config.source!r}: no audio files ({', '.join(audio.AUDIO_SUFFIXES)})")
    return entries


def _tfds(config: recipes.SpeechDataConfig, format: str) -> list[Entry]:
    """A TFDS audio dataset: "audio" samples, the transcript in "text" (LibriSpeech) or a class "label"
    (Speech Commands: its name is the transcript), the speaker in "speaker_id" when there is one."""
    name = config.source.removeprefix("tfds:")
    splits, info = tfds_source.load_splits(name, config.tfds_data_dir)
    features = info.features
    rate = int(getattr(features["audio"], "sample_rate", None) or 16000)
    label_names = features["label"].names if "label" in features else None
    entries = []
    for split_name, examples in splits.items():
        split = tfds_source.SPLIT_NAMES.get(split_name)
        if split is None:
            continue
        for index, example in enumerate(examples):
            samples = np.asarray(example["audio"])
            if samples.dtype.kind == "i":
                samples = samples / float(np.iinfo(samples.dtype).max)
            samples = samples.reshape(len(samples), -1).mean(axis=1).astype(np.float32)
            if "text" in example:
                text = tfds_source.decode_text(example["text"])
            elif label_names is not None:
                text = label_names[int(example["label"])]
            else:
                raise UserError(f"TFDS dataset {name!r} has neither a 'text' nor a 'label' feature")
            group = tfds_source.decode_text(example["speaker_id"]) if "speaker_id" in example else ""
            entries.append(Entry(f"tfds:{name}/{split_name}/{index}", (samples, rate), text, group, split))
    return entries

