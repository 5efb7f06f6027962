"""Folk tunes in ABC notation as training text: a file's tunes, each cleaned to what a model should learn.

ABC (abcnotation.com/wiki/abc:standard:v2.1) is text: a tune starts with an `X:` line, a header of `F:` fields
ends with the key (`K:`), and the body holds notes, bar lines, repeats and inline fields. Each tune is
written back as one block in a fixed form:

    M:6/8        meter (C and C| written as 4/4 and 2/2)
    L:1/8        unit note length (the standard's default when the header has none)
    R:jig        rhythm, when the header names one (lower case)
    K:D          key (major written as the tonic alone, minor as "m": Dmaj -> D, Dmin -> Dm)
    body lines   notes, bars and repeats; inline M:, L: and K: lines kept (meters and keys change inside
                 some tunes), other fields, comments, line continuations and empty lines dropped

and tunes are joined with one empty line between them, so that "\\n\\n" marks the end of a tune (sampling
stops there: the recipe's `decoding.stop_at`). As the standard says, a tune ends at its first empty line
(free text after it is not music). Chord symbols ("G", "Em7") and the annotations written the same way
(CRE's bar numbers "5") go by default, and so do lyrics (`w:` lines): chords are a second voice the melody
model would have to learn in passing, and a sample's chords are checked by nothing; `keep_chords` keeps
them. Grace notes ({a}) and decorations (~, !trill!) stay: they are part of the tune.

Versions of one tune ("Bonnie Kate (first version) (reel)", "Bonnie Kate (second version)", "The Perfect
Cure" and "Perfect Cure, The", "Paddy O'Rafferty 2") share a title key (`Tune.group`), so a split never
puts one version in training and another in validation.
Pure Python: no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import re

from rnnapps import music
from rnnapps.errors import UserError

HEADER_ORDER = ("M", "L", "R", "K")
END_OF_TUNE = music.END_OF_TUNE  # what separates tunes in the text: a sample stops there
_FIELD = re.compile(r"^([A-Za-z]):\s*(.*?)\s*$")
_INLINE_KEPT = ("M", "L", "K")
_CHORD = re.compile(r'"[^"\n]*"')
_MODES = ("m", "maj", "min", "ion", "dor", "phr", "lyd", "mix", "aeo", "loc")
_ARTICLES = ("the", "a", "an")
_STRAY_TUNE_NUMBER = re.compile(r"X:\d+\s*$")  # "...|]X:197": a tune number run into the music
_TITLE_NOISE = re.compile(r"\([^)]*\)|\[[^\]]*\]")


@dataclasses.dataclass(frozen=True)
class Tune:
    """One tune, cleaned.

    Attributes:
        title: its first `T:` field as written ("" without one).
        header: field letter -> value for M, L, R and K (R only when given), normalised.
        body: the body lines, cleaned, joined with "\\n" (no trailing newline).
        where: "FILE line N" of its `X:` line, for messages.
    """

    title: str
    header: dict[str, str]
    body: str
    where: str

    @property
    def group(self) -> str:
        """The key versions of one tune share: the title in lower case, without parentheses or brackets, a
        leading or trailing article ("The X", "X, The") or trailing version numbers ("2", "#2", "v 1", "*")."""
        words = re.sub(r"[^\w\s']", " ", _TITLE_NOISE.sub(" ", self.title.lower())).split()
        changed = True
        while changed and len(words) > 1:
            before = len(words)
            if words[0] in _ARTICLES:
                words = words[1:]
            if len(words) > 1 and (words[-1] in _ARTICLES or words[-1].isdigit() or words[-1] in ("v", "no")):
                words = words[:-1]
            changed = len(words) != before
        return " ".join(words) or self.where

    def text(self) -> str:
        """The tune as training text: header lines in `HEADER_ORDER`, then the body, ending with "\\n"."""
        return header_text(self.header) + self.body + "\n"


def read_tunes(text: str, where: str, keep_chords: bool = False) -> list[Tune]:
    """The tunes of an ABC text, cleaned (see the module docstring); text before the first `X:` is skipped.

    Args:
        text: the contents of one or more ABC files.
        where: how messages name the text (a file name).
        keep_chords: keep chord symbols in the body.

    Returns:
        The tunes that have a key and at least one body line, in the order of the text.
    """
    tunes, lines, start = [], None, 0
    for number, line in enumerate(text.split("\n"), start=1):
        if re.match(r"^X:", line):
            if lines is not None:
                tunes.append(_tune(lines, f"{where} line {start}", keep_chords))
            lines, start = [], number
        elif lines is not None:
            lines.append(line)
    if lines is not None:
        tunes.append(_tune(lines, f"{where} line {start}", keep_chords))
    return [tune for tune in tunes if tune is not None]


def normalise_meter(value: str) -> str:
    """An `M:` value in one spelling: "C" -> "4/4", "C|" -> "2/2", "6/8" as is, spaces removed."""
    value = value.replace(" ", "")
    return {"C": "4/4", "C|": "2/2"}.get(value, value)


def normalise_key(value: str) -> str:
    """A `K:` value in one spelling: the tonic and mode, major as the tonic alone ("Dmaj" -> "D"), minor as
    "m" ("Dmin", "D minor" -> "Dm"), other modes as three lower-case letters ("Ador"); clefs and the rest of
    the field are dropped."""
    match = re.match(r"^\s*([A-Ga-g][#b]?)\s*([A-Za-z]*)", value)
    if not match:
        return value.split()[0] if value.split() else value  # "none", "HP": as written
    tonic, mode = match.group(1)[0].upper() + match.group(1)[1:], match.group(2).lower()[:3]
    if mode not in _MODES:  # "clef=treble" and the like: not a mode
        mode = ""
    if mode in ("", "maj", "ion"):
        return tonic
    if mode in ("m", "min", "aeo"):
        return tonic + "m"
    return tonic + mode


def normalise_field(letter: str, value: str) -> str:
    """A field's value as cleaned tunes spell it: M and K as `normalise_meter` and `normalise_key`, R in lower
    case, L (and any other field) without spaces."""
    value = value.strip()
    if letter in ("M", "K"):
        return normalise_meter(value) if letter == "M" else normalise_key(value)
    return value.lower() if letter == "R" else value.replace(" ", "")


def normalise_prompt(prompt: str) -> str:
    """A prompt in the training tunes' spelling, so a model reads the header it learnt: a whole header after the
    last empty line (field lines ending with the key's) is written as cleaned tunes write theirs (M, L, R, K in
    that order, the default unit length added, "K:Dmaj" as "K:D", "M:C" as "M:4/4", other fields dropped);
    otherwise each complete field line is respelled where it stands. A last line still being written ("M:") is
    left as it is."""
    before, separator, tune = prompt.rpartition(END_OF_TUNE)
    *complete, last = tune.split("\n")
    fields = [_FIELD.match(line) for line in complete]
    if complete and all(fields) and fields[-1].group(1) == "K":
        header = {field.group(1): normalise_field(field.group(1), field.group(2)) for field in fields
                  if field.group(1) in HEADER_ORDER}
        return before + separator + header_text(completed(header)) + last
    for index, field in enumerate(fields):
        if field and field.group(1) in HEADER_ORDER:
            complete[index] = f"{field.group(1)}:{normalise_field(field.group(1), field.group(2))}"
    return before + separator + "\n".join([*complete, last])


def completed(header: dict[str, str]) -> dict[str, str]:
    """A tune's header fields with the standard's defaults for those it lacks: meter 4/4, and the unit length
    of its meter (`default_unit_length`)."""
    meter = header.get("M", "4/4")
    return {**header, "M": meter, "L": header.get("L") or default_unit_length(meter)}


def header_text(header: dict[str, str]) -> str:
    """Header lines in `HEADER_ORDER` ("M:6/8\\nL:1/8\\nK:D\\n"), the fields `header` has."""
    return "".join(f"{field}:{header[field]}\n" for field in HEADER_ORDER if field in header)


def default_unit_length(meter: str) -> str:
    """The standard's unit note length when a tune has no `L:`: 1/16 below a meter of 3/4, else 1/8."""
    match = re.fullmatch(r"(\d+)/(\d+)", meter)
    return "1/16" if match and int(match.group(1)) / int(match.group(2)) < 0.75 else "1/8"


def _tune(lines: list[str], where: str, keep_chords: bool) -> Tune | None:
    header: dict[str, str] = {}
    title = ""
    body: list[str] = []
    in_body = False
    for line in _joined(_before_free_text(lines)):
        field = _FIELD.match(line)
        if field and not in_body:
            letter, value = field.group(1), field.group(2)
            if letter == "T" and not title:
                title = value
            elif letter in ("M", "L", "K") or (letter == "R" and re.fullmatch(r"[A-Za-z][A-Za-z -]*", value)):
                header[letter] = normalise_field(letter, value)
                in_body = in_body or letter == "K"  # the key ends the header
            continue
        if field:  # an inline field line in the body: meter, length and key changes stay
            letter, value = field.group(1), field.group(2)
            if letter in _INLINE_KEPT:
                body.append(f"{letter}:{normalise_field(letter, value)}")
            continue
        if not in_body:
            continue  # music before any key: not a tune the standard can read
        cleaned = _STRAY_TUNE_NUMBER.sub("", line if keep_chords else _CHORD.sub("", line))
        cleaned = re.sub(r"[ \t]+", " ", cleaned).strip()
        if cleaned:
            body.append(cleaned)
    if "K" not in header or not any(not _FIELD.match(line) for line in body):
        return None
    return Tune(title=title.strip(), header=completed(header), body="\n".join(body), where=where)


def _before_free_text(lines: list[str]) -> list[str]:
    """A tune's lines up to the first empty line after its key (`K:`): what follows is free text."""
    key = next((index for index, line in enumerate(lines) if re.match(r"^K:", line)), None)
    if key is None:
        return lines
    end = next((index for index in range(key + 1, len(lines)) if not lines[index].strip()), len(lines))
    return lines[:end]


def _joined(lines: list[str]) -> list[str]:
    """A tune's lines without comments (`%` to the end of the line, `%%` directives) and empty lines, a line
    ending in a continuation backslash joined with the next."""
    joined, pending = [], ""
    for raw in lines:
        line = raw.split("%", 1)[0].rstrip()
        if pending and _FIELD.match(line):  # a field line never continues music: it stands on its own
            joined.append(pending)
            pending = ""
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        line, pending = pending + line, ""
        if line.strip():
            joined.append(line)
    if pending.strip():
        joined.append(pending)
    return joined


@dataclasses.dataclass
class Tunes:
    """Tunes as a split (`rnnapps.datasets.splits.carve_missing_splits` cuts them by title group)."""

    tunes: list[Tune]

    def __len__(self) -> int:
        return len(self.tunes)

    def subset(self, indices) -> Tunes:
        """The tunes at `indices`, in that order."""
        return Tunes([self.tunes[i] for i in indices])

    def text(self) -> str:
        """The tunes as one training text, an empty line after each (`END_OF_TUNE` ends every tune)."""
        return "".join(tune.text() + "\n" for tune in self.tunes)


def check_found(tunes: list[Tune], where: str) -> None:
    """Raise `UserError` when an ABC source has no tune."""
    if not tunes:
        raise UserError(f"{where} has no ABC tune (a tune starts with an X: line and needs a K: line and music "
                        "after it); check data.source and data.format")
