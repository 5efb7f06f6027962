"""Tunes in ABC notation made audible: an ABC file, a MIDI file or a WAV recording of one tune.

music21 reads the ABC (notes, keys, meters, tuplets, repeats and endings, which are played out) and writes
the MIDI file; the WAV file comes from a small additive synthesiser here (a plucked tone per note: a few
harmonics, a short attack and an exponential decay), so listening needs no sound font or player. The tempo is a
moderate session tempo from the meter (a quarter note at 120 a minute; the dotted quarter at 100 in compound
meters such as 6/8) unless the caller gives one.

Used by `rnnapps generate predict --format abc|midi|wav` and by the try-it page of `rnnapps serve`. No TensorFlow.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
import wave

import numpy as np

from rnnapps.errors import UserError

FORMATS = ("abc", "midi", "wav")
SUFFIXES = {"abc": ".abc", "midi": ".mid", "wav": ".wav"}
END_OF_TUNE = "\n\n"  # an empty line ends a tune (and separates the tunes of a text)
SAMPLE_RATE = 22_050  # Hz: plenty for a melody, half the size of CD audio
MAX_SECONDS = 600.0  # the longest recording written: a sampled tune that runs on is cut here
MAX_TUNE_CHARACTERS = 20_000  # the longest tune read (the longest of 2,258 folk tunes has 1,162 characters)
MAX_PITCHES = 8  # notes sounding at once in one chord
# A tune's notes may sound for at most this many times its length in all (chords and voices counted): bounds the
# synthesiser's work for any text.
MAX_SOUNDING_RATIO = 8
_HARMONICS = (1.0, 0.5, 0.25, 0.12)  # amplitude of the 1st, 2nd, ... harmonic
_DECAY_S = 0.35  # time for a note to fall to 1/e
_RING_S = 10 * _DECAY_S  # a held note is silent (e^-10) by then: nothing longer is rendered
_ATTACK_S, _RELEASE_S = 0.01, 0.03
_PEAK = 0.8  # of full scale


class TuneError(UserError):
    """A text that music21 cannot read as a tune in ABC notation, or one too long or too dense to play."""


def last_tune(text: str) -> str:
    """The last tune of an ABC text (a sample holds the end of its prompt's tune first): the last block after an
    empty line, from its first field line (`X:`, `M:`, ...) to its end, ending with a line break."""
    blocks = [block for block in text.strip("\n").split(END_OF_TUNE) if block.strip()]
    lines = blocks[-1].strip("\n").split("\n") if blocks else []
    start = next((index for index, line in enumerate(lines) if re.match(r"^[A-Za-z]:", line)), 0)
    return "\n".join(lines[start:]) + "\n"


def abc_file(tunes: list[tuple[str, str]]) -> str:
    """An ABC file of `tunes` ((title, tune text) pairs): each numbered from 1 with `X:`, titled with `T:`, tunes
    separated by an empty line."""
    blocks = []
    for number, (title, tune) in enumerate(tunes, start=1):
        lines = [line for line in last_tune(tune).strip("\n").split("\n") if not line.startswith(("X:", "T:"))]
        blocks.append("\n".join([f"X:{number}", f"T:{title}", *lines]))
    return END_OF_TUNE.join(blocks) + "\n"


def midi_bytes(text: str, quarter_bpm: float | None = None) -> bytes:
    """A standard MIDI file (format 1) playing the last tune of `text` with its repeats.

    Args:
        text: ABC notation (see `last_tune`).
        quarter_bpm: quarter notes a minute (None: from the meter, see the module docstring).

    Raises:
        TuneError: music21 cannot read the tune, it has no notes, or it is over `MAX_TUNE_CHARACTERS` long.
    """
    from music21 import midi, tempo

    score, bpm = _played_score(text, quarter_bpm)
    with _read_as_tune_errors("cannot be written as MIDI"):
        first_part = score.parts[0] if score.parts else score
        first_part.insert(0, tempo.MetronomeMark(number=bpm, referent=1.0))
        return midi.translate.streamToMidiFile(score).writestr()


def wav_bytes(text: str, quarter_bpm: float | None = None, sample_rate: int = SAMPLE_RATE,
              max_seconds: float = MAX_SECONDS) -> bytes:
    """A mono 16-bit WAV recording of the last tune of `text` with its repeats.

    Args:
        text: ABC notation (see `last_tune`).
        quarter_bpm: quarter notes a minute (None: from the meter).
        sample_rate: samples a second.
        max_seconds: the recording stops here (at most `MAX_SECONDS`).

    Raises:
        TuneError: music21 cannot read the tune, it has no notes, it is over `MAX_TUNE_CHARACTERS` long, or its
            chords or voices would sound more than `MAX_SOUNDING_RATIO` times its length.
    """
    end_s = min(max_seconds, MAX_SECONDS)
    notes = [note for note in _timed_notes(text, quarter_bpm) if note[0] < end_s]
    if not notes:
        raise TuneError("the tune has only grace notes: nothing lasts long enough to play")
    end_s = min(max(start + length for start, length, _ in notes) + _RELEASE_S, end_s)
    sounding = sum(min(length, _RING_S) * len(pitches) for _, length, pitches in notes)
    if sounding > MAX_SOUNDING_RATIO * max(end_s, 1.0) or max(len(pitches) for _, _, pitches in notes) > MAX_PITCHES:
        raise TuneError(f"the tune is too dense to play: at most {MAX_PITCHES} notes at once, and "
                        f"{MAX_SOUNDING_RATIO} sounding for each second of the tune")
    audio = np.zeros(int(end_s * sample_rate) + 1, np.float32)
    for start, length, frequencies in notes:
        first = int(start * sample_rate)
        for frequency in frequencies:
            tone = _tone(frequency, min(length, end_s - start, _RING_S), sample_rate)[:len(audio) - first]
            audio[first:first + len(tone)] += tone
    audio *= _PEAK / max(float(np.abs(audio).max()), 1e-9)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes((audio * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def default_quarter_bpm(meter: str) -> float:
    """Quarter notes a minute for a meter ("6/8" -> 150: the dotted quarter at 100; "4/4" -> 120)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", meter)
    if match and int(match.group(1)) % 3 == 0 and int(match.group(1)) > 3 and match.group(2) == "8":
        return 150.0
    return 120.0


@contextlib.contextmanager
def _read_as_tune_errors(what: str):
    """Turn whatever music21 raises inside into a `TuneError` ("the tune `what` (...)"), its warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # music21 warns of every oddity it reads past
        try:
            yield
        except TuneError:
            raise
        except Exception as error:  # noqa: BLE001 - music21 raises many kinds on odd ABC; all mean the same here
            raise TuneError(f"the tune {what} ({type(error).__name__}: {error})") from None


def _played_score(text: str, quarter_bpm: float | None):
    """The tune as music21 reads it with its repeats played out, and the tempo in quarter notes a minute."""
    from music21 import converter

    tune = last_tune(text)
    if len(tune) > MAX_TUNE_CHARACTERS:
        raise TuneError(f"the tune has {len(tune):,} characters; at most {MAX_TUNE_CHARACTERS:,} are read")
    with _read_as_tune_errors("does not read as ABC notation"):
        score = converter.parseData(tune if tune.startswith("X:") else "X:1\n" + tune, format="abc")
        try:
            score = score.expandRepeats()
        except Exception:  # noqa: BLE001 - repeats that do not pair up (a sampled tune's): played as written
            pass
        if not score.flatten().notes:
            raise TuneError("the tune has no notes to play (ABC needs a K: line before the music)")
    meter = re.search(r"^M:(.*)$", tune, re.MULTILINE)
    return score, quarter_bpm or default_quarter_bpm(meter.group(1) if meter else "4/4")


def _timed_notes(text: str, quarter_bpm: float | None) -> list[tuple[float, float, list[float]]]:
    """(start in seconds, length in seconds, frequencies in Hz) of every note and chord that lasts, in order."""
    score, bpm = _played_score(text, quarter_bpm)
    seconds = 60.0 / bpm
    with _read_as_tune_errors("cannot be played"):
        return [(float(element.offset) * seconds, float(element.quarterLength) * seconds,
                 [float(pitch.frequency) for pitch in element.pitches])
                for element in score.flatten().stripTies().notes if element.quarterLength > 0]


def _tone(frequency: float, length: float, sample_rate: int) -> np.ndarray:
    """One plucked note: float32 [samples] of `length` seconds plus its release, peak about 1."""
    times = np.arange(int((length + _RELEASE_S) * sample_rate), dtype=np.float32) / np.float32(sample_rate)
    envelope = np.minimum(times / _ATTACK_S, 1.0) * np.exp(-times / _DECAY_S)
    envelope *= np.clip((length + _RELEASE_S - times) / _RELEASE_S, 0.0, 1.0)  # no click at the end
    tone = np.zeros_like(times)
    for number, amplitude in enumerate(_HARMONICS):
        if frequency * (number + 1) < sample_rate / 2:
            tone += amplitude * np.sin((2 * np.pi * frequency * (number + 1)) * times)
    return envelope * tone / sum(_HARMONICS)
