"""Speech data: the transcript formats, text normalisation, splits that hold speakers out, joined recordings and
the rows that cannot be used."""

import dataclasses
import json
import logging

import numpy as np
import pytest
import soundfile

from rnnapps.errors import UserError
from rnnapps.pipelines.speech import data, formats, text
from rnnapps.pipelines.speech import recipe as recipes


def _recipe(source: str, **data_fields) -> recipes.SpeechRecipe:
    return recipes.SpeechRecipe(data=recipes.SpeechDataConfig(source=source, **data_fields),
                                features=recipes.FeaturesConfig(sample_rate=8000))


def _wav(path, seconds: float = 0.2, rate: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, 0.1 * np.sin(np.arange(int(seconds * rate)) / 5), rate, subtype="PCM_16")


def test_normalise_folds_case_and_punctuation_and_keeps_what_the_recipe_keeps():
    config = recipes.TextConfig(lowercase=True, keep="'")
    assert text.normalise("  Don't STOP -- now!\r\n", config) == "don't stop now"
    assert text.normalise("Ça va, n°5?", recipes.TextConfig(lowercase=False, keep="")) == "Ça va n 5"
    assert text.outside_alphabet(["abc", "abz!"], "abc") == {"z": 1, "!": 1}


def test_ljspeech_metadata_with_crlf_lines_reads_the_chosen_column_and_counts_text_only_rows(tmp_path, caplog):
    _wav(tmp_path / "wavs" / "LJ001-0001.wav")
    (tmp_path / "metadata.csv").write_bytes(b"LJ001-0001|Printing, in 1 sense|Printing, in one sense\r\n"
                                            b"LJ002-0001|No audio here|No audio here\r\n")
    # The logger's own level: another test may have quietened the "rnnapps" loggers (the CLI's -q).
    with caplog.at_level(logging.INFO, logger=data.__name__):
        found = data.read_utterances(_recipe("", text_column="normalized"), str(tmp_path))
    assert found.texts == ["printing in one sense"]
    assert "1 of 2 transcripts left out: no audio file" in caplog.text
    raw = data.read_utterances(_recipe("", text_column="text"), str(tmp_path / "metadata.csv"))
    assert raw.texts == ["printing in 1 sense"]
    with pytest.raises(UserError, match="LJ Speech's columns"):
        data.read_utterances(_recipe("", text_column="transcript_x"), str(tmp_path))


def test_language_model_text_is_training_and_text_only_transcripts_never_held_out_ones(tmp_path):
    rows = []
    for number in range(10):
        _wav(tmp_path / "wavs" / f"LJ001-{number:04d}.wav")
        rows.append(f"LJ001-{number:04d}|Heard {number}|Heard clip {number}")
    rows += ["LJ002-0001|Only text.|Only text, one", "LJ002-0002|Only text.|Only text, two"]
    (tmp_path / "metadata.csv").write_text("\r\n".join(rows) + "\r\n")
    recipe = _recipe(str(tmp_path), text_column="normalized", carve_by="recording", test_fraction=0.2,
                     validation_fraction=0.2)
    splits = data.read_splits(recipe)
    lines = data.language_model_text(recipe, splits)
    assert lines == [*splits.train.texts, "only text one", "only text two"]
    assert not set(lines) & set(splits.validation.texts + splits.test.texts)
    assert len(splits.train) == 6


def test_language_model_text_leaves_out_the_text_only_rows_of_held_out_speakers(tmp_path):
    rows = ["path,text,speaker"]
    for speaker in ("ann", "bob"):
        for number in range(3):
            _wav(tmp_path / f"{speaker}{number}.wav")
            rows.append(f"{speaker}{number}.wav,{speaker} said {number},{speaker}")
        rows.append(f"{speaker}-missing.wav,{speaker} wrote this,{speaker}")
    (tmp_path / "index.csv").write_text("\n".join(rows) + "\n")
    recipe = _recipe(str(tmp_path / "index.csv"), group_column="speaker", test_groups=("bob",),
                     validation_fraction=0.0)
    lines = data.language_model_text(recipe)
    assert sorted(lines) == ["ann said 0", "ann said 1", "ann said 2", "ann wrote this"]


def test_librispeech_folders_group_by_speaker(tmp_path):
    chapter = tmp_path / "19" / "198"
    for utterance in ("19-198-0000", "19-198-0001"):
        _wav(chapter / f"{utterance}.wav")
    (chapter / "19-198.trans.txt").write_text("19-198-0000 HELLO WORLD\n19-198-0001 GOOD BYE\n")
    found = data.read_utterances(_recipe(""), str(tmp_path))
    assert found.texts == ["hello world", "good bye"] and found.groups == ["19", "19"]


@pytest.mark.parametrize("format", ["csv", "tsv", "jsonl"])
def test_tables_name_audio_relative_to_the_table_and_skip_missing_files_and_empty_texts(tmp_path, format, caplog):
    _wav(tmp_path / "a.wav")
    _wav(tmp_path / "b.wav")
    rows = [("a.wav", "Hi there", "ann"), ("missing.wav", "gone", "ann"), ("b.wav", " ?! ", "bob")]
    table = tmp_path / f"index.{format}"
    if format == "jsonl":
        table.write_text("".join(json.dumps({"path": p, "text": t, "who": g}) + "\n" for p, t, g in rows))
    else:
        separator = "\t" if format == "tsv" else ","
        table.write_text("\n".join(separator.join(row) for row in [("path", "text", "who"), *rows]) + "\n")
    with caplog.at_level(logging.WARNING, logger=data.__name__):
        found = data.read_utterances(_recipe("", group_column="who"), str(table))
    assert found.texts == ["hi there"] and found.groups == ["ann"]
    assert "no audio file" in caplog.text and "an empty transcript" in caplog.text


def test_a_table_without_the_named_columns_is_a_clear_error(tmp_path):
    (tmp_path / "index.csv").write_text("file,words\na.wav,hi\n")
    with pytest.raises(UserError, match="no 'path' column .*data.audio_column"):
        data.read_utterances(_recipe(""), str(tmp_path / "index.csv"))


def test_filename_pattern_gives_transcript_and_speaker_and_named_speakers_are_held_out(tmp_path):
    for digit in range(3):
        for speaker in ("george", "theo", "lucas"):
            for take in range(4):
                _wav(tmp_path / f"{digit}_{speaker}_{take}.wav")
    recipe = _recipe(str(tmp_path), filename_pattern="{text}_{speaker}_{take}", test_groups=("theo",),
                     validation_fraction=0.2, carve_by="recording")
    splits = data.read_splits(recipe)
    assert set(splits.test.groups) == {"theo"} and len(splits.test) == 12
    assert "theo" not in set(splits.train.groups) | set(splits.validation.groups)
    assert set(splits.validation.groups) <= {"george", "lucas"} and len(splits.validation) == 5
    assert sorted(set(splits.train.texts)) == ["0", "1", "2"]


def test_extra_training_sources_are_read_alike_and_only_trained_on(tmp_path):
    for digit in range(3):
        for take in range(4):
            _wav(tmp_path / "real" / f"{digit}_theo_{take}.wav")
            _wav(tmp_path / "real" / f"{digit}_lucas_{take}.wav")
            _wav(tmp_path / "synthetic" / f"{digit}_espeak01-m3_{take}.wav")
    recipe = _recipe(str(tmp_path / "real"), filename_pattern="{text}_{speaker}_{take}", test_groups=("theo",),
                     validation_fraction=0.25, carve_by="recording", extra_train=(str(tmp_path / "synthetic"),))
    splits = data.read_splits(recipe)
    assert splits.train.groups.count("espeak01-m3") == 12 and len(splits.train) == 12 + 9
    assert "espeak01-m3" not in splits.validation.groups + splits.test.groups
    assert len(splits.test) == 12
    with pytest.raises(UserError, match="extra_train"):
        demo = dataclasses.replace(recipe.data, extra_train=("demo:phones",))
        data.read_splits(dataclasses.replace(recipe, data=demo))


def test_max_train_minutes_keeps_a_share_of_the_training_recordings_and_the_same_test_split(tmp_path):
    for digit in range(3):
        for take in range(10):
            _wav(tmp_path / f"{digit}_theo_{take}.wav", seconds=0.3)
            _wav(tmp_path / f"{digit}_lucas_{take}.wav", seconds=0.3)
    recipe = _recipe(str(tmp_path), filename_pattern="{text}_{speaker}_{take}", test_groups=("theo",),
                     validation_fraction=0.2, carve_by="recording")
    whole = data.read_splits(recipe)
    cut = data.read_splits(dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, max_train_minutes=0.05)))
    assert len(cut.train) == 10 and set(cut.train.names) < set(whole.train.names)  # 3 s of 0.3 s recordings
    assert cut.test.names == whole.test.names and cut.validation.names == whole.validation.names


def test_carving_by_group_never_puts_one_speaker_in_two_splits(tmp_path):
    for speaker in range(10):
        for take in range(3):
            _wav(tmp_path / f"{take % 2}_s{speaker}_{take}.wav")
    splits = data.read_splits(_recipe(str(tmp_path), filename_pattern="{text}_{speaker}_{take}",
                                      test_fraction=0.2, validation_fraction=0.2))
    groups = [set(part.groups) for part in (splits.train, splits.validation, splits.test)]
    assert all(groups) and not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])


def test_a_name_that_does_not_match_the_pattern_is_named(tmp_path):
    _wav(tmp_path / "hello.wav")
    with pytest.raises(UserError, match="hello.wav: the name does not match"):
        data.read_utterances(_recipe("", filename_pattern="{text}_{speaker}"), str(tmp_path))
    with pytest.raises(UserError, match="no {text} field"):
        formats.pattern_regex("{speaker}_{take}")


def test_joined_recordings_join_one_speakers_recordings_with_gaps():
    part = data.Utterances([np.ones(10, np.float32) * i for i in range(4)], ["1", "2", "3", "4"],
                           ["a", "b", "c", "d"], ["x", "x", "y", "y"], [False] * 4)
    config = dataclasses.replace(recipes.SpeechDataConfig(), join_min=2, join_max=3, join_gap_seconds=0.01)
    joined = data.join(part, 20, config, 1000, np.random.default_rng(0))
    assert len(joined) == 20 and all(joined.joined)
    for samples, transcript, group in zip(joined.audio, joined.texts, joined.groups):
        words = transcript.split()
        assert 2 <= len(words) <= 3
        assert set(words) <= ({"1", "2"} if group == "x" else {"3", "4"})
        assert 20 + 0 <= len(samples) <= 30 + 2 * 10


def test_joined_recordings_draw_a_group_as_often_as_its_share_of_the_recordings():
    # One big group and twenty groups of one recording each (synthetic voices): the big one is half the recordings.
    groups = ["big"] * 20 + [f"voice{n}" for n in range(20)]
    part = data.Utterances([np.ones(10, np.float32)] * 40, ["1"] * 40, [f"r{n}" for n in range(40)], groups,
                           [False] * 40)
    config = dataclasses.replace(recipes.SpeechDataConfig(), join_min=2, join_max=2, join_gap_seconds=0.0)
    joined = data.join(part, 400, config, 1000, np.random.default_rng(0))
    assert 0.4 < joined.groups.count("big") / 400 < 0.6  # not 1/21, as a draw over the groups would give


def test_demo_data_splits_and_normalised_texts():
    splits = data.read_splits(_recipe("demo:phones", demo_utterances=60))
    assert len(splits.train) + len(splits.validation) + len(splits.test) == 60
    assert all(set(t) <= set("aeiokstu ") for t in splits.train.texts)
    assert all(samples.dtype == np.float32 for samples in splits.train.audio)


def test_unknown_test_group_is_refused(tmp_path):
    _wav(tmp_path / "1_ann_0.wav")
    with pytest.raises(UserError, match="data.test_groups names \\['zed'\\]"):
        data.read_splits(_recipe(str(tmp_path), filename_pattern="{text}_{speaker}_{take}", test_groups=("zed",)))
