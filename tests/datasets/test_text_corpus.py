"""One running text for language models: files, folders, archives, TFDS (offline) and a text the caller makes,
split by position, with errors that name the file and line."""

import io
import os
import pathlib
import re
import tarfile

import pytest

from rnnapps.datasets import text_corpus
from rnnapps.errors import UserError


def read(source, **settings):
    return text_corpus.read_corpus(text_corpus.TextCorpusConfig(source=str(source), **settings))


def whole(corpus):
    return corpus.train + corpus.validation


# --------------------------------------------------------------------------- split by position


def test_split_is_by_position(tmp_path):
    path = tmp_path / "input.txt"
    text = "".join(f"line {i:03d}\n" for i in range(100))  # 900 characters
    path.write_text(text, encoding="utf-8")
    corpus = read(path)
    assert (len(corpus.train), len(corpus.validation)) == (810, 90)
    assert corpus.train == text[:810] and corpus.validation == text[810:]  # the last 10%, in order
    assert corpus.origin == "input.txt (900 characters)"


def test_split_fractions_round_and_zero(tmp_path):
    path = tmp_path / "input.txt"
    path.write_text("abcdefghij" * 3 + "xyz", encoding="utf-8")  # 33 characters
    corpus = read(path, validation_fraction=0.25)
    assert (corpus.train, corpus.validation) == ("abcdefghij" * 2 + "abcde", "fghijxyz")  # round(8.25) = 8
    corpus = read(path, validation_fraction=0)
    assert (corpus.train, corpus.validation) == ("abcdefghij" * 3 + "xyz", "")
    assert whole(read(path, validation_fraction=0.5)) == "abcdefghij" * 3 + "xyz"


@pytest.mark.parametrize("fraction", [-0.1, 0.6, 1.0, float("nan")])
def test_bad_validation_fraction(tmp_path, fraction):
    path = tmp_path / "input.txt"
    path.write_text("plenty of text\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(path, validation_fraction=fraction)
    assert str(error.value) == f"data.validation_fraction = {fraction}: expected a share in [0, 0.5]"


# --------------------------------------------------------------------------- local files


def test_folder_is_read_in_sorted_order_with_newline_joins(tmp_path):
    folder = tmp_path / "poems"
    (folder / "b" / "deep").mkdir(parents=True)
    (folder / "b.txt").write_text("second\n", encoding="utf-8")
    (folder / "a.txt").write_text("first, no newline", encoding="utf-8")  # gets one before the next file
    (folder / "b" / "deep" / "c.txt").write_text("nested", encoding="utf-8")
    (folder / "b" / "empty.txt").write_text("", encoding="utf-8")  # adds no blank line
    (folder / "notes.md").write_text("not a .txt file\n", encoding="utf-8")
    (folder / ".hidden.txt").write_text("hidden\n", encoding="utf-8")
    corpus = read(folder, validation_fraction=0)
    # Sorted by path parts: a.txt, then b/deep/c.txt, b/empty.txt (inside folder b), then b.txt.
    assert corpus.train == "first, no newline\nnested\nsecond\n"
    assert corpus.origin == "4 files under poems/ (32 characters)"


def test_file_suffix_filter(tmp_path):
    (tmp_path / "a.txt").write_text("text\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("markdown\n", encoding="utf-8")
    assert read(tmp_path, file_suffix=".md", validation_fraction=0).train == "markdown\n"
    assert read(tmp_path, file_suffix="", validation_fraction=0).train == "text\nmarkdown\n"


def test_tar_gz_of_a_folder(tmp_path):
    path = tmp_path / "poems.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in (("poems/z.txt", "zeta"), ("poems/a.txt", "alpha\n"), ("poems/skip.md", "no")):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    corpus = read(path, validation_fraction=0)
    assert corpus.train == "alpha\nzeta\n"
    assert corpus.origin == "2 files in poems.tar.gz (11 characters)"


def test_byte_order_mark_and_windows_line_endings(tmp_path):
    path = tmp_path / "input.txt"
    path.write_bytes(b"\xef\xbb\xbfFIRST:\r\nhello\r\n")
    assert whole(read(path)) == "FIRST:\nhello\n"
    (tmp_path / "other.txt").write_bytes(b"\xef\xbb\xbfsecond\n")  # every file of a folder loses its mark
    assert whole(read(tmp_path)) == "FIRST:\nhello\nsecond\n"


def test_other_encoding(tmp_path):
    path = tmp_path / "input.txt"
    path.write_bytes("café crème\n".encode("latin-1"))
    assert whole(read(path, encoding="latin-1")) == "café crème\n"


def test_bad_bytes_name_the_file_and_line(tmp_path):
    path = tmp_path / "input.txt"
    path.write_bytes(b"fine\nalso fine\nbad \xff byte\n")
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == (f"{path} line 3: not valid utf-8 (byte 0xff at column 5); re-save the file as "
                                "UTF-8 or set data.encoding")
    (tmp_path / "sub").mkdir()
    inner = tmp_path / "sub" / "bad.txt"
    path.rename(inner)
    with pytest.raises(UserError, match=f"^{re.escape(str(inner))} line 3: not valid utf-8"):
        read(tmp_path)
    with pytest.raises(UserError) as error:
        read(inner, encoding="klingon")
    assert str(error.value) == "data.encoding = 'klingon' is not a known text encoding"


def test_bad_bytes_in_an_archive_name_the_member(tmp_path):
    path = tmp_path / "texts.tgz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("texts/bad.txt")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"a\n\xfe"))
    with pytest.raises(UserError,
                       match=r"texts\.tgz: texts/bad\.txt line 2: not valid utf-8 \(byte 0xfe at column 1\)"):
        read(path)


def test_missing_path(tmp_path):
    missing = str(tmp_path / "nowhere.txt")
    with pytest.raises(UserError) as error:
        read(missing)
    assert str(error.value) == f"data.source = {missing!r}: no such file or folder (looked in {pathlib.Path.cwd()})"


def test_folder_without_matching_files(tmp_path):
    (tmp_path / "notes.md").write_text("words\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read(tmp_path)
    assert str(error.value) == (f"data.source = {str(tmp_path)!r} has no .txt files (hidden files are skipped); "
                                "add some or set data.file_suffix")


def test_empty_text(tmp_path):
    path = tmp_path / "input.txt"
    path.write_bytes(b"\xef\xbb\xbf")  # only a byte order mark
    with pytest.raises(UserError) as error:
        read(path)
    assert str(error.value) == f"data.source = {str(path)!r}: input.txt has no text"
    (tmp_path / "more.txt").write_text("", encoding="utf-8")
    with pytest.raises(UserError, match="2 files under .*/ has no text$"):
        read(tmp_path)


def test_too_small_to_train_on(tmp_path):
    path = tmp_path / "input.txt"
    path.write_text("ab", encoding="utf-8")
    assert read(path).train == "ab"  # round(0.2) = 0 held out: 2 characters are enough
    with pytest.raises(UserError) as error:
        read(path, validation_fraction=0.5)
    assert str(error.value) == (f"data.source = {str(path)!r}: input.txt has 2 characters, leaving 1 for training; "
                                "a language model needs at least 2 (use more text or a smaller "
                                "data.validation_fraction)")


# --------------------------------------------------------------------------- a text the caller makes


def test_the_caller_may_make_the_text():
    # A task's own source (e.g. generated demo text) is made by the task and split here like any other text;
    # the settings are checked before it is made.
    made = []

    def make():
        made.append(True)
        return "abcdefghij" * 10, "the made text"

    corpus = text_corpus.read_corpus(text_corpus.TextCorpusConfig(source="mine"), make_text=make)
    assert (corpus.train, corpus.validation) == ("abcdefghij" * 9, "abcdefghij")
    assert corpus.origin == "the made text (100 characters)"
    with pytest.raises(UserError) as error:
        text_corpus.read_corpus(text_corpus.TextCorpusConfig(source="mine"), make_text=lambda: ("", "nothing"))
    assert str(error.value) == "data.source = 'mine': nothing has no text"
    made.clear()
    with pytest.raises(UserError, match="data.validation_fraction = 0.9"):
        text_corpus.read_corpus(text_corpus.TextCorpusConfig(source="mine", validation_fraction=0.9), make_text=make)
    assert not made


# --------------------------------------------------------------------------- TFDS (offline)

def declare_splits(tfds, data_dir, name, sizes):
    """Write metadata for TFDS dataset `name` that declares the splits in `sizes` (name -> examples)."""
    builder = tfds.builder(name, data_dir=data_dir)
    info = builder.info
    info.set_splits(tfds.core.SplitDict([tfds.core.SplitInfo(name=split, shard_lengths=[count], num_bytes=0)
                                         for split, count in sizes.items()]))
    os.makedirs(builder.data_dir, exist_ok=True)
    info.write_to_directory(builder.data_dir)


@pytest.fixture
def tfds():
    return pytest.importorskip("tensorflow_datasets")


def test_tfds_tiny_shakespeare_random_mock(tfds, tmp_path):
    # Split metadata in an unusual order: the corpus still reads train, validation, test.
    declare_splits(tfds, str(tmp_path), "tiny_shakespeare", {"test": 1, "train": 1, "validation": 1})
    with tfds.testing.mock_data(num_examples=1, data_dir=str(tmp_path)):
        made = {split: [example["text"].decode("utf-8") for example in tfds.as_numpy(dataset)]
                for split, dataset in tfds.load("tiny_shakespeare", data_dir=str(tmp_path)).items()}
        corpus = read("tfds:tiny_shakespeare", tfds_data_dir=str(tmp_path))
    assert sorted(made) == ["test", "train", "validation"] and all(len(texts) == 1 for texts in made.values())
    text = made["train"][0] + made["validation"][0] + made["test"][0]
    assert len(text) >= 30 and whole(corpus) == text
    assert corpus.validation == text[len(text) - round(len(text) * 0.1):]
    assert corpus.origin == f"tfds:tiny_shakespeare train+validation+test ({len(text):,} characters)"


@pytest.fixture
def mocked_texts(tfds, tmp_path):
    """tiny_shakespeare mocked offline: call the fixture with {split: examples} to declare the splits; example
    i of a split is the text "<SPLIT i>"."""
    tf = pytest.importorskip("tensorflow")
    pieces = {}

    def mock(sizes):
        pieces.clear()
        pieces.update({split: [f"<{split} {i}>" for i in range(count)] for split, count in sizes.items()})
        declare_splits(tfds, str(tmp_path), "tiny_shakespeare", sizes)

    def as_dataset(self, split, decoders=None, read_config=None, **kwargs):
        return tf.data.Dataset.from_tensor_slices({"text": pieces[str(split)]})

    with tfds.testing.mock_data(data_dir=str(tmp_path), as_dataset_fn=as_dataset):
        yield mock


def test_tfds_consecutive_pieces_are_joined_as_they_are(mocked_texts):
    mocked_texts({"validation": 1, "test": 1, "train": 1})
    corpus = read("tfds:tiny_shakespeare", validation_fraction=0)
    assert corpus.train == "<train 0><validation 0><test 0>"


def test_tfds_documents_end_with_newlines_and_other_splits_are_skipped(mocked_texts):
    mocked_texts({"train": 2, "test": 1, "extra": 1})
    corpus = read("tfds:tiny_shakespeare", validation_fraction=0)
    assert corpus.train == "<train 0>\n<train 1>\n<test 0>\n"
    assert corpus.origin.startswith("tfds:tiny_shakespeare train+test (")


def test_tfds_without_usable_splits(mocked_texts):
    mocked_texts({"extra": 1})
    with pytest.raises(UserError) as error:
        read("tfds:tiny_shakespeare")
    assert str(error.value) == ("TFDS dataset 'tiny_shakespeare' has none of the splits ['train', 'validation', "
                                "'test']; it has ['extra']")


def test_tfds_missing_text_key(mocked_texts):
    mocked_texts({"train": 1})
    with pytest.raises(UserError) as error:
        read("tfds:tiny_shakespeare", tfds_text_key="content")
    assert str(error.value) == ("TFDS dataset 'tiny_shakespeare' has no feature 'content'; it has ['text']; set "
                                "data.tfds_text_key")
