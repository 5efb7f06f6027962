"""Synthetic training speech from a text-to-speech engine (espeak-ng, Debian's `espeak-ng` package): many voices
(accents x voice variants x pitch x speed) saying digits or transcripts, written in the layout of the dataset they
extend, so that a speech recipe reads them as extra training recordings (`data.extra_train`).

    python benchmarks/synthetic_speech.py digits --out benchmarks/out/synthetic/fsdd --voices 40
    python benchmarks/synthetic_speech.py ljspeech --out benchmarks/out/synthetic/ljspeech --clips 600

"digits" writes FSDD-style files ({digit}_{voice}_{take}.wav); "ljspeech" writes an LJ Speech folder (metadata.csv
and wavs/) of the transcripts that LJ Speech ships without audio, never a clip with audio (the test clips are
among those). The output is data: it is not committed, and it says nothing about real speech until a benchmark
measures it on real recordings.
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import shutil
import subprocess

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
LJSPEECH = HERE.parent.parent / "shared" / "data" / "speech" / "ljspeech"
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2",
            "klatt3", "klatt4", "adam", "Alex", "Andy", "Annie", "aunty", "belinda", "benjamin", "caleb", "david",
            "ed", "edward", "Gene", "john", "linda", "max", "Michael", "Mike", "paul", "rob", "robert", "steph",
            "travis", "victor", "zac", "grandpa", "grandma", "anika", "shelby", "norbert", "quincy")


def voices(count: int, seed: int) -> list[dict]:
    """`count` distinct voices: an accent, a voice variant, a pitch (0-99) and a speed (words per minute)."""
    rng = np.random.default_rng(seed)
    chosen, seen = [], set()
    while len(chosen) < count:
        voice = {"accent": str(rng.choice(ACCENTS)), "variant": str(rng.choice(VARIANTS)),
                 "pitch": int(rng.integers(20, 80)), "speed": int(rng.integers(130, 200))}
        key = (voice["accent"], voice["variant"])
        if key not in seen:
            seen.add(key)
            chosen.append(voice)
    return chosen


def say(text: str, voice: dict, path: pathlib.Path, pitch_jitter: int = 0, speed_jitter: int = 0) -> None:
    """Write `text` spoken by `voice` to the WAV file `path` (espeak-ng's 22,050 Hz 16-bit mono)."""
    subprocess.run(["espeak-ng", "-v", f"{voice['accent']}+{voice['variant']}",
                    "-p", str(min(max(voice["pitch"] + pitch_jitter, 0), 99)),
                    "-s", str(max(voice["speed"] + speed_jitter, 80)), "-w", str(path), text],
                   check=True, capture_output=True)


def voice_name(voice: dict, index: int) -> str:
    # No underscores: FSDD-style names split on them.
    return f"espeak{index:02d}-{voice['accent']}-{voice['variant']}".replace("_", "")


def digits(out: pathlib.Path, count: int, takes: int, seed: int) -> int:
    """Every digit word in every voice, `takes` times with a little pitch and speed jitter: FSDD's layout."""
    rng = np.random.default_rng(seed + 1)
    written = 0
    for index, voice in enumerate(voices(count, seed)):
        name = voice_name(voice, index)
        for digit, word in enumerate(DIGITS):
            for take in range(takes):
                say(word, voice, out / f"{digit}_{name}_{take}.wav", int(rng.integers(-8, 9)),
                    int(rng.integers(-15, 16)))
                written += 1
    return written


def ljspeech(out: pathlib.Path, count: int, clips: int, seed: int) -> int:
    """`clips` of LJ Speech's text-only transcripts (rows without audio), each in one of `count` voices: an LJ
    Speech folder."""
    rows = [row for row in csv.reader((LJSPEECH / "metadata.csv").open(encoding="utf-8", newline=""),
                                      delimiter="|", quoting=csv.QUOTE_NONE)
            if len(row) >= 3 and not (LJSPEECH / "wavs" / f"{row[0]}.wav").exists()]
    rng = np.random.default_rng(seed)
    chosen = [rows[i] for i in sorted(rng.permutation(len(rows))[:clips])]
    table = voices(count, seed)
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    with (out / "metadata.csv").open("w", encoding="utf-8", newline="") as metadata:
        for number, (clip, raw, normalized) in enumerate(row[:3] for row in chosen):
            voice = table[number % len(table)]
            say(normalized, voice, out / "wavs" / f"{clip}.wav")
            metadata.write(f"{clip}|{raw}|{normalized}\r\n")
    return len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("digits", "ljspeech"))
    parser.add_argument("--out", required=True, help="output folder (replaced)")
    parser.add_argument("--voices", type=int, default=40)
    parser.add_argument("--takes", type=int, default=3, help="digits: recordings of each digit per voice")
    parser.add_argument("--clips", type=int, default=600, help="ljspeech: transcripts spoken")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not shutil.which("espeak-ng"):
        raise SystemExit("espeak-ng is not installed: apt-get install espeak-ng")
    out = pathlib.Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    written = (digits(out, args.voices, args.takes, args.seed) if args.kind == "digits"
               else ljspeech(out, args.voices, args.clips, args.seed))
    print(f"{written} recordings in {out}")


if __name__ == "__main__":
    main()
