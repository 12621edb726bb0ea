"""The object-store spool: one private file per block attempt, a byte budget that bounds the
disk it uses (counting what a crash left), and the sweep of files nobody needs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ferry_server.domain.errors import StorageFull
from ferry_server.storage.spool import Spool, SpoolEntry

from tests.support.disk import file_size_limit


def test_an_attempt_is_written_synced_and_kept_until_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", budget=1000)
    writer = spool.open("task1", 3, "a1", 10)
    writer.write(b"hello")
    writer.write(b"world")
    writer.sync()
    writer.close()
    assert writer.path.read_bytes() == b"helloworld"
    assert writer.path.stat().st_mode & 0o777 == 0o600
    assert spool.used == 10
    assert [(e.task_id, e.index, e.attempt, e.size) for e in spool.entries()] == [
        ("task1", 3, "a1", 10)
    ]
    spool.remove("task1", 3, "a1")
    assert not writer.path.exists()
    assert spool.used == 0


def test_the_budget_refuses_an_attempt_that_does_not_fit(tmp_path: Path) -> None:
    spool = Spool(tmp_path, budget=100)
    first = spool.open("t", 0, "a", 60)
    with pytest.raises(StorageFull) as caught:
        spool.open("t", 1, "b", 41)
    assert caught.value.facts == {"spoolBytes": "60", "spoolBudget": "100"}
    assert not spool.path("t", 1, "b").exists()
    spool.open("t", 1, "c", 40).abort()
    first.abort()
    assert spool.used == 0
    spool.open("t", 1, "d", 100).close()


def test_writing_past_the_reservation_is_a_bug_not_a_full_disk(tmp_path: Path) -> None:
    spool = Spool(tmp_path, budget=100)
    writer = spool.open("t", 0, "a", 4)
    writer.write(b"1234")
    with pytest.raises(ValueError, match="exceed"):
        writer.write(b"5")
    writer.abort()


def test_two_attempts_never_share_a_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path, budget=100)
    spool.open("t", 0, "a", 4).close()
    with pytest.raises(FileExistsError):
        spool.open("t", 0, "a", 4)
    # The refused open does not keep its reservation.
    assert spool.used == 4


@pytest.mark.parametrize(
    ("task", "attempt"), [("../x", "a"), ("t", "a/b"), ("t", ""), ("t.1", "a"), ("t", "a.b")]
)
def test_names_that_could_escape_or_collide_are_refused(
    tmp_path: Path, task: str, attempt: str
) -> None:
    with pytest.raises(ValueError, match="plain token"):
        Spool(tmp_path, budget=100).open(task, 0, attempt, 1)


def test_files_left_by_a_crash_count_against_the_budget_until_swept(tmp_path: Path) -> None:
    before = Spool(tmp_path, budget=100)
    kept = before.open("t", 0, "committed", 30)
    kept.write(b"x" * 30)
    kept.close()
    orphan = before.open("t", 1, "abandoned", 50)
    orphan.write(b"y" * 20)
    orphan.close()
    (tmp_path / "stray.tmp").write_bytes(b"z" * 5)
    for path in tmp_path.iterdir():
        os.utime(path, (1, 1))  # long ago

    after = Spool(tmp_path, budget=100)  # a new process after the crash
    assert after.used == 30 + 20 + 5
    with pytest.raises(StorageFull):
        after.open("t", 2, "new", 50)

    def keep(entry: SpoolEntry) -> bool:
        return entry.attempt == "committed"  # e.g. committed in SQL, its part not uploaded

    assert after.sweep(older_than=60, keep=keep) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.0.committed.spool"]
    assert after.used == 30
    after.open("t", 2, "new", 50).abort()


def test_the_sweep_leaves_recent_files_alone(tmp_path: Path) -> None:
    spool = Spool(tmp_path, budget=100)
    spool.open("t", 0, "writing", 10).close()
    assert spool.sweep(older_than=3600, keep=lambda entry: False) == 0
    assert spool.used == 10


def test_a_full_disk_is_storage_full_not_a_crash(tmp_path: Path) -> None:
    spool = Spool(tmp_path, budget=1 << 20)
    writer = spool.open("t", 0, "a", 1 << 20)
    with file_size_limit(4096), pytest.raises(StorageFull, match="disk is full"):
        writer.write(b"x" * 8192)
    writer.abort()
    assert spool.used == 0
    assert list(tmp_path.iterdir()) == []
