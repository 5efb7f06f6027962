"""Reading local files with errors that name the file and line: text lines, CSV/TSV, JSONL, and
text files laid out in folders (a directory or a .tar.gz of one)."""

from __future__ import annotations

import csv
import json
import pathlib
import sys
import tarfile
from collections.abc import Iterator
from typing import Any

from rnnapps.errors import UserError

# Folder layouts may nest examples under split folders with these names.
SPLIT_FOLDER_NAMES = {"train": "train", "test": "test", "validation": "validation", "valid": "validation",
                      "val": "validation", "dev": "validation"}
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def named_kind(source: str) -> str | None:
    """"tfds" for a source written "tfds:NAME" (a TensorFlow Datasets name), "demo" for "demo:NAME" (data a task
    generates itself), None for a path: the rule every task's format detection starts with."""
    for kind in ("tfds", "demo"):
        if source.startswith(f"{kind}:"):
            return kind
    return None


def existing_path(source: str, field: str = "data.source") -> pathlib.Path:
    """Return `source` as a Path, or raise a UserError that says where it was looked for.

    Relative paths are resolved from the current directory.
    """
    if not source:
        raise UserError(f"{field} is empty: set it to a file or folder (or a TFDS name as tfds:NAME)")
    path = pathlib.Path(source).expanduser()
    if not path.exists():
        raise UserError(f"{field} = {source!r}: no such file or folder (looked in {pathlib.Path.cwd()})")
    return path


def _decoded_lines(path: pathlib.Path, encoding: str) -> Iterator[tuple[int, str]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as error:
                raise UserError(
                    f"{path} line {number}: not valid {encoding} (byte {raw[error.start]:#04x} at column "
                    f"{error.start + 1}); re-save the file as UTF-8 or set data.encoding"
                ) from None
            except LookupError:
                raise UserError(f"data.encoding = {encoding!r} is not a known text encoding") from None
            if number == 1:
                text = text.removeprefix("\ufeff")  # a byte order mark (files saved by Excel, Notepad)
            yield number, text


def read_lines(path: pathlib.Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield (line number, line without its newline) for every line of a text file.

    Raises:
        UserError: a line is not valid in `encoding`.
    """
    for number, line in _decoded_lines(path, encoding):
        yield number, line.rstrip("\r\n")


def read_delimited(path: pathlib.Path, delimiter: str, encoding: str = "utf-8") -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, fields) for each non-blank row of a CSV or TSV file.

    TSV is read without quote handling (a stray quote in a sentence is text); CSV follows RFC 4180.
    """
    if delimiter == "\t":
        for number, line in read_lines(path, encoding):
            if line.strip():
                yield number, line.split("\t")
        return
    lines = (line for _, line in _decoded_lines(path, encoding))
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        for row in reader:
            if any(field.strip() for field in row):
                yield reader.line_num, row
    except csv.Error as error:
        raise UserError(f"{path} line {reader.line_num}: {error}") from None


def read_jsonl(path: pathlib.Path, encoding: str = "utf-8") -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of a JSON Lines file."""
    for number, line in read_lines(path, encoding):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{path} line {number}: not valid JSON ({error.msg})") from None
        if not isinstance(value, dict):
            raise UserError(f"{path} line {number}: expected a JSON object, found {type(value).__name__}")
        yield number, value


def iter_folder_texts(path: pathlib.Path, suffix: str = ".txt") -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Yield (relative path parts, file bytes) for every `suffix` file below a folder or inside a tar
    archive of one, sorted by path so that reading order is reproducible.

    Hidden files and folders (names starting with '.') are skipped.
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob(f"*{suffix}") if p.is_file())
        for file in files:
            parts = file.relative_to(path).parts
            if not any(part.startswith(".") for part in parts):
                yield parts, file.read_bytes()
        return
    if not path.name.endswith(TAR_SUFFIXES):
        raise UserError(f"{path} is neither a folder nor a .tar.gz archive of one")
    try:
        with tarfile.open(path) as archive:
            # Members of a .tar.gz must be read in archive order to avoid re-decompressing.
            found = []
            for member in archive:
                parts = tuple(pathlib.PurePosixPath(member.name).parts)
                if member.isfile() and member.name.endswith(suffix) and not any(p.startswith(".") for p in parts):
                    found.append((parts, archive.extractfile(member).read()))
    except (tarfile.TarError, EOFError, OSError) as error:
        raise UserError(f"{path}: cannot read the archive ({error})") from None
    yield from sorted(found)


def write_tsv(path: str | pathlib.Path, first: list[str], second: list[str]) -> pathlib.Path:
    """Write `first<TAB>second` lines (UTF-8, no header), creating folders, and return the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{a}\t{b}\n" for a, b in zip(first, second)), encoding="utf-8")
    return path


def write_csv(path: str | pathlib.Path, header: list[str], rows: list[list[str]]) -> pathlib.Path:
    """Write a header and rows of plain cells (no commas or quotes inside) as a UTF-8 CSV file, creating its
    folder; returns the path. The demo generators write their tables with it."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(",".join(row) for row in [header, *rows]) + "\n", encoding="utf-8")
    return path


def column_index(header: list[str] | None, column: str | int, field: str, path: pathlib.Path) -> int:
    """The 0-based index of a table column named by a recipe field.

    Args:
        header: the table's header row, or None for a header-less table.
        column: a column name (with a header) or a 0-based index (an int, or digits without a header).
        field: the recipe field that names it (e.g. "text_column"), for messages.
        path: the table file, for messages.

    Raises:
        UserError: a name without a header, or a name the header does not have.
    """
    if isinstance(column, int):
        return column
    if column.isdigit() and header is None:
        return int(column)
    if header is None:
        raise UserError(f"data.{field} = {column!r} names a column, but data.header = false; use a 0-based index")
    if column not in header:
        raise UserError(f"{path}: no column {column!r} for data.{field}; the header has {header}")
    return header.index(column)
