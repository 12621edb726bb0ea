"""A full disk met while writing a block is DISK_FULL (StorageFull), not a bug."""

from __future__ import annotations

from pathlib import Path

import pytest
from ferry_server.domain.errors import Reason, StorageFull
from ferry_server.storage.filesystem import FileSystemStore

from tests.support.disk import file_size_limit

MiB = 1024 * 1024


def test_a_write_that_finds_no_space_is_storage_full(tmp_path: Path) -> None:
    (tmp_path / "staging").mkdir()
    (tmp_path / "files").mkdir()
    store = FileSystemStore(tmp_path / "staging", tmp_path / "files", fsync=False)
    store.create("a1")
    writer = store.open_attempt("a1", 0, "ab12")
    try:
        writer.write(b"x" * MiB)
        with file_size_limit(MiB), pytest.raises(StorageFull) as excinfo:
            writer.write(b"x" * 1000)
    finally:
        writer.close()
    assert excinfo.value.reason is Reason.DISK_FULL
    assert excinfo.value.facts == {"requestedBytes": "1000"}
    assert excinfo.value.retry_after is not None
