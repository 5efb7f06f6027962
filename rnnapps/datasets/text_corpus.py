"""One running text of unlabelled text for language models: a text file, a folder of them (or a .tar.gz
of one) or a TFDS text dataset, split by position into train and validation. A task may also hand over a
text it makes itself (e.g. generated demo text, see `read_corpus`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from rnnapps.datasets import files, tfds_source
from rnnapps.errors import UserError

# TFDS splits are read in this order: tiny_shakespeare cuts one text into these consecutive pieces.
TFDS_SPLIT_ORDER = ("train", "validation", "test")
MAX_VALIDATION_FRACTION = 0.5


@dataclasses.dataclass(frozen=True)
class TextCorpusConfig:
    """Where the text comes from and how much of its end is held out for validation.

    A task's recipe may subclass it to add a source of its own (e.g. generated demo text, with its
    settings), which the task makes and hands to `read_corpus` (`make_text`).

    Attributes:
        source: a text file (e.g. Tiny Shakespeare's input.txt); a folder of text files, read
            recursively in sorted path order and joined into one text (hidden files are skipped); a
            .tar.gz of such a folder; or "tfds:NAME" (e.g. "tfds:tiny_shakespeare").
        validation_fraction: share of the characters held out for validation, taken from the end
            of the text (the char-rnn convention), in [0, 0.5]; 0 = no validation text.
        encoding: text encoding of local files.
        file_suffix: only files whose names end with this are read from a folder or archive ("" =
            every file); a single file is read whatever its name.
        tfds_data_dir: TFDS data directory ("" = the TFDS default).
        tfds_text_key: TFDS feature holding the text.
    """

    source: str
    validation_fraction: float = 0.1
    encoding: str = "utf-8"
    file_suffix: str = ".txt"
    tfds_data_dir: str = ""
    tfds_text_key: str = "text"


@dataclasses.dataclass
class Corpus:
    """A text cut in two by position, and where it came from.

    Attributes:
        train: the first part of the text.
        validation: the rest (empty when nothing is held out).
        origin: what was read, for logs and reports, e.g. "input.txt (1,115,394 characters)".
    """

    train: str
    validation: str
    origin: str


def read_corpus(config: TextCorpusConfig, make_text: Callable[[], tuple[str, str]] | None = None) -> Corpus:
    """Read the text a recipe names and split it by position.

    The first (1 - validation_fraction) of the characters are the training text and the rest the
    validation text, so that validation is text the model has not seen rather than lines shuffled
    out of the same passages. Local files lose a leading byte order mark and have Windows line
    endings turned into "\\n"; each file of a folder ends with a newline before the next is joined.

    Args:
        config: the recipe's data section.
        make_text: for a source the caller makes itself (e.g. generated demo text): returns (text, how
            messages name it, e.g. "the demo play"); called after the settings are checked, in place of
            reading `config.source`. None reads `config.source`.

    Returns:
        The training and validation text (train + validation is the whole text) and its origin.

    Raises:
        UserError: a setting is out of range, or the source is missing, undecodable (naming file and
            line), empty, or too short to train on.
    """
    fraction = config.validation_fraction
    check_validation_fraction(fraction)
    if make_text is not None:
        text, where = make_text()
    elif config.source.startswith("tfds:"):
        text, where = _read_tfds(config)
    else:
        text, where = read_local_text(config)
    if not text:
        raise UserError(f"data.source = {config.source!r}: {where} has no text")
    held = round(len(text) * fraction)
    cut = len(text) - held
    if cut < 2:
        raise UserError(f"data.source = {config.source!r}: {where} has {len(text)} character"
                        f"{'s' if len(text) != 1 else ''}, leaving {cut} for training; a language model "
                        "needs at least 2 (use more text or a smaller data.validation_fraction)")
    return Corpus(train=text[:cut], validation=text[cut:], origin=f"{where} ({len(text):,} characters)")


def check_validation_fraction(fraction: float, of: str = "") -> None:
    """Raise `UserError` unless data.validation_fraction is a share in [0, MAX_VALIDATION_FRACTION]; `of` says
    of what, when not of the characters (" of the tunes")."""
    if not 0 <= fraction <= MAX_VALIDATION_FRACTION:
        raise UserError(f"data.validation_fraction = {fraction}: expected a share{of} in "
                        f"[0, {MAX_VALIDATION_FRACTION}]")


def _decode(data: bytes, name: str, encoding: str) -> str:
    """`data` as text, without a leading byte order mark and with "\\n" line endings.

    Args:
        data: the file's bytes.
        name: how errors name the file.
        encoding: a Python codec name.

    Raises:
        UserError: the bytes are not valid in `encoding` (naming line and column), or the encoding is
            unknown.
    """
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        raise UserError(
            f"{name} line {line}: not valid {encoding} (byte {data[error.start]:#04x} at column "
            f"{error.start - line_start + 1}); re-save the file as UTF-8 or set data.encoding"
        ) from None
    except LookupError:
        raise UserError(f"data.encoding = {encoding!r} is not a known text encoding") from None
    text = text.removeprefix("\ufeff")  # a byte order mark (files saved by Excel, Notepad)
    # A file saved on Windows would otherwise teach the model to write "\r".
    return text.replace("\r\n", "\n")


def read_local_text(config: TextCorpusConfig) -> tuple[str, str]:
    """(text, description) of a text file, a folder of text files or a tar archive of one (files joined in
    sorted path order, each ending with a newline).

    Raises:
        UserError: the source is missing, undecodable (naming file and line) or has no matching file.
    """
    path = files.existing_path(config.source)
    is_archive = path.is_file() and path.name.endswith(files.TAR_SUFFIXES)
    if path.is_file() and not is_archive:
        return _decode(path.read_bytes(), str(path), config.encoding), path.name
    pieces = []
    count = 0
    for parts, data in files.iter_folder_texts(path, config.file_suffix):
        count += 1
        text = _decode(data, f"{path}: {'/'.join(parts)}" if is_archive else str(path.joinpath(*parts)),
                       config.encoding)
        if text and not text.endswith("\n"):
            text += "\n"  # so that the last line of one file does not run into the first of the next
        pieces.append(text)
    if not count:
        looked_for = f"{config.file_suffix} files" if config.file_suffix else "files"
        raise UserError(f"data.source = {config.source!r} has no {looked_for} (hidden files are skipped); "
                        "add some or set data.file_suffix")
    where = f"{count} file{'s' if count != 1 else ''} {'in' if is_archive else 'under'} {path.name}"
    return "".join(pieces), where + ("" if is_archive else "/")


def _read_tfds(config: TextCorpusConfig) -> tuple[str, str]:
    """(text, description) of a TFDS text dataset: its train, validation and test splits in that order.

    When every split holds one example (tiny_shakespeare: one text cut into three consecutive pieces)
    the pieces are joined as they are, which restores the text exactly. Otherwise examples are separate
    documents (reviews, articles) and each ends with a newline before the next is joined.
    """
    name = config.source.removeprefix("tfds:")
    datasets, info = tfds_source.load_splits(name, config.tfds_data_dir)
    key = config.tfds_text_key
    if key not in info.features:
        raise UserError(f"TFDS dataset {name!r} has no feature {key!r}; it has {sorted(info.features)}; set "
                        "data.tfds_text_key")
    by_split: dict[str, list[str]] = {}
    for split, dataset in datasets.items():
        if tfds_source.SPLIT_NAMES.get(split) in TFDS_SPLIT_ORDER:
            by_split[tfds_source.SPLIT_NAMES[split]] = [_tfds_text(record[key]) for record in dataset]
    if not by_split:
        raise UserError(f"TFDS dataset {name!r} has none of the splits {list(TFDS_SPLIT_ORDER)}; it has "
                        f"{sorted(datasets)}")
    read = [split for split in TFDS_SPLIT_ORDER if split in by_split]
    documents = [text for split in read for text in by_split[split]]
    if any(len(by_split[split]) != 1 for split in read):
        documents = [text if not text or text.endswith("\n") else text + "\n" for text in documents]
    return "".join(documents), f"{config.source} {'+'.join(read)}"


def _tfds_text(value) -> str:
    """A TFDS text feature (UTF-8 bytes when read as numpy) as a string."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
