"""rnnapps.music: a tune in ABC notation as a MIDI file and a WAV recording, each read back by a standard reader
(mido, Python's wave), with the pitches its key gives, its repeats played out and the length its meter says."""

import io
import wave

import mido
import pytest

from rnnapps import music

# D major: F and C are sharp. Four bars of 3/4 played twice (the repeat), at the default 120 quarters a minute.
TUNE = "M:3/4\nL:1/8\nR:waltz\nK:D\n|:D2 F2 A2|c2 B2 A2|d2 c2 B2|A6:|\n"
PITCHES = [62, 66, 69, 73, 71, 69, 74, 73, 71, 69]  # D4 F#4 A4 C#5 B4 A4 D5 C#5 B4 A4


def midi_notes(data: bytes) -> list[int]:
    return [message.note for track in mido.MidiFile(file=io.BytesIO(data)).tracks for message in track
            if message.type == "note_on" and message.velocity > 0]


def test_midi_plays_the_keys_pitches_with_the_repeat():
    data = music.midi_bytes(TUNE)
    assert data[:4] == b"MThd"
    assert midi_notes(data) == PITCHES * 2
    assert mido.MidiFile(file=io.BytesIO(data)).length == pytest.approx(24 * 0.5, abs=0.6)  # 24 quarters


def test_wav_is_mono_16_bit_and_as_long_as_the_tune():
    with wave.open(io.BytesIO(music.wav_bytes(TUNE))) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, music.SAMPLE_RATE)
        assert reader.getnframes() / reader.getframerate() == pytest.approx(12.0, abs=0.1)
        frames = reader.readframes(reader.getnframes())
    samples = memoryview(frames).cast("h")
    assert 0.5 * 32767 < max(abs(sample) for sample in samples) <= 32767  # loud enough, never clipped


def test_compound_meters_take_the_dotted_quarter_as_the_beat():
    assert music.default_quarter_bpm("6/8") == 150 and music.default_quarter_bpm("4/4") == 120
    with wave.open(io.BytesIO(music.wav_bytes("M:6/8\nL:1/8\nK:G\nGAB c3|\n"))) as reader:
        assert reader.getnframes() / reader.getframerate() == pytest.approx(3 * 60 / 150, abs=0.1)


def test_a_sample_is_read_from_its_last_tune_after_the_prompts_end():
    sample = "B3 e3|]\n\nM:3/4\nL:1/8\nK:D\nD2 F2 A2|\n"
    assert music.last_tune(sample) == "M:3/4\nL:1/8\nK:D\nD2 F2 A2|\n"
    assert midi_notes(music.midi_bytes(sample)) == PITCHES[:3]


def test_an_abc_file_numbers_and_titles_every_tune():
    text = music.abc_file([("Sample 1", TUNE), ("Sample 2", "X:7\nT:Old\n" + TUNE)])
    assert text.startswith("X:1\nT:Sample 1\nM:3/4\n") and "\n\nX:2\nT:Sample 2\nM:3/4\n" in text
    assert "X:7" not in text and "T:Old" not in text


@pytest.mark.parametrize("text, message", [
    ("M:4/4\nL:1/8\nK:D\n", "no notes"),
    ("words, not music", "does not read as ABC"),
    ("M:4/4\nL:1/8\nK:D\n" + "A" * (music.MAX_TUNE_CHARACTERS + 1), "at most"),
    ("M:4/4\nL:1/4\nK:C\n[CDEFGABcd]4|\n", "too dense"),  # nine notes at once
])
def test_what_cannot_be_played_is_a_clear_error(text, message):
    with pytest.raises(music.TuneError, match=message):
        music.wav_bytes(text)
