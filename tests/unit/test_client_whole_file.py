"""Reading a small file whole for UploadFile: exactly the bytes measured, or SourceChanged when
the file changed since it was measured (its size or mtime differ)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from ferry_client import SourceChanged
from ferry_client.source import read_whole as _read_whole
from ferry_client.state import UploadKey


def key_for(path: Path) -> UploadKey:
    return UploadKey.for_file(path, "dest.bin")


@pytest.mark.parametrize("size", [0, 1, 4096, 1024 * 1024])
def test_reads_exactly_the_measured_bytes(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(size))

    assert _read_whole(key_for(path)) == path.read_bytes()


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.write_bytes(p.read_bytes() + b"!"),
        lambda p: p.write_bytes(p.read_bytes()[:-1]),
        lambda p: os.utime(p, ns=(0, p.stat().st_mtime_ns + 1_000_000_000)),
    ],
    ids=["grew", "shrank", "rewritten-same-size"],
)
def test_a_file_changed_since_it_was_measured_is_refused(
    tmp_path: Path, change: Callable[[Path], object]
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    key = key_for(path)
    change(path)

    with pytest.raises(SourceChanged) as caught:
        _read_whole(key)
    assert str(path) in caught.value.message
