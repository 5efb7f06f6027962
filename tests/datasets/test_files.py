"""Low-level readers: lines, CSV/TSV, JSONL, folders and tar archives, with file/line errors."""

import io
import pathlib
import tarfile

import pytest

from rnnapps.datasets import files
from rnnapps.errors import UserError


def test_existing_path(tmp_path):
    assert files.existing_path(str(tmp_path)) == tmp_path
    with pytest.raises(UserError) as error:
        files.existing_path("", "data.test_source")
    assert str(error.value) == "data.test_source is empty: set it to a file or folder (or a TFDS name as tfds:NAME)"
    missing = str(tmp_path / "missing.csv")
    with pytest.raises(UserError) as error:
        files.existing_path(missing, "embedding.pretrained_path")
    assert str(error.value) == (f"embedding.pretrained_path = {missing!r}: no such file or folder "
                                f"(looked in {pathlib.Path.cwd()})")


def test_read_lines_numbers_lines_and_strips_newlines(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbffirst\r\n\nthird  \nlast")
    assert list(files.read_lines(path)) == [(1, "first"), (2, ""), (3, "third  "), (4, "last")]


def test_read_lines_names_the_bad_line(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"ok\nbad \xff byte\n")
    lines = files.read_lines(path)
    assert next(lines) == (1, "ok")
    with pytest.raises(UserError) as error:
        next(lines)
    assert str(error.value) == (f"{path} line 2: not valid utf-8 (byte 0xff at column 5); re-save the file as "
                                "UTF-8 or set data.encoding")


def test_read_delimited_tsv_keeps_quotes_and_skips_blank_lines(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text('a "b\tc\n\n \t \nd\te\tf\n', encoding="utf-8")
    assert list(files.read_delimited(path, "\t")) == [(1, ['a "b', "c"]), (4, ["d", "e", "f"])]


def test_read_delimited_csv_follows_rfc4180(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('h1,h2\n"a, b","multi\nline"\n,\n"q ""x""",2\n', encoding="utf-8")
    assert list(files.read_delimited(path, ",")) == [
        (1, ["h1", "h2"]), (3, ["a, b", "multi\nline"]), (5, ['q "x"', "2"])]


def test_read_delimited_csv_error_names_the_line(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\nc\rd,e\n")  # a lone carriage return inside an unquoted field
    rows = files.read_delimited(path, ",")
    assert next(rows) == (1, ["a", "b"])
    with pytest.raises(UserError) as error:
        next(rows)
    assert str(error.value).startswith(f"{path} line 2: new-line character seen in unquoted field")


def test_read_jsonl(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n  \n{"b": [2]}\n', encoding="utf-8")
    assert list(files.read_jsonl(path)) == [(1, {"a": 1}), (4, {"b": [2]})]


@pytest.mark.parametrize("line, message", [
    ("{", "not valid JSON (Expecting property name enclosed in double quotes)"),
    ('{"a": 1} x', "not valid JSON (Extra data)"),
    ("3", "expected a JSON object, found int"),
    ('"text"', "expected a JSON object, found str"),
])
def test_read_jsonl_errors(tmp_path, line, message):
    path = tmp_path / "a.jsonl"
    path.write_text('{"ok": true}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        list(files.read_jsonl(path))
    assert str(error.value) == f"{path} line 2: {message}"


FOLDER = {"b/2.txt": b"two", "a/1.txt": b"one", "a/sub/3.txt": b"three", "a/.hidden.txt": b"h",
          ".cache/4.txt": b"c", "a/readme.md": b"r"}
EXPECTED = [(("a", "1.txt"), b"one"), (("a", "sub", "3.txt"), b"three"), (("b", "2.txt"), b"two")]


def test_iter_folder_texts_in_path_order(tmp_path):
    for name, data in FOLDER.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    assert list(files.iter_folder_texts(tmp_path)) == EXPECTED


@pytest.mark.parametrize("suffix, mode", [(".tar.gz", "w:gz"), (".tgz", "w:gz"), (".tar", "w")])
def test_iter_folder_texts_in_an_archive(tmp_path, suffix, mode):
    path = tmp_path / f"data{suffix}"
    with tarfile.open(path, mode) as archive:
        for name, data in FOLDER.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert list(files.iter_folder_texts(path)) == EXPECTED


def test_iter_folder_texts_rejects_other_files(tmp_path):
    path = tmp_path / "data.zip"
    path.write_bytes(b"PK")
    with pytest.raises(UserError) as error:
        list(files.iter_folder_texts(path))
    assert str(error.value) == f"{path} is neither a folder nor a .tar.gz archive of one"


def test_iter_folder_texts_corrupt_archive(tmp_path):
    path = tmp_path / "data.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00 this is not gzip data")
    with pytest.raises(UserError, match=f"^{path}: cannot read the archive \\("):
        list(files.iter_folder_texts(path))
