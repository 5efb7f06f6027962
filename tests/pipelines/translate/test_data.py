"""Sentence pairs from Anki TSV files, two parallel files, TFDS (offline) and the demo generator, split
so that no source sentence is in two splits, with errors that name file and line."""

import os
import pathlib

import pytest

from rnnapps.datasets import tfds_source
from rnnapps.errors import UserError
from rnnapps.pipelines.translate import data as parallel
from rnnapps.pipelines.translate import demo_data as demo

SPA_TXT = pathlib.Path(__file__).resolve().parents[4] / "shared/data/spa-eng/spa.txt"


def read(source, seed=0, **settings):
    return parallel.read_splits(parallel.ParallelDataConfig(source=str(source), **settings), seed)


def pairs(examples):
    return list(zip(examples.sources, examples.targets))


def all_pairs(found):
    return sorted(pairs(found.train) + pairs(found.validation) + pairs(found.test))


NO_SPLIT = dict(validation_fraction=0, test_fraction=0)

ANKI_TEXT = ("Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #4986655 (cueyayotl)\r\n"
             "Go.\tVete.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #4986656 (cueyayotl)\r\n"
             "\n"
             " Hi. \tHola.\tCC-BY 2.0 (France) Attribution: tatoeba.org #538123 (CM) & #431975 (Leono)\n"
             'He said "hi".\tDijo "hola".\n')


@pytest.fixture
def anki(tmp_path):
    path = tmp_path / "spa.txt"  # .txt, like the Anki downloads: read as TSV
    path.write_text(ANKI_TEXT, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- formats


def test_anki_tsv_with_attribution_default_direction(anki):
    found = read(anki, **NO_SPLIT)
    # Column 1 (Spanish) is the source, column 0 (English) the target; blank lines and the attribution
    # column are skipped, surrounding whitespace and CRLF are stripped, quotes are text.
    assert pairs(found.train) == [("Ve.", "Go."), ("Vete.", "Go."), ("Hola.", "Hi."), ('Dijo "hola".', 'He said "hi".')]
    assert len(found.validation) == 0 and len(found.test) == 0


def test_anki_tsv_other_direction_via_columns(anki):
    found = read(anki, source_column=0, target_column=1, **NO_SPLIT)
    assert pairs(found.train) == [("Go.", "Ve."), ("Go.", "Vete."), ("Hi.", "Hola."), ('He said "hi".', 'Dijo "hola".')]
    assert found.train.grouped() == (["Go.", "Hi.", 'He said "hi".'], [["Ve.", "Vete."], ["Hola."], ['Dijo "hola".']])


def test_explicit_tsv_format_for_any_file_name(tmp_path):
    path = tmp_path / "pairs.data"
    path.write_text("one\tuno\n", encoding="utf-8")
    assert pairs(read(path, format="tsv", **NO_SPLIT).train) == [("uno", "one")]


def test_two_parallel_files(tmp_path):
    source, target = tmp_path / "train.pt", tmp_path / "train.en"
    source.write_text("olá\n\n obrigado \ntchau\n", encoding="utf-8")
    target.write_text("hello\n\nthank you\nbye\n\n\n", encoding="utf-8")  # blank lines at the end are ignored
    found = read(source, target_source=str(target), **NO_SPLIT)
    assert pairs(found.train) == [("olá", "hello"), ("obrigado", "thank you"), ("tchau", "bye")]
    assert read(source, target_source=str(target), format="parallel_files", **NO_SPLIT) == found


def test_a_corpus_own_validation_and_test_files_are_used_as_they_are(tmp_path):
    lines = {"train": "one\tuno\ntwo\tdos\nthree\ttres\n", "valid": "four\tcuatro\n", "test": "five\tcinco\n"}
    for split, text in lines.items():
        (tmp_path / f"{split}.tsv").write_text(text, encoding="utf-8")
    found = read(tmp_path / "train.tsv", validation_source=str(tmp_path / "valid.tsv"),
                 test_source=str(tmp_path / "test.tsv"))
    assert len(found.train) == 3 and pairs(found.validation) == [("cuatro", "four")]
    assert pairs(found.test) == [("cinco", "five")]
    only_test = read(tmp_path / "train.tsv", test_source=str(tmp_path / "test.tsv"), validation_fraction=0.34)
    assert pairs(only_test.test) == [("cinco", "five")] and len(only_test.train) + len(only_test.validation) == 3
    with pytest.raises(UserError, match="data.test_target_source = .* is only read with two parallel files"):
        read(tmp_path / "train.tsv", test_source=str(tmp_path / "test.tsv"), test_target_source="x.en")
    with pytest.raises(UserError, match="data.validation_target_source is empty"):
        read(tmp_path / "train.tsv", target_source=str(tmp_path / "train.tsv"), validation_source="v.pt")


def test_demo_translation():
    found = read("demo:translation")
    assert (len(found.train), len(found.validation), len(found.test)) == (3560, 213, 227)
    # 3625 distinct sources: 5% of them (181) go to test, 5% of all (181) to validation.
    assert (len(set(found.validation.sources)), len(set(found.test.sources))) == (181, 181)
    assert all_pairs(found) == sorted(zip(*demo.translation_pairs()))
    assert_no_shared_sources(found)


def test_unknown_demo():
    with pytest.raises(UserError) as error:
        read("demo:sentiment")
    assert str(error.value) == "unknown demo dataset 'demo:sentiment'; known: demo:translation"


# --------------------------------------------------------------------------- TFDS (offline)

TED_NAME = "ted_hrlr_translate/pt_to_en"
TED_SIZES = {"train": 5, "validation": 2, "test": 3}


@pytest.fixture
def mocked_ted(tmp_path):
    """ted_hrlr_translate/pt_to_en mocked offline: split metadata on disk, and examples whose text says
    which language and split they come from."""
    tfds = pytest.importorskip("tensorflow_datasets")
    tf = pytest.importorskip("tensorflow")
    builder = tfds.builder(TED_NAME, data_dir=str(tmp_path))
    info = builder.info
    info.set_splits(tfds.core.SplitDict([tfds.core.SplitInfo(name=name, shard_lengths=[count], num_bytes=0)
                                         for name, count in TED_SIZES.items()]))
    os.makedirs(builder.data_dir, exist_ok=True)
    info.write_to_directory(builder.data_dir)

    def as_dataset(self, split, decoders=None, read_config=None, **kwargs):
        count = TED_SIZES[str(split)]
        return tf.data.Dataset.from_tensor_slices({
            "pt": [f"pt {split} {i} " for i in range(count)], "en": [f"en {split} {i}" for i in range(count)]})

    with tfds.testing.mock_data(data_dir=str(tmp_path), as_dataset_fn=as_dataset):
        yield


def test_tfds_ted_hrlr_pt_to_en_offline(mocked_ted):
    found = read(f"tfds:{TED_NAME}", source_language="pt", target_language="en")
    for split in ("train", "validation", "test"):  # the dataset's own splits, as they are
        assert pairs(getattr(found, split)) == [(f"pt {split} {i}", f"en {split} {i}") for i in range(TED_SIZES[split])]


def test_tfds_other_direction_and_max_examples_per_split(mocked_ted):
    found = read(f"tfds:{TED_NAME}", source_language="en", target_language="pt", max_examples=2)
    assert (len(found.train), len(found.validation), len(found.test)) == (2, 2, 2)
    assert all(source.startswith("en ") and target.startswith("pt ")
               for source, target in pairs(found.train) + pairs(found.test))


def test_tfds_unknown_language(mocked_ted):
    with pytest.raises(UserError) as error:
        read(f"tfds:{TED_NAME}", source_language="es", target_language="en")
    assert str(error.value) == ("data.source_language = 'es': TFDS dataset 'ted_hrlr_translate/pt_to_en' has no "
                                "such feature; it has ['en', 'pt']")


def test_tfds_languages_are_required(mocked_ted):
    with pytest.raises(UserError) as error:
        read(f"tfds:{TED_NAME}", source_language="pt")
    assert str(error.value) == ("data.target_language is empty: a TFDS source needs it; TFDS dataset "
                                "'ted_hrlr_translate/pt_to_en' has the features ['en', 'pt']")


def test_tfds_dev_split_is_validation_and_missing_test_is_carved(monkeypatch):
    info = type("Info", (), {"features": {"de": None, "en": None}})()
    datasets = {
        "train": [{"de": f"satz {i}".encode(), "en": f"sentence {i}".encode()} for i in range(10)]
        + [{"de": b"", "en": b"empty source"}],  # skipped: a published dataset cannot be fixed
        "dev": [{"de": b"hallo", "en": b"hello"}],
        "extra": [{"de": b"x", "en": b"y"}],  # not train, validation or test: not read
    }
    monkeypatch.setattr(tfds_source, "load_splits", lambda name, data_dir="": (datasets, info))
    found = read("tfds:wmt_mock/de-en", source_language="de", target_language="en", test_fraction=0.2)
    assert pairs(found.validation) == [("hallo", "hello")]
    assert (len(found.train), len(found.test)) == (8, 2)
    assert all_pairs(found) == sorted([(f"satz {i}", f"sentence {i}") for i in range(10)] + [("hallo", "hello")])


def test_tfds_without_a_train_split(monkeypatch):
    info = type("Info", (), {"features": {"de": None, "en": None}})()
    datasets = {"test": [{"de": b"hallo", "en": b"hello"}]}
    monkeypatch.setattr(tfds_source, "load_splits", lambda name, data_dir="": (datasets, info))
    with pytest.raises(UserError) as error:
        read("tfds:wmt_mock/de-en", source_language="de", target_language="en")
    assert str(error.value) == "data.source = 'tfds:wmt_mock/de-en' has no training pairs (splits found: ['test'])"


# --------------------------------------------------------------------------- splits


def assert_no_shared_sources(found):
    train, validation, test = (set(split.sources) for split in (found.train, found.validation, found.test))
    assert not train & validation and not train & test and not validation & test


@pytest.fixture
def many_translations(tmp_path):
    """60 English sentences with 1 to 4 Spanish translations each (150 lines), sentences interleaved."""
    rows = [(f"sentence {i}", f"frase {i} version {k}") for k in range(4) for i in range(60) if k <= i % 4]
    path = tmp_path / "many.tsv"
    path.write_text("".join(f"{english}\t{spanish}\n" for english, spanish in rows), encoding="utf-8")
    return path, rows


def test_grouped_split_keeps_every_source_in_one_split(many_translations):
    path, rows = many_translations
    found = read(path, seed=4, source_column=0, target_column=1, validation_fraction=0.2, test_fraction=0.2)
    assert len(rows) == 150
    assert_no_shared_sources(found)
    # 20% of the 60 sources each, with all their translations.
    assert (len(set(found.train.sources)), len(set(found.validation.sources)), len(set(found.test.sources))) == (
        36, 12, 12)
    assert all_pairs(found) == sorted(rows)
    for split in (found.train, found.validation, found.test):
        sources, references = split.grouped()
        for source, found_references in zip(sources, references):
            number = int(source.split()[1])
            assert found_references == [f"frase {number} version {k}" for k in range(number % 4 + 1)]


def test_splits_are_reproducible(many_translations):
    path, _ = many_translations
    settings = dict(source_column=0, target_column=1, validation_fraction=0.2, test_fraction=0.2)
    first = read(path, seed=1, **settings)
    assert read(path, seed=1, **settings) == first
    other = read(path, seed=2, **settings)
    assert set(other.test.sources) != set(first.test.sources)
    assert all_pairs(other) == all_pairs(first)


def test_grouped_collects_distinct_references_in_order():
    found = parallel.SentencePairs(["a", "b", "a", "a", "c", "b"], ["x", "y", "z", "x", "w", "v"])
    assert found.grouped() == (["a", "b", "c"], [["x", "z"], ["y", "v"], ["w"]])
    assert found.subset([4, 0]) == parallel.SentencePairs(["c", "a"], ["w", "x"])
    assert len(found) == 6


def test_max_examples_is_a_seeded_subset_in_file_order(tmp_path):
    path = tmp_path / "fifty.tsv"
    rows = [(f"english {i}", f"spanish {i}") for i in range(50)]
    path.write_text("".join(f"{e}\t{s}\n" for e, s in rows), encoding="utf-8")
    subset = read(path, seed=3, max_examples=10, **NO_SPLIT).train
    assert len(subset) == 10
    numbers = [int(source.split()[1]) for source in subset.sources]
    assert numbers == sorted(numbers) and numbers != list(range(10))
    assert pairs(subset) == [(f"spanish {i}", f"english {i}") for i in numbers]
    assert read(path, seed=3, max_examples=10, **NO_SPLIT).train == subset
    assert read(path, seed=4, max_examples=10, **NO_SPLIT).train != subset
    assert len(read(path, max_examples=100, **NO_SPLIT).train) == 50
    # It applies before splitting.
    found = read(path, max_examples=20, validation_fraction=0.1, test_fraction=0.1)
    assert (len(found.train), len(found.validation), len(found.test)) == (16, 2, 2)


# --------------------------------------------------------------------------- errors


def error_of(source, **settings):
    with pytest.raises(UserError) as error:
        read(source, **settings)
    return str(error.value)


def test_missing_files(tmp_path):
    missing = str(tmp_path / "nope.txt")
    assert error_of(missing) == f"data.source = {missing!r}: no such file or folder (looked in {pathlib.Path.cwd()})"
    existing = tmp_path / "src.txt"
    existing.write_text("a\n", encoding="utf-8")
    assert error_of(existing, target_source=missing) == (
        f"data.target_source = {missing!r}: no such file or folder (looked in {pathlib.Path.cwd()})")
    assert error_of(tmp_path, format="tsv") == (f"data.source = {str(tmp_path)!r} is a folder; expected a text "
                                               "file of sentence pairs")


def test_empty_tsv(tmp_path):
    path = tmp_path / "empty.tsv"
    for text in ("", "\n  \n\n"):
        path.write_text(text, encoding="utf-8")
        assert error_of(path) == (f"{path} is empty: expected one sentence pair per line, source in column 1 and "
                                  "target in column 0, separated by tabs")


def test_tsv_line_with_too_few_columns(tmp_path):
    path = tmp_path / "short.tsv"
    path.write_text("Go.\tVe.\n\nHello\n", encoding="utf-8")
    assert error_of(path) == (f"{path} line 3: found 1 column, expected source in column 1 and target in column 0 "
                              "(0-based; set data.source_column and data.target_column)")
    assert error_of(path, source_column=2) == (
        f"{path} line 1: found 2 columns, expected source in column 2 and target in column 0 "
        "(0-based; set data.source_column and data.target_column)")


@pytest.mark.parametrize("line, side, column", [("Go.\t \tattribution", "source", 1), ("\tVe.", "target", 0)])
def test_tsv_empty_sentence(tmp_path, line, side, column):
    path = tmp_path / "blank.tsv"
    path.write_text(f"Hi.\tHola.\n{line}\n", encoding="utf-8")
    assert error_of(path) == (f"{path} line 2: the {side} sentence (column {column}) is empty; fill it in or "
                              "delete the line")


def test_tsv_not_utf8(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes(b"Hi.\tHola.\n" + "Coffee.\tCafé.\n".encode("latin-1"))
    assert error_of(path) == (f"{path} line 2: not valid utf-8 (byte 0xe9 at column 12); re-save the file as "
                              "UTF-8 or set data.encoding")
    assert pairs(read(path, encoding="latin-1", **NO_SPLIT).train) == [("Hola.", "Hi."), ("Café.", "Coffee.")]


def test_parallel_files_with_different_line_counts(tmp_path):
    source, target = tmp_path / "x.txt", tmp_path / "y.txt"
    source.write_text("".join(f"s{i}\n" for i in range(10)), encoding="utf-8")
    target.write_text("".join(f"t{i}\n" for i in range(9)), encoding="utf-8")
    assert error_of(source, target_source=str(target)) == (
        f"{source} has 10 lines but {target} has 9; line N of one file must translate line N of the other")


def test_parallel_files_blank_on_one_side(tmp_path):
    source, target = tmp_path / "x.txt", tmp_path / "y.txt"
    source.write_text("a\nb\nc\n", encoding="utf-8")
    target.write_text("A\n \nC\n", encoding="utf-8")
    assert error_of(source, target_source=str(target)) == (
        f"{target} line 2 is empty but {source} line 2 is not; give both files a sentence on that line or "
        "delete it from both")


def test_parallel_file_empty_or_not_utf8(tmp_path):
    source, target = tmp_path / "x.txt", tmp_path / "y.txt"
    source.write_text("a\n", encoding="utf-8")
    target.write_text("\n\n", encoding="utf-8")
    assert error_of(source, target_source=str(target)) == f"{target} is empty: expected one sentence per line"
    target.write_bytes(b"caf\xe9\n")
    assert error_of(source, target_source=str(target)) == (
        f"{target} line 1: not valid utf-8 (byte 0xe9 at column 4); re-save the file as UTF-8 or set data.encoding")


def test_parallel_files_need_a_target_source(anki):
    assert error_of(anki, format="parallel_files") == (
        "data.target_source is empty: with data.format = 'parallel_files' set it to the target-language file "
        "(line N translates line N of data.source)")


def test_target_source_with_another_format(anki):
    assert error_of(anki, format="tsv", target_source="y.txt") == (
        "data.target_source = 'y.txt' is only read with data.format = 'parallel_files', but the format is 'tsv'; "
        "clear data.target_source or set data.format = 'parallel_files'")
    assert error_of("demo:translation", target_source="y.txt").endswith("but the format is 'demo'; clear "
                                                                      "data.target_source or set data.format = "
                                                                      "'parallel_files'")


def test_unknown_file_suffix(tmp_path):
    path = tmp_path / "pairs.json"
    path.write_text("{}", encoding="utf-8")
    assert error_of(path) == (f"data.source = {str(path)!r}: cannot tell its format from the name; set "
                              "data.format to one of tsv, parallel_files, tfds, demo")


@pytest.mark.parametrize("settings, message", [
    (dict(format="csv"), "data.format = 'csv' is not one of auto, tsv, parallel_files, tfds, demo"),
    (dict(test_fraction=1.0), "data.test_fraction = 1.0: expected a share in [0, 1)"),
    (dict(validation_fraction=-0.1), "data.validation_fraction = -0.1: expected a share in [0, 1)"),
    (dict(validation_fraction=0.5, test_fraction=0.5),
     "data.validation_fraction + data.test_fraction = 1 leaves no training data; keep the sum below 1"),
    (dict(max_examples=-1), "data.max_examples = -1: expected 0 (all) or a positive count"),
    (dict(source_column=0), "data.source_column = 0 and data.target_column = 0: expected two different 0-based "
                            "column numbers"),
])
def test_bad_settings(anki, settings, message):
    assert error_of(anki, **settings) == message


# --------------------------------------------------------------------------- real data


@pytest.mark.real_data
def test_spa_eng_real_data():
    if not SPA_TXT.is_file():
        pytest.skip(f"{SPA_TXT} is absent")
    found = read(SPA_TXT)
    assert len(found.train) + len(found.validation) + len(found.test) == 118_964
    assert (len(found.train), len(found.validation), len(found.test)) == (107_073, 5_955, 5_936)
    # Spanish -> English by default: 113,322 distinct Spanish sentences, 5% of them in each held-out split.
    assert (len(set(found.validation.sources)), len(set(found.test.sources))) == (5_666, 5_666)
    assert_no_shared_sources(found)
    assert found.test.grouped()[0] == list(dict.fromkeys(found.test.sources))
