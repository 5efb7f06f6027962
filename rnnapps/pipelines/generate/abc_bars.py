"""Does a tune in ABC notation parse, and do its bars add up to its meter? Counted by parsing, for the music
measures (`benchmarks/music.py`) of sampled tunes against held-out ones.

The body is read token by token (notes with accidentals, octave marks and lengths, rests, chords in
brackets, tuplets, grace notes, decorations, ties, slurs, broken rhythm, bar lines and repeats, numbered
endings, inline fields); a character no token reads makes the tune unparsable. Durations are exact
fractions of a whole note: a note's length times the unit length `L:`, a tuplet `(p` fits p notes into the
time of q (the standard's table), a chord lasts as long as its first note, grace notes take no time, and
broken rhythm dots the one note and shortens the other (`A>B` is `A3/2B/2`, `A>>B` is `A7/4B/4`).

A bar fits when it lasts exactly one measure of the meter in force (inline `M:` changes apply from where
they stand). Bars at a section's edges (the first and last bar of the tune, and bars beside a repeat sign,
a double bar or a numbered ending) may be shorter: that is where pickups and their complements stand.
Pure Python: no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

from rnnapps.pipelines.generate import abc

BAR_LINE = r"(?:::|:*\[?\|+\]?:*)(?:\d+(?:[,-]\d+)*)?"  # | || |] [| |: :| :: :|2
ENDING = r"\[\d+(?:[,-]\d+)*"  # a numbered ending standing alone: [1 [2,3
_TOKEN = re.compile(r"""
    (?P<field>\[[A-Za-z]:[^\]\n]*\])                          # inline field [M:3/4]
  | (?P<ending><ENDING>)
  | (?P<bar><BAR_LINE>)
  | (?P<grace>\{[^}\n]*\})                                    # grace notes: no time
  | (?P<decoration>![^!\n]*!|\+[^+\n]*\+|[~HLMOPSTuv.])       # !trill! +fermata+ ~roll H.
  | (?P<tuplet>\((?P<p>[2-9])(?::(?P<q>\d*))?(?::(?P<r>\d*))?)  # (3 (3:2:3
  | (?P<chord>\[(?P<first>[_^=]*[A-Ga-g][',]*(?P<inner>\d*/*\d*))[^\]\n]*\](?P<chord_length>\d*/*\d*))
  | (?P<note>[_^=]*[A-Ga-gzx][',]*(?P<length>\d*/*\d*))     # note or rest, with its length
  | (?P<measure_rest>Z(?P<measures>\d*))                     # whole-measure rests
  | (?P<other>[<>]+|-|[()]|\s+|"[^"\n]*"|[`y\\])              # broken rhythm, tie, slur, spaces, chord symbol
""".replace("<ENDING>", ENDING).replace("<BAR_LINE>", BAR_LINE), re.VERBOSE)
_SECTION_EDGE = re.compile(r"\]|:|\d|\|\||\[\|")  # a bar line at a section's edge: |] :| |: || [| endings


@dataclasses.dataclass(frozen=True)
class BarCheck:
    """What parsing one tune found.

    Attributes:
        parses: every character of the body was read, and the header has a meter and a unit length that
            are fractions (or C, C|).
        bars: bars found (bar lines + 1, without empty ones).
        bad_bars: bars that last longer than their measure, or shorter away from a section's edge.
        problem: the first problem, for reports ("" when none).
    """

    parses: bool
    bars: int
    bad_bars: int
    problem: str = ""

    @property
    def fits(self) -> bool:
        """It parses and every bar adds up to its meter."""
        return self.parses and self.bad_bars == 0 and self.bars > 0


def split_tune(text: str) -> tuple[dict[str, str], str]:
    """A tune in the cleaned form of `rnnapps.pipelines.generate.abc` -> (its header fields up to the key,
    its body with every field line after the key written inline, "M:2/4" as "[M:2/4]")."""
    header, body, inline = {}, [], False
    for line in text.strip("\n").split("\n"):
        field = re.match(r"^([A-Za-z]):(.*)$", line)
        if field and not inline:
            header[field.group(1)] = field.group(2).strip()
            inline = field.group(1) == "K"
        elif field:
            body.append(f"[{field.group(1)}:{field.group(2).strip()}]")
        else:
            body.append(line)
    return header, "\n".join(body)


def check_tune(text: str) -> BarCheck:
    """Parse a tune in the cleaned form of `rnnapps.pipelines.generate.abc` (header lines M:, L:, R:, K:,
    then the body) and check its bars against its meter."""
    header, body = split_tune(text)
    meter = _fraction(header.get("M", ""))
    unit = _fraction(header.get("L") or abc.default_unit_length(abc.normalise_meter(header.get("M", ""))))
    if meter is None or unit is None or "K" not in header:
        return BarCheck(False, 0, 0, "the header lacks a meter, unit length or key")
    return _check_body(body, meter, unit, _beats(header["M"]))


def _check_body(body: str, meter: Fraction, unit: Fraction, beats: int) -> BarCheck:
    """`beats`: the meter's numerator as written (6 in 6/8: compound), which the tuplet defaults depend on."""
    bars: list[tuple[Fraction, Fraction, bool, bool]] = []  # (length, measure, starts at an edge, ends at one)
    length, starts_at_edge, position = Fraction(0), True, 0
    tuplet_left, tuplet_factor = 0, Fraction(1)
    last_duration, next_factor = Fraction(0), Fraction(1)  # broken rhythm: the note before, and the one after
    while position < len(body):
        token = _TOKEN.match(body, position)
        if token is None:
            snippet = body[position:position + 12].split("\n")[0]
            return BarCheck(False, len(bars), 0, f"cannot read {snippet!r}")
        position = token.end()
        kind = next(name for name in ("field", "ending", "bar", "grace", "decoration", "tuplet", "chord", "note",
                                      "measure_rest", "other") if token.group(name) is not None)
        if kind == "field":
            letter, value = token.group("field")[1], token.group("field")[3:-1].strip()
            if letter in "ML":
                parsed = _fraction(value)
                if parsed is None:
                    return BarCheck(False, len(bars), 0, f"cannot read the field {token.group('field')}")
                meter, unit = (parsed, unit) if letter == "M" else (meter, parsed)
                beats = _beats(value) if letter == "M" else beats
        elif kind in ("bar", "ending"):
            edge = kind == "ending" or bool(_SECTION_EDGE.search(token.group(kind)))
            if length > 0:
                bars.append((length, meter, starts_at_edge, edge))
            length, starts_at_edge = Fraction(0), edge if length > 0 else (starts_at_edge or edge)
        elif kind in ("note", "chord"):
            spec = token.group("length") if kind == "note" else token.group("inner")
            duration = _length(spec) * unit * (_length(token.group("chord_length")) if kind == "chord" else 1)
            if tuplet_left:
                duration, tuplet_left = duration * tuplet_factor, tuplet_left - 1
            duration, next_factor = duration * next_factor, Fraction(1)
            length += duration
            last_duration = duration
        elif kind == "other" and token.group("other")[0] in "<>":  # A>B: A dotted, B halved (n marks: 2^-n)
            marks = token.group("other")
            shorter = Fraction(1, 2 ** len(marks))
            first, second = (2 - shorter, shorter) if marks[0] == ">" else (shorter, 2 - shorter)
            length += last_duration * (first - 1)
            next_factor = second
        elif kind == "tuplet":
            p = int(token.group("p"))
            q = int(token.group("q")) if token.group("q") else _tuplet_time(p, beats)
            tuplet_left = int(token.group("r")) if token.group("r") else p
            tuplet_factor = Fraction(q, p)
        elif kind == "measure_rest":  # Z4: four measures' rest, written as one bar
            length += meter
    if length > 0:
        bars.append((length, meter, starts_at_edge, True))
    if bars:  # the first and the last bar are a section's edges
        bars[0] = bars[0][:2] + (True, bars[0][3])
        bars[-1] = bars[-1][:3] + (True,)
    bad = [(got, measure) for got, measure, starts, ends in bars
           if got > measure or (got < measure and not (starts or ends))]
    problem = (f"a bar of {bad[0][0]} of a whole note where its meter asks for {bad[0][1]}" if bad else "")
    return BarCheck(True, len(bars), len(bad), problem)


def _fraction(text: str) -> Fraction | None:
    match = re.fullmatch(r"(\d+)/(\d+)", abc.normalise_meter(text))
    return Fraction(int(match.group(1)), int(match.group(2))) if match and int(match.group(2)) else None


def _length(spec: str) -> Fraction:
    """A note length as written after the note ("", "2", "/", "//", "/2", "3/2") in unit lengths."""
    match = re.fullmatch(r"(\d*)(/*)(\d*)", spec or "")
    numerator = int(match.group(1)) if match.group(1) else 1
    if not match.group(2):
        return Fraction(numerator)
    denominator = int(match.group(3)) if match.group(3) else 2 ** len(match.group(2))
    return Fraction(numerator, denominator or 1)


def _beats(meter_text: str) -> int:
    """The numerator of a meter as written ("6/8" -> 6, "C" -> 4), 0 when there is none."""
    match = re.match(r"\s*(\d+)", abc.normalise_meter(meter_text))
    return int(match.group(1)) if match else 0


def _tuplet_time(p: int, beats: int) -> int:
    """The standard's q for a tuplet (p without q: p notes in the time of q); `beats`: the meter's numerator
    as written (compound meters, 6/8, 9/8, 12/8, fit 5, 7 and 9 notes into 3 beats)."""
    compound = beats % 3 == 0 and beats > 3
    return {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)
