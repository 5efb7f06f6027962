"""Write files and directories so that readers never see half of one: write under a temporary name in
the same folder, then rename (atomic on POSIX file systems)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
from collections.abc import Callable
from typing import Any


def write_file(path: str | pathlib.Path, write: Callable[[pathlib.Path], Any]) -> pathlib.Path:
    """Call write(temporary path) and rename the result to `path`.

    The temporary name keeps `path`'s suffixes (Keras checks them, e.g. ".weights.h5").
    """
    path = pathlib.Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    write(tmp)
    os.replace(tmp, path)
    return path


def numbered(path: str | pathlib.Path, index: int) -> pathlib.Path:
    """The file a command writes for its `index`-th output (from 0): `path` itself, then NAME-2.EXT, NAME-3.EXT..."""
    path = pathlib.Path(path)
    return path if index == 0 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")


def write_json(path: str | pathlib.Path, value: Any) -> pathlib.Path:
    """Write `value` as indented UTF-8 JSON, atomically."""
    return write_file(path, lambda tmp: tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False),
                                                       encoding="utf-8"))


def write_directory(path: str | pathlib.Path, write: Callable[[pathlib.Path], Any]) -> pathlib.Path:
    """Call write(temporary directory) and swap the result in for `path`, replacing what was there.

    The old directory is moved aside before the new one is renamed into place and deleted after, so
    `path` is at every moment either the complete old or the complete new directory (or briefly absent).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    write(tmp)
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    return path
