"""Sampled tunes written as files people open: `rnnapps generate predict --format abc|midi|wav [--out FILE]`.

ABC: one file holds every sample (tunes numbered X:1, X:2, ... and titled with their sample number and seed).
MIDI and WAV: one file per sample, the second and later named FILE-2, FILE-3, ... (see `rnnapps.music`).
Pure Python: no TensorFlow.
"""

from __future__ import annotations

import io
import logging
import pathlib
import wave
from typing import Any

from rnnapps import atomic, music
from rnnapps.errors import UserError

log = logging.getLogger(__name__)


def resolve_format(file_format: str | None, out: str | pathlib.Path | None) -> str | None:
    """The format to write: `file_format`, or the one `out`'s suffix names (.abc, .mid or .midi, .wav); None for
    neither.

    Raises:
        UserError: the format is unknown, `out` has a suffix of another format, or `out` names no format.
    """
    suffix = pathlib.Path(out).suffix.lower() if out else ""
    named = {".midi": "midi", **{value: key for key, value in music.SUFFIXES.items()}}.get(suffix)
    if file_format is not None and file_format not in music.FORMATS:
        raise UserError(f"--format {file_format!r} is not one of {', '.join(music.FORMATS)}")
    if file_format and suffix and named != file_format:
        raise UserError(f"--out {out} ends in {suffix}, and --format {file_format} writes "
                        f"{music.SUFFIXES[file_format]} files: change one of them")
    if out and not file_format and not named:
        raise UserError(f"--out {out}: give --format abc, midi or wav (or a file ending in .abc, .mid or .wav)")
    return file_format or named


def output_paths(out: str | pathlib.Path | None, file_format: str, count: int) -> list[pathlib.Path]:
    """Where `count` samples go: `out` (default "sample" + the format's suffix) for the first, NAME-2, NAME-3,
    ... for the rest; every ABC sample goes to the one file."""
    first = pathlib.Path(out) if out else pathlib.Path("sample")
    first = first if first.suffix else first.with_suffix(music.SUFFIXES[file_format])
    if file_format == "abc":
        return [first] * count
    return [atomic.numbered(first, index) for index in range(count)]


def write_samples(results: list[dict[str, Any]], file_format: str, out: str | pathlib.Path | None) -> None:
    """Write the tunes of `results` (`GeneratePipeline.predict`'s) as `file_format` files.

    Each result gains "file" (the path written, or None) and, for a sample that could not be written,
    "file_error" (why: music21 could not read the tune); audio gains "seconds".

    Raises:
        UserError: the format is unknown.
    """
    if file_format not in music.FORMATS:
        raise UserError(f"--format {file_format!r} is not one of {', '.join(music.FORMATS)}")
    paths = output_paths(out, file_format, len(results))
    for path in set(paths):
        path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "abc":
        titles = [f"Sample {result['sample']} (seed {result['seed']})" for result in results]
        paths[0].write_text(music.abc_file(list(zip(titles, (result["text"] for result in results)))),
                            encoding="utf-8")
        for result in results:
            result["file"] = str(paths[0])
        return
    for result, path in zip(results, paths):
        try:
            data = music.midi_bytes(result["text"]) if file_format == "midi" else music.wav_bytes(result["text"])
        except music.TuneError as error:
            result.update(file=None, file_error=str(error))
            log.warning("sample %d (seed %d) was not written as %s: %s ('--format abc' writes any text)",
                        result["sample"], result["seed"], file_format, error)
            continue
        path.write_bytes(data)
        result["file"] = str(path)
        if file_format == "wav":
            with wave.open(io.BytesIO(data)) as reader:
                result["seconds"] = round(reader.getnframes() / reader.getframerate(), 1)
