"""The local state file: keyed by file version and destination, a task remembered before its
hash and then with it, written atomically, tolerant of corruption, and safe with several
processes updating it at once."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from pathlib import Path

import pytest
from ferry_client.state import (
    Remembered,
    StateFile,
    UploadKey,
    default_state_path,
)


def key_for(path: Path, store_path: str = "dest.bin") -> UploadKey:
    return UploadKey.for_file(path, store_path)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "file.bin"
    path.write_bytes(b"x" * 100)
    return path


def test_remembered_upload_is_found_by_the_same_file_and_destination(
    tmp_path: Path, source: Path
) -> None:
    state = StateFile(tmp_path / "cache" / "uploads.json")
    state.remember(key_for(source), Remembered("task-1", "ab" * 32))

    assert StateFile(state.path).lookup(key_for(source)) == Remembered("task-1", "ab" * 32)
    assert state.lookup(key_for(source, store_path="elsewhere.bin")) is None


def test_the_key_does_not_depend_on_the_address_the_service_was_reached_at(
    tmp_path: Path, source: Path
) -> None:
    # Another replica or address of the same service must find the entry: no target in it.
    key = key_for(source)
    assert "target" not in {f for f in key.__slots__}
    state = StateFile(tmp_path / "uploads.json")
    state.remember(key, Remembered("task-1", ""))
    assert "target" not in json.loads(state.path.read_text())["uploads"][0]


def test_version_1_entries_are_read_without_their_address_and_written_back_as_version_2(
    tmp_path: Path, source: Path
) -> None:
    key = key_for(source)
    old = {
        "path": key.path,
        "size": key.size,
        "mtime_ns": key.mtime_ns,
        "store_path": key.store_path,
    }
    path = tmp_path / "uploads.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "uploads": [
                    {**old, "target": "a:1", "task_id": "task-a", "sha256": "", "saved_at": 1},
                    {**old, "target": "b:1", "task_id": "task-b", "sha256": "", "saved_at": 2},
                ],
            }
        )
    )
    state = StateFile(path)
    assert state.lookup(key) == Remembered("task-b", "")

    other = source.with_name("other.bin")
    other.write_bytes(b"z")
    state.remember(key_for(other), Remembered("task-c", ""))
    document = json.loads(path.read_text())
    assert document["version"] == 2
    assert sorted(e["task_id"] for e in document["uploads"]) == ["task-b", "task-c"]


def test_an_older_version_of_the_file_is_handed_back_as_stale(tmp_path: Path, source: Path) -> None:
    state = StateFile(tmp_path / "uploads.json")
    state.remember(key_for(source), Remembered("task-1", ""))
    assert state.stale(key_for(source)) == []

    old = key_for(source)
    source.write_bytes(b"y" * 101)
    assert state.stale(key_for(source)) == [(old, Remembered("task-1", ""))]
    assert state.stale(key_for(source, store_path="elsewhere.bin")) == []


def test_task_remembered_before_its_hash_then_with_it(tmp_path: Path, source: Path) -> None:
    # The file is hashed while it uploads: the task id is remembered first, the hash later.
    state = StateFile(tmp_path / "uploads.json")
    state.remember(key_for(source), Remembered("task-1", ""))
    assert state.lookup(key_for(source)) == Remembered("task-1", "")

    state.remember(key_for(source), Remembered("task-1", "ab" * 32))
    assert state.lookup(key_for(source)) == Remembered("task-1", "ab" * 32)
    assert len(json.loads(state.path.read_text())["uploads"]) == 1


def test_key_uses_the_absolute_path(
    tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert key_for(Path("file.bin")).path == str(source)


def test_a_changed_file_misses_and_replaces_the_old_entry(tmp_path: Path, source: Path) -> None:
    state = StateFile(tmp_path / "uploads.json")
    old = key_for(source)
    state.remember(old, Remembered("task-1", "ab" * 32))

    source.write_bytes(b"y" * 101)
    new = key_for(source)
    assert state.lookup(new) is None
    state.remember(new, Remembered("task-2", "cd" * 32))

    assert state.lookup(old) is None
    assert len(json.loads(state.path.read_text())["uploads"]) == 1


def test_touching_the_file_changes_its_key(tmp_path: Path, source: Path) -> None:
    state = StateFile(tmp_path / "uploads.json")
    state.remember(key_for(source), Remembered("task-1", "ab" * 32))
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert state.lookup(key_for(source)) is None


def test_forget_removes_only_that_entry(tmp_path: Path, source: Path) -> None:
    other = tmp_path / "other.bin"
    other.write_bytes(b"z")
    state = StateFile(tmp_path / "uploads.json")
    state.remember(key_for(source), Remembered("task-1", "ab" * 32))
    state.remember(key_for(other), Remembered("task-2", "cd" * 32))

    state.forget(key_for(source))

    assert state.lookup(key_for(source)) is None
    assert state.lookup(key_for(other)) == Remembered("task-2", "cd" * 32)


def test_writes_leave_no_temporary_files(tmp_path: Path, source: Path) -> None:
    state = StateFile(tmp_path / "dir" / "uploads.json")
    for n in range(5):
        state.remember(key_for(source, store_path=f"d{n}"), Remembered(f"t{n}", "ab" * 32))
    assert sorted(p.name for p in state.path.parent.iterdir()) == [
        "uploads.json",
        "uploads.json.lock",
    ]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"version": 99, "uploads": []}',
        '{"version": 1, "uploads": {}}',
        '{"version": 1, "uploads": [{"path": "x"}]}',
    ],
    ids=["garbage", "list", "future-version", "uploads-not-list", "entry-missing-fields"],
)
def test_corrupt_file_is_ignored_with_a_warning_and_replaced(
    tmp_path: Path, source: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    state = StateFile(tmp_path / "uploads.json")
    state.path.write_text(content)

    with caplog.at_level(logging.WARNING, logger="ferry.client"):
        assert state.lookup(key_for(source)) is None
    assert "corrupt upload state file" in caplog.text

    state.remember(key_for(source), Remembered("task-1", "ab" * 32))
    assert state.lookup(key_for(source)) == Remembered("task-1", "ab" * 32)


def test_oldest_entries_go_beyond_the_limit(tmp_path: Path, source: Path) -> None:
    state = StateFile(tmp_path / "uploads.json", max_entries=3)
    for n in range(5):
        state.remember(key_for(source, store_path=f"d{n}"), Remembered(f"t{n}", "ab" * 32))
    kept = [e["task_id"] for e in json.loads(state.path.read_text())["uploads"]]
    assert kept == ["t2", "t3", "t4"]


def test_default_location_is_the_users_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_state_path() == tmp_path / "xdg" / "ferry" / "uploads.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_path() == tmp_path / "home" / ".cache" / "ferry" / "uploads.json"


def _remember_many(state_path: str, source: str, worker: int, count: int) -> None:
    state = StateFile(state_path)
    for n in range(count):
        key = UploadKey.for_file(source, f"w{worker}/d{n}")
        state.remember(key, Remembered(f"w{worker}-{n}", "ab" * 32))


def test_concurrent_processes_keep_every_entry(tmp_path: Path, source: Path) -> None:
    state_path = tmp_path / "uploads.json"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_remember_many, args=(str(state_path), str(source), w, 15))
        for w in range(4)
    ]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
        assert p.exitcode == 0

    ids = {e["task_id"] for e in json.loads(state_path.read_text())["uploads"]}
    assert ids == {f"w{w}-{n}" for w in range(4) for n in range(15)}
