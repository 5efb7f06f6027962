"""Labelled texts from TSV/CSV/JSONL files, class folders, aclImdb (folder and .tar.gz), the demo
generator and TFDS, with reproducible splits and errors that name file and line."""

import io
import json
import os
import pathlib
import tarfile
import types

import pytest

from rnnapps.datasets import tfds_source
from rnnapps.errors import UserError
from rnnapps.pipelines.sentiment import data as text_data
from rnnapps.pipelines.sentiment import demo_data


def read(source, seed=0, **settings):
    return text_data.read_splits(text_data.TextClassificationDataConfig(source=str(source), **settings), seed)


def pairs(examples):
    return list(zip(examples.texts, examples.labels))


def all_pairs(found):
    return sorted(pairs(found.train) + pairs(found.validation) + pairs(found.test))


TSV_ROWS = [(f"sentence number {i} is {'good' if i % 2 else 'bad'}", str(i % 2)) for i in range(10)]


@pytest.fixture
def tsv(tmp_path):
    path = tmp_path / "reviews.tsv"
    path.write_text("".join(f"{text}\t{label}\n" for text, label in TSV_ROWS), encoding="utf-8")
    return path


HEADERLESS = dict(header=False, text_column=0, label_column=1)


# --------------------------------------------------------------------------- formats


def test_headerless_tsv_with_numeric_labels(tsv):
    found = read(tsv, **HEADERLESS, test_fraction=0.2, validation_fraction=0.25)
    assert (len(found.train), len(found.validation), len(found.test)) == (6, 2, 2)
    assert found.label_names == ["0", "1"]
    assert all_pairs(found) == sorted(TSV_ROWS)
    assert found.label_ids(found.train) == [int(label) for label in found.train.labels]


def test_tsv_columns_may_be_given_as_digit_strings(tsv):
    found = read(tsv, header=False, text_column="0", label_column="1", test_fraction=0, validation_fraction=0)
    assert pairs(found.train) == TSV_ROWS


def test_tsv_quotes_are_text_and_crlf_is_stripped(tmp_path):
    path = tmp_path / "quotes.tsv"
    path.write_bytes(b'text\tlabel\r\nhe said "hi\tpos\r\n\r\nit\'s "fine" ok\tneg\r\n')
    found = read(path, test_fraction=0, validation_fraction=0)
    assert pairs(found.train) == [('he said "hi', "pos"), ('it\'s "fine" ok', "neg")]


CSV_TEXT = 'text,label\n"good, very good",pos\n"line one\nline two",neg\nplain,pos\n"say ""hi""",neg\n'
CSV_PAIRS = [("good, very good", "pos"), ("line one\nline two", "neg"), ("plain", "pos"), ('say "hi"', "neg")]


def test_csv_with_header_quoted_commas_and_newlines(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    found = read(path, test_fraction=0, validation_fraction=0)
    assert pairs(found.train) == CSV_PAIRS
    assert found.label_names == ["neg", "pos"]
    assert found.label_ids(found.train) == [1, 0, 1, 0]


def test_csv_columns_by_name_in_any_order_and_a_bom(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes("\ufeffreview,id,sentiment\nnice,1,pos\nmeh,2,neg\n".encode("utf-8"))
    found = read(path, text_column="review", label_column="sentiment", test_fraction=0, validation_fraction=0)
    assert pairs(found.train) == [("nice", "pos"), ("meh", "neg")]


def test_explicit_labels_fix_the_class_order(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    found = read(path, labels=("pos", "neg"), test_fraction=0, validation_fraction=0)
    assert found.label_names == ["pos", "neg"]
    assert found.label_ids(found.train) == [0, 1, 0, 1]


def test_jsonl(tmp_path):
    path = tmp_path / "reviews.jsonl"
    records = [{"review": "fine film", "stars": 1}, {"review": "bad film", "stars": 0, "extra": [1]},
               {"review": "ok", "stars": "1"}]
    path.write_text(json.dumps(records[0]) + "\n\n" + "\n".join(json.dumps(r) for r in records[1:]) + "\n",
                    encoding="utf-8")
    found = read(path, text_column="review", label_column="stars", test_fraction=0, validation_fraction=0)
    assert pairs(found.train) == [("fine film", "1"), ("bad film", "0"), ("ok", "1")]
    assert found.label_names == ["0", "1"]


def write_texts(root: pathlib.Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_folder_per_class(tmp_path):
    root = tmp_path / "reviews"
    write_texts(root, {"pos/a.txt": "loved it", "pos/b.txt": "great\nfilm", "neg/a.txt": "hated it",
                       "neg/notes.md": "not a text file", "pos/.hidden.txt": "skip me", ".git/x/y.txt": "skip"})
    found = read(root, test_fraction=0, validation_fraction=0)
    # Sorted by path: neg/ before pos/.
    assert pairs(found.train) == [("hated it", "neg"), ("loved it", "pos"), ("great\nfilm", "pos")]
    assert found.label_names == ["neg", "pos"]
    assert len(found.test) == 0 and len(found.validation) == 0


ACL_FILES = {
    "aclImdb/README": "not a .txt",
    "aclImdb/imdbEr.txt": "0.1\n0.2\n",
    "aclImdb/imdb.vocab": "the\nand\n",
    "aclImdb/train/urls_pos.txt": "http://example.com\n",
    "aclImdb/train/pos/0_9.txt": "train pos zero",
    "aclImdb/train/pos/1_7.txt": "train pos one",
    "aclImdb/train/pos/2_8.txt": "train pos two",
    "aclImdb/train/neg/0_2.txt": "train neg zero",
    "aclImdb/train/neg/1_1.txt": "train neg one<br />with a break",
    "aclImdb/train/neg/2_3.txt": "train neg two",
    "aclImdb/train/unsup/0_0.txt": "unlabelled zero",
    "aclImdb/train/unsup/1_0.txt": "unlabelled one",
    "aclImdb/test/pos/0_10.txt": "test pos zero",
    "aclImdb/test/neg/0_4.txt": "test neg zero",
    "aclImdb/test/neg/1_2.txt": "test neg one",
}
ACL_TRAIN = sorted((text, name.split("/")[2]) for name, text in ACL_FILES.items()
                   if name.startswith("aclImdb/train/") and name.split("/")[2] in ("pos", "neg"))
ACL_TEST = [("test neg zero", "neg"), ("test neg one", "neg"), ("test pos zero", "pos")]


@pytest.fixture
def acl_root(tmp_path):
    write_texts(tmp_path / "extracted", ACL_FILES)
    return tmp_path / "extracted"


@pytest.fixture
def acl_archive(tmp_path):
    path = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name in ["aclImdb", "aclImdb/train", "aclImdb/test"]:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for name, text in reversed(list(ACL_FILES.items())):  # archive order must not matter
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("where", ["folder", "parent_folder", "archive"])
def test_aclimdb_layout(where, acl_root, acl_archive):
    source = {"folder": acl_root / "aclImdb", "parent_folder": acl_root, "archive": acl_archive}[where]
    found = read(source, seed=3, labels=("neg", "pos"), validation_fraction=0.34)
    assert found.label_names == ["neg", "pos"]
    assert pairs(found.test) == ACL_TEST  # the official test split, in path order; nothing carved
    assert (len(found.train), len(found.validation)) == (4, 2)
    assert sorted(pairs(found.train) + pairs(found.validation)) == ACL_TRAIN  # no unsup, no imdbEr.txt, no urls


def test_aclimdb_folder_and_archive_give_the_same_splits(acl_root, acl_archive):
    settings = dict(labels=("neg", "pos"), validation_fraction=0.5)
    assert read(acl_root / "aclImdb", seed=5, **settings) == read(acl_archive, seed=5, **settings)


def test_aclimdb_without_labels_reads_unsup_as_a_class(acl_root):
    found = read(acl_root / "aclImdb", validation_fraction=0)
    assert found.label_names == ["neg", "pos", "unsup"]
    assert len(found.train) == 8


def test_demo_sentiment():
    found = read("demo:sentiment")
    assert (len(found.train), len(found.validation), len(found.test)) == (1620, 180, 200)
    assert found.label_names == ["neg", "pos"]
    texts, labels = demo_data.sentiment_reviews()
    assert all_pairs(found) == sorted(zip(texts, labels))
    assert read("demo:sentiment") == found


def test_demo_is_deterministic_and_balanced_enough():
    texts, labels = demo_data.sentiment_reviews(200, seed=1)
    assert (texts, labels) == demo_data.sentiment_reviews(200, seed=1)
    assert texts != demo_data.sentiment_reviews(200, seed=2)[0]
    assert 60 < labels.count("pos") < 140


def test_unknown_demo():
    with pytest.raises(UserError) as error:
        read("demo:translate")
    assert str(error.value) == "unknown demo dataset 'demo:translate'; known: demo:sentiment"


def test_separate_test_source(tmp_path, tsv):
    test_path = tmp_path / "held_out.tsv"
    test_path.write_text("a new one\t1\nanother\t0\n", encoding="utf-8")
    found = read(tsv, **HEADERLESS, test_source=str(test_path), validation_fraction=0.2)
    assert pairs(found.test) == [("a new one", "1"), ("another", "0")]
    assert (len(found.train), len(found.validation)) == (8, 2)
    assert sorted(pairs(found.train) + pairs(found.validation)) == sorted(TSV_ROWS)


# --------------------------------------------------------------------------- TFDS (offline)


@pytest.fixture
def mocked_imdb(tmp_path):
    """imdb_reviews mocked offline, with metadata that declares its three real splits."""
    tfds = pytest.importorskip("tensorflow_datasets")
    builder = tfds.builder("imdb_reviews", data_dir=str(tmp_path))
    info = builder.info
    info.set_splits(tfds.core.SplitDict([
        tfds.core.SplitInfo(name=name, shard_lengths=[8], num_bytes=0) for name in ("train", "test", "unsupervised")]))
    os.makedirs(builder.data_dir, exist_ok=True)
    info.write_to_directory(builder.data_dir)
    with tfds.testing.mock_data(num_examples=8, data_dir=str(tmp_path)):
        yield


def test_tfds_imdb_reviews_offline(mocked_imdb):
    found = read("tfds:imdb_reviews", validation_fraction=0.25)
    assert found.label_names == ["neg", "pos"]
    assert (len(found.train), len(found.validation), len(found.test)) == (6, 2, 8)
    for examples in (found.train, found.validation, found.test):
        assert set(examples.labels) <= {"neg", "pos"}
        assert all(isinstance(text, str) and text for text in examples.texts)


def test_tfds_reads_only_labelled_train_validation_test(mocked_imdb):
    found = text_data.read_labelled_texts("imdb_reviews", "text", "label")
    assert sorted(found) == ["test", "train"]  # "unsupervised" is not read


def test_tfds_unknown_feature(mocked_imdb):
    with pytest.raises(UserError) as error:
        read("tfds:imdb_reviews", text_column="review")
    assert str(error.value) == "TFDS dataset 'imdb_reviews' has no feature 'review'; it has ['label', 'text']"


def test_tfds_skips_unlabelled_examples(monkeypatch):
    info = types.SimpleNamespace(features={"sentence": object(), "label": types.SimpleNamespace(names=["neg", "pos"])})
    datasets = {
        "train": [{"sentence": b"good", "label": 1}, {"sentence": b"bad", "label": 0}],
        "validation": [{"sentence": b"fine", "label": 1}],
        "test": [{"sentence": b"hidden", "label": -1}],  # GLUE-style unlabelled test split
        "unsupervised": [{"sentence": b"x", "label": -1}],
    }
    monkeypatch.setattr(tfds_source, "load_splits", lambda name, data_dir="": (datasets, info))
    found = text_data.read_labelled_texts("glue/sst2", "sentence", "label")
    assert sorted(found) == ["train", "validation"]
    assert pairs(found["train"]) == [("good", "pos"), ("bad", "neg")]


# --------------------------------------------------------------------------- splits


def test_splits_are_reproducible(tsv):
    first = read(tsv, seed=1, **HEADERLESS, test_fraction=0.3, validation_fraction=0.3)
    assert read(tsv, seed=1, **HEADERLESS, test_fraction=0.3, validation_fraction=0.3) == first
    other = read(tsv, seed=2, **HEADERLESS, test_fraction=0.3, validation_fraction=0.3)
    assert (pairs(other.train), pairs(other.test)) != (pairs(first.train), pairs(first.test))
    assert all_pairs(other) == all_pairs(first) == sorted(TSV_ROWS)


def test_a_rare_label_never_fails_the_split(tmp_path):
    path = tmp_path / "rare.tsv"
    path.write_text("".join(f"t{i}\t{'ab'[i % 2]}\n" for i in range(18)) + "only once\tc\n", encoding="utf-8")
    for seed in range(8):
        found = read(path, seed=seed, **HEADERLESS, test_fraction=0.2, validation_fraction=0.2)
        assert found.label_names == ["a", "b", "c"]


# --------------------------------------------------------------------------- errors


def test_empty_headerless_file(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(path, **HEADERLESS)
    assert str(error.value) == f"{path} has no examples"


def test_empty_file_with_header(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == f"{path} is empty"


def test_non_utf8_bytes_name_the_line(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes(b"fine\t1\nalso fine\t0\n" + "café\t1\n".encode("latin-1"))
    with pytest.raises(UserError) as error:
        read(path, **HEADERLESS)
    assert str(error.value) == (f"{path} line 3: not valid utf-8 (byte 0xe9 at column 4); re-save the file "
                                "as UTF-8 or set data.encoding")


def test_other_encodings_can_be_read(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("café\t1\nthé\t0\n".encode("latin-1"))
    found = read(path, **HEADERLESS, encoding="latin-1", test_fraction=0, validation_fraction=0)
    assert pairs(found.train) == [("café", "1"), ("thé", "0")]


def test_unknown_encoding(tsv):
    with pytest.raises(UserError) as error:
        read(tsv, **HEADERLESS, encoding="klingon")
    assert str(error.value) == "data.encoding = 'klingon' is not a known text encoding"


def test_tsv_line_with_a_missing_column(tmp_path):
    path = tmp_path / "short.tsv"
    path.write_text("good\t1\n\nno label here\nbad\t0\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(path, **HEADERLESS)
    assert str(error.value) == (f"{path} line 3: expected at least 2 columns (text in column 0, label in column 1), "
                                "found 1")


def test_csv_short_row_after_a_multiline_field_names_its_line(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text('text,label\n"two\nlines",pos\nshort\n', encoding="utf-8")
    with pytest.raises(UserError, match=f"^{path} line 4: expected at least 2 columns"):
        read(path)


def test_empty_label(tmp_path):
    path = tmp_path / "blank.tsv"
    path.write_text("good\t1\nbad\t \n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(path, **HEADERLESS)
    assert str(error.value) == f"{path} line 2: the label is empty"


def test_missing_header_column(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(path, text_column="review")
    assert str(error.value) == f"{path}: no column 'review' for data.text_column; the header has ['text', 'label']"


def test_column_name_without_header(tsv):
    with pytest.raises(UserError) as error:
        read(tsv, header=False)
    assert str(error.value) == ("data.text_column = 'text' names a column, but data.header = false; "
                                "use a 0-based index")


def test_unknown_label_against_configured_labels(tsv):
    with pytest.raises(UserError) as error:
        read(tsv, **HEADERLESS, labels=("0", "2"))
    assert str(error.value) == ("the training data has label '1', which is not among the labels ['0', '2']; "
                                "add it to data.labels or fix the data")


def test_label_only_in_test(tmp_path, tsv):
    test_path = tmp_path / "test.tsv"
    test_path.write_text("odd one\t7\nfine\t1\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(tsv, **HEADERLESS, test_source=str(test_path))
    assert str(error.value) == ("the test data has label '7', which is not among the labels ['0', '1']; "
                                "add it to data.labels or fix the data")


def test_missing_source(tmp_path):
    for name in ("nope.tsv", "nope_folder"):
        with pytest.raises(UserError) as error:
            read(tmp_path / name)
        assert str(error.value) == (f"data.source = {str(tmp_path / name)!r}: no such file or folder "
                                    f"(looked in {pathlib.Path.cwd()})")


def test_missing_test_source(tmp_path, tsv):
    with pytest.raises(UserError, match=r"^data.test_source = '.*gone.tsv': no such file or folder"):
        read(tsv, **HEADERLESS, test_source=str(tmp_path / "gone.tsv"))


def test_unknown_format_suffix(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text("good\t1\nbad\t0\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == (f"data.source = {str(path)!r}: cannot tell its format from the name; "
                                "set data.format to one of folder, csv, tsv, jsonl, tfds, demo")
    # An explicit format reads it.
    found = read(path, format="tsv", **HEADERLESS, test_fraction=0, validation_fraction=0)
    assert pairs(found.train) == [("good", "1"), ("bad", "0")]


def test_single_label_dataset(tmp_path):
    path = tmp_path / "one.tsv"
    path.write_text("good\tpos\ngreat\tpos\nfine\tpos\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(path, **HEADERLESS)
    assert str(error.value) == "a classifier needs at least two labels; the training data has only ['pos']"


def test_single_class_folder(tmp_path):
    write_texts(tmp_path / "only", {"pos/a.txt": "good", "pos/b.txt": "great"})
    with pytest.raises(UserError) as error:
        read(tmp_path / "only")
    assert str(error.value) == "a classifier needs at least two labels; the training data has only ['pos']"


def test_folder_without_class_folders(tmp_path):
    write_texts(tmp_path / "flat", {"a.txt": "good", "b.txt": "bad"})
    with pytest.raises(UserError) as error:
        read(tmp_path / "flat")
    assert str(error.value) == (f"{tmp_path / 'flat'} has no class folders with .txt files "
                                "(expected CLASS/*.txt or SPLIT/CLASS/*.txt)")


def test_folder_file_not_utf8(tmp_path):
    write_texts(tmp_path / "r", {"pos/a.txt": "good", "neg/a.txt": "bad"})
    (tmp_path / "r" / "neg" / "b.txt").write_bytes(b"caf\xe9")
    with pytest.raises(UserError) as error:
        read(tmp_path / "r")
    assert str(error.value) == (f"{tmp_path / 'r'}: neg/b.txt is not valid utf-8; re-save it as UTF-8 "
                                "or set data.encoding")


def test_bad_json_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "label": "pos"}\n{"text": "broken", "label": }\n', encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == f"{path} line 2: not valid JSON (Expecting value)"


@pytest.mark.parametrize("line, message", [
    ('["a list"]', "expected a JSON object, found list"),
    ('{"text": "x"}', "no key 'label' (keys: ['text'])"),
    ('{"text": "x", "label": true}', "label True must be a string or an integer"),
    ('{"text": "x", "label": 1.5}', "label 1.5 must be a string or an integer"),
    ('{"text": null, "label": "pos"}', "text None must be a string"),
])
def test_bad_json_records(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "label": "pos"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == f"{path} line 2: {message}"
