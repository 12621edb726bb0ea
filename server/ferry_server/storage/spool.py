"""The local spool of the object-store backend: one private file per block attempt in a
directory with a byte budget, so that an attempt is checked and durable before it races the SQL
commit and only the winner's bytes are uploaded as the block's part.

The budget bounds the disk the spool may use: opening an attempt reserves its block's length
and fails with StorageFull beyond the budget, so a replica with many streams never fills its
disk. Files outlive a crash on purpose (a block committed but not yet uploaded is re-uploaded
from its spool file); ``sweep`` removes the ones nobody needs any more, and the reservation of
files found at start-up counts against the budget.
"""

from __future__ import annotations

import errno
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ferry_server.domain.errors import StorageFull

_NAME = re.compile(r"(?P<task>[A-Za-z0-9_-]+)\.(?P<index>\d+)\.(?P<attempt>[A-Za-z0-9_-]+)\.spool")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


@contextmanager
def _full_disk_is_storage_full() -> Iterator[None]:
    # A delayed-allocation filesystem may report ENOSPC only at fdatasync.
    try:
        yield
    except OSError as exc:
        if exc.errno in _NO_SPACE:
            raise StorageFull(f"the spool's disk is full ({exc.strerror})") from exc
        raise


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """A spool file on disk: whose attempt it is, its size and seconds since its last write."""

    task_id: str
    index: int
    attempt: str
    size: int
    age: float


class SpoolWriter:
    """One attempt's spool file, written sequentially by one stream."""

    def __init__(self, spool: Spool, path: Path, fd: int, reserved: int, fsync: bool) -> None:
        self._spool = spool
        self.path = path
        self._fd = fd
        self._reserved = reserved
        self._fsync = fsync
        self.written = 0
        self._closed = False

    def write(self, data: bytes) -> None:
        if self.written + len(data) > self._reserved:
            # The domain checks block bounds first: getting here is a bug, not bad input.
            raise ValueError(
                f"{self.path.name}: {self.written + len(data)} bytes exceed the "
                f"{self._reserved} reserved"
            )
        view = memoryview(data)
        with _full_disk_is_storage_full():
            while view:
                view = view[os.write(self._fd, view) :]
        self.written += len(data)

    def sync(self) -> None:
        """Make the file and its name durable (no-op when fsync is off)."""
        if not self._fsync:
            return
        with _full_disk_is_storage_full():
            os.fdatasync(self._fd)
        self._spool.sync_directory()

    def close(self) -> None:
        """Close the file; it stays on disk (and reserved) until ``Spool.remove``."""
        if not self._closed:
            self._closed = True
            os.close(self._fd)

    def abort(self) -> None:
        """Close and remove the file, freeing its reservation."""
        self.close()
        self._spool.remove_path(self.path)


class Spool:
    """A directory of attempt files whose reserved bytes never exceed ``budget``."""

    def __init__(self, directory: Path, budget: int, *, fsync: bool = True) -> None:
        if budget <= 0:
            raise ValueError("the spool budget must be positive")
        self.directory = directory
        self.budget = budget
        self._fsync = fsync
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        # What a crashed process left counts until it is removed.
        self._reserved: dict[Path, int] = {
            directory / e.name: e.stat().st_size for e in os.scandir(directory) if e.is_file()
        }

    @property
    def used(self) -> int:
        """Bytes reserved by open attempts and files kept on disk."""
        with self._lock:
            return sum(self._reserved.values())

    def path(self, task_id: str, index: int, attempt: str) -> Path:
        for name, value in (("task id", task_id), ("attempt", attempt)):
            if not _TOKEN.fullmatch(value):
                raise ValueError(f"{name} {value!r} is not a plain token")
        if index < 0:
            raise ValueError(f"negative block index {index}")
        return self.directory / f"{task_id}.{index}.{attempt}.spool"

    def open(self, task_id: str, index: int, attempt: str, length: int) -> SpoolWriter:
        """Create the attempt's file (it must not exist), reserving ``length`` bytes; raise
        StorageFull when the budget cannot hold them now."""
        path = self.path(task_id, index, attempt)
        with self._lock:
            if path in self._reserved:
                raise FileExistsError(f"{path} belongs to an attempt already")
            used = sum(self._reserved.values())
            if used + length > self.budget:
                raise StorageFull(
                    f"the spool holds {used} of its {self.budget} bytes; a block of {length} "
                    "does not fit until uploads finish",
                    facts={"spoolBytes": used, "spoolBudget": self.budget},
                )
            self._reserved[path] = length
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except BaseException:
            with self._lock:
                self._reserved.pop(path, None)
            raise
        return SpoolWriter(self, path, fd, length, self._fsync)

    def remove(self, task_id: str, index: int, attempt: str) -> None:
        self.remove_path(self.path(task_id, index, attempt))

    def remove_path(self, path: Path) -> None:
        """Delete a spool file if it is there and free its reservation."""
        path.unlink(missing_ok=True)
        with self._lock:
            self._reserved.pop(path, None)

    def entries(self) -> list[SpoolEntry]:
        """Every attempt file on disk (other names are ignored: ``sweep`` removes them)."""
        now = time.time()
        found: list[SpoolEntry] = []
        for entry in os.scandir(self.directory):
            match = _NAME.fullmatch(entry.name)
            if match is None or not entry.is_file():
                continue
            stat = entry.stat()
            found.append(
                SpoolEntry(
                    task_id=match["task"],
                    index=int(match["index"]),
                    attempt=match["attempt"],
                    size=stat.st_size,
                    age=now - stat.st_mtime,
                )
            )
        return found

    def sweep(self, *, older_than: float, keep: Callable[[SpoolEntry], bool]) -> int:
        """Remove files not written for ``older_than`` seconds that ``keep`` does not claim
        (e.g. a committed block whose part is not yet uploaded), and stray names; how many."""
        removed = 0
        now = time.time()
        for entry in os.scandir(self.directory):
            stray = _NAME.fullmatch(entry.name) is None and entry.is_file()
            if stray and now - entry.stat().st_mtime >= older_than:
                self.remove_path(self.directory / entry.name)
                removed += 1
        for spooled in self.entries():
            if spooled.age >= older_than and not keep(spooled):
                self.remove(spooled.task_id, spooled.index, spooled.attempt)
                removed += 1
        return removed

    def sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
