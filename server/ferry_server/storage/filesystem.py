"""The local-filesystem BlockStore: a private file per block attempt, assemblies of promoted
blocks, publication by atomic rename under the storage root."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import re
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ferry_server.domain.errors import (
    FileNotFound,
    IntegrityFailure,
    InvalidArgument,
    InvalidStorePath,
    StorageFull,
)
from ferry_server.domain.inputs import shown
from ferry_server.domain.ports import (
    CommittedBlock,
    DestinationExists,
    StagingEntry,
    StagingMissing,
)

log = logging.getLogger("ferry.storage")

_READ_CHUNK = 1024 * 1024
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_SYNC_FILE_RANGE_WRITE = 2

#: ``start_writeback(fd, offset, length)``: ask the kernel to begin writing a range to disk.
WritebackStarter = Callable[[int, int, int], object]


def writeback_starter() -> WritebackStarter | None:
    """Linux's sync_file_range(SYNC_FILE_RANGE_WRITE), where libc has it.

    Starting each message's writeback as it lands means the fdatasync at the end of a block
    waits for its last pieces only (measured here: 4.7 ms -> 1-2.5 ms for 8 MiB blocks), and
    that wait holds up the block's acknowledgement and so its stream.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        function = ctypes.CDLL(name, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int

    def start(fd: int, offset: int, length: int) -> object:
        # A hint only: fdatasync() decides durability, so a failure here changes nothing.
        return function(fd, offset, length, _SYNC_FILE_RANGE_WRITE)

    return start


def _raise_if_full(exc: OSError, what: str, size: int) -> None:
    """Raise StorageFull if ``exc`` means no space (even a preallocated file can meet it, on a
    filesystem that copies on write or under a quota)."""
    if exc.errno in _NO_SPACE:
        raise StorageFull(
            f"not enough disk space {what}; free space or retry later",
            facts={"requestedBytes": size},
        ) from exc


class _File:
    """A staged file open for writing by its one owner."""

    def __init__(
        self,
        fd: int,
        fsync: bool,
        start_writeback: WritebackStarter | None,
        directory: Path,
        name: str,
    ) -> None:
        self._fd = fd
        self._fsync = fsync
        self._start_writeback = start_writeback if fsync else None
        self._directory = directory
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def write_at(self, offset: int, data: bytes) -> None:
        view = memoryview(data)
        start = offset
        try:
            while view:
                written = os.pwrite(self._fd, view, offset)
                view = view[written:]
                offset += written
        except OSError as exc:
            _raise_if_full(exc, f"for {len(data)} bytes", len(data))
            raise
        if self._start_writeback is not None:
            self._start_writeback(self._fd, start, offset - start)

    def sync(self) -> None:
        if self._fsync:
            try:
                os.fdatasync(self._fd)
            except OSError as exc:
                _raise_if_full(exc, "to make the data durable", 0)
                raise

    def close(self) -> None:
        os.close(self._fd)


class _AttemptFile(_File):
    """One block attempt's private file, appended to by its stream."""

    _position = 0

    def write(self, data: bytes) -> None:
        self.write_at(self._position, data)
        self._position += len(data)

    def sync(self) -> None:
        super().sync()
        if self._fsync:
            # The file is new: its name must survive a crash as well as its bytes.
            try:
                _fsync_dir(self._directory)
            except FileNotFoundError as exc:
                raise StagingMissing(str(self._directory)) from exc


class _AssemblyFile(_File):
    """One process's assembly of a task's promoted blocks."""

    def write(self, offset: int, data: bytes) -> None:
        self.write_at(offset, data)

    def rename(self, name: str) -> None:
        (self._directory / self._name).rename(self._directory / name)
        self._name = name


_ATTEMPT = re.compile(r"b(\d+)\.([0-9a-f]+)")
_SHARED_SUFFIX = ".part"
_MERGE_PREFIX = "merge."
#: Where discarded staging waits to be deleted in the background (beside ``staging/``).
_GRAVEYARD = "discarded"
_ASSEMBLY_PREFIX = "asm."


class FileSystemStore:
    """Per-task staging directories in ``staging_dir``; published files under ``storage_root``.

    Layout (docs/design.md, "Staging layouts"): ``<staging>/<task>/b<index>.<attempt>`` is one
    block attempt's private file, promoted by the SQL row that names its attempt;
    ``asm.<replica>`` one process's background assembly, ``merge.<token>`` the merge lease
    holder's; ``<staging>/<task>.part`` the layout-1 shared file of tasks from before.

    Both directories must be on one filesystem so that publishing is a rename, never a copy.
    """

    def __init__(
        self, staging_dir: Path, storage_root: Path, *, fsync: bool, published_mode: int = 0o644
    ) -> None:
        self._staging = staging_dir
        self._root = Path(os.path.realpath(storage_root))
        self._fsync = fsync
        #: Staged files are private (0600) until published with this mode.
        self._published_mode = published_mode
        self._start_writeback = writeback_starter()
        # Beside the staging directory, on its filesystem: renaming into it must be instant.
        self._graveyard = staging_dir.parent / _GRAVEYARD
        self._reap = threading.Event()
        self._reaper_lock = threading.Lock()
        self._reaper: threading.Thread | None = None
        if self._graveyard.is_dir() and any(self._graveyard.iterdir()):
            self._wake_reaper()  # left over from before a restart

    def _task_dir(self, task_id: str) -> Path:
        # Task ids come from secrets.token_hex, but they arrive again from clients: never let
        # one name a path.
        if not task_id.isalnum():
            raise InvalidArgument(f"task_id {task_id!r} is malformed", field="task_id")
        return self._staging / task_id

    def _shared_path(self, task_id: str) -> Path:
        return self._staging / f"{task_id}{_SHARED_SUFFIX}"

    @staticmethod
    def _attempt_name(index: int, attempt: str) -> str:
        if not attempt.isalnum():
            raise InvalidArgument(f"attempt {attempt!r} is malformed")
        return f"b{index}.{attempt}"

    def create(self, task_id: str) -> None:
        directory = self._task_dir(task_id)
        # Nothing is preallocated: attempts write their own files as blocks arrive. Whether
        # the disk can take the task is the domain's admission (quotas.admit_task).
        directory.mkdir(mode=0o700)
        if self._fsync:
            _fsync_dir(self._staging)

    def free_bytes(self) -> int:
        stats = os.statvfs(self._staging)
        return stats.f_bavail * stats.f_frsize

    def write_whole(self, task_id: str, data: bytes) -> str:
        directory = self._task_dir(task_id)
        directory.mkdir(mode=0o700)
        name = "whole"
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _AttemptFile(fd, self._fsync, None, directory, name).write(data)
            if self._fsync:
                # No directory fsync: publish() renames the file and syncs that directory.
                os.fdatasync(fd)
        except BaseException:
            os.close(fd)
            self.discard(task_id)
            raise
        os.close(fd)
        return name

    @property
    def lands_blocks(self) -> bool:
        # A promoted attempt file already is the block: nothing to upload after the commit.
        return False

    def open_attempt(self, task_id: str, index: int, attempt: str, length: int = 0) -> _AttemptFile:
        directory = self._task_dir(task_id)
        name = self._attempt_name(index, attempt)
        if not directory.is_dir() and self._shared_path(task_id).exists():
            # A layout-1 task continued after the upgrade: its new blocks are attempts too.
            directory.mkdir(mode=0o700, exist_ok=True)
        try:
            fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileNotFoundError as exc:
            raise StagingMissing(task_id) from exc
        return _AttemptFile(fd, self._fsync, self._start_writeback, directory, name)

    def discard_attempt(self, task_id: str, index: int, attempt: str) -> None:
        (self._task_dir(task_id) / self._attempt_name(index, attempt)).unlink(missing_ok=True)

    def land_block(self, task_id: str, block: CommittedBlock, *, again: bool = False) -> str | None:
        return None

    def release_block(self, task_id: str, block: CommittedBlock) -> None:
        # Kept until Merge: another replica's assembler, or a merge taken over, may need it.
        return

    def seal(self, task_id: str, blocks: Sequence[CommittedBlock]) -> None:
        # The staged attempt files are the whole already; the assembler checks each is there.
        return

    def sweep_local(self, older_than: float, keep: Callable[[str, int, str], bool]) -> int:
        # Staging is shared by every replica: the lease-holding sweeper handles it.
        return 0

    def _block_source(self, task_id: str, block: CommittedBlock, offset: int) -> tuple[Path, int]:
        if block.attempt is None:
            return self._shared_path(task_id), offset
        return self._task_dir(task_id) / self._attempt_name(block.index, block.attempt), 0

    def read_block(self, task_id: str, block: CommittedBlock, offset: int) -> Iterator[bytes]:
        path, start = self._block_source(task_id, block, offset)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise StagingMissing(f"{task_id}: block {block.index} ({path.name})") from exc
        return self._read_fd(fd, start, start + block.length)

    def block_exists(self, task_id: str, block: CommittedBlock, offset: int) -> bool:
        path, start = self._block_source(task_id, block, offset)
        try:
            return path.stat().st_size >= start + block.length
        except FileNotFoundError:
            return False

    def open_assembly(self, task_id: str, name: str) -> _AssemblyFile:
        directory = self._task_dir(task_id)
        try:
            fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except FileNotFoundError as exc:
            raise StagingMissing(task_id) from exc
        return _AssemblyFile(fd, self._fsync, self._start_writeback, directory, name)

    def _remove_named(self, task_id: str, prefixes: tuple[str, ...], keep: str = "") -> int:
        try:
            paths = list(self._task_dir(task_id).iterdir())
        except FileNotFoundError:
            return 0
        removed = 0
        for path in paths:
            if path.name.startswith(prefixes) and path.name != keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def discard_assemblies(self, task_id: str) -> None:
        self._remove_named(task_id, (_ASSEMBLY_PREFIX, _MERGE_PREFIX))

    def fence_merges(self, task_id: str, keep: str) -> int:
        return self._remove_named(task_id, (_MERGE_PREFIX,), keep)

    @staticmethod
    def _read_fd(fd: int, start: int, end: int | None) -> Iterator[bytes]:
        try:
            offset = start
            while end is None or offset < end:
                want = _READ_CHUNK if end is None else min(_READ_CHUNK, end - offset)
                chunk = os.pread(fd, want, offset)
                if not chunk:
                    if end is not None:
                        raise StagingMissing(f"file ended at {offset} of {end} bytes")
                    return
                offset += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    def has_staging(self, task_id: str) -> bool:
        return self._task_dir(task_id).is_dir() or self._shared_path(task_id).exists()

    def discard(self, task_id: str) -> None:
        # Renaming the directory away is instant and ends every use of it (an attempt can no
        # longer be created or synced there); deleting big files is not (~5 ms per 8 MiB on
        # ext4), so that happens in the background and Merge or cancel do not wait for it.
        directory = self._task_dir(task_id)
        self._graveyard.mkdir(mode=0o700, exist_ok=True)
        try:
            directory.rename(self._graveyard / f"{task_id}.{secrets.token_hex(4)}")
        except FileNotFoundError:
            pass  # nothing staged, or discarded already
        else:
            self._wake_reaper()
        self._shared_path(task_id).unlink(missing_ok=True)

    def _wake_reaper(self) -> None:
        with self._reaper_lock:
            if self._reaper is None:
                self._reaper = threading.Thread(
                    target=self._reap_forever, name="ferry-staging-reaper", daemon=True
                )
                self._reaper.start()
        self._reap.set()

    def _reap_forever(self) -> None:
        while self._reap.wait():
            self._reap.clear()
            for path in sorted(self._graveyard.iterdir()):
                try:
                    _remove_tree(path)
                except OSError as exc:
                    # Retried on the next discard or restart; nothing refers to these files.
                    log.warning("cannot delete discarded staging %s: %s", path, exc)

    def staged_tasks(self, after: str, limit: int) -> list[StagingEntry]:
        ids: set[str] = set()
        for path in self._staging.iterdir():
            task_id = path.name.removesuffix(_SHARED_SUFFIX)
            if task_id.isalnum() and task_id > after:
                ids.add(task_id)
        now = time.time()
        entries = []
        for task_id in sorted(ids)[:limit]:
            age = 0.0
            for path in (self._task_dir(task_id), self._shared_path(task_id)):
                with contextlib.suppress(FileNotFoundError):
                    age = max(age, now - path.stat().st_mtime)
            attempts: list[tuple[int, str, float]] = []
            with contextlib.suppress(FileNotFoundError), os.scandir(self._task_dir(task_id)) as it:
                for entry in it:
                    match = _ATTEMPT.fullmatch(entry.name)
                    if match is None:
                        continue
                    with contextlib.suppress(FileNotFoundError):
                        age = now - entry.stat().st_mtime
                        attempts.append((int(match.group(1)), match.group(2), age))
            entries.append(
                StagingEntry(task_id, age, attempts, self._shared_path(task_id).exists())
            )
        return entries

    def _destination(self, store_path: str) -> Path:
        """The absolute destination, refusing any path that resolves outside the root."""
        target = self._root / store_path
        real = Path(os.path.realpath(target))
        if real != self._root and self._root not in real.parents:
            raise InvalidStorePath(
                f"store_path {store_path!r} resolves outside the storage root (through a "
                "symbolic link); choose another path"
            )
        if real == self._root:
            raise InvalidStorePath(f"store_path {store_path!r} names the storage root itself")
        _refuse_symlink_loop(target, store_path)
        return target

    def check_destination(self, store_path: str) -> None:
        target = self._destination(store_path)
        if target.is_dir():
            raise InvalidStorePath(f"store_path {store_path!r} is a directory")
        for parent in target.parents:
            if parent == self._root:
                break
            if parent.exists() and not parent.is_dir():
                raise InvalidStorePath(
                    f"store_path {store_path!r}: {parent.relative_to(self._root)} is a file, "
                    "not a directory"
                )

    def destination_exists(self, store_path: str) -> bool:
        # Callers checked the path with check_destination(); lexists() does not follow a
        # final symlink, and an intermediate one can only make this answer True.
        return os.path.lexists(self._root / store_path)

    def read_published(self, store_path: str) -> Iterator[bytes]:
        fd = os.open(self._destination(store_path), os.O_RDONLY)
        return self._read_fd(fd, 0, None)

    def open_published(self, store_path: str) -> _PublishedFile:
        target = self._destination(store_path)
        try:
            # O_NOFOLLOW: a symlink planted at the destination is not followed out of the root.
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise FileNotFound(f"no file is published at {shown(store_path)}") from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise FileNotFound(f"no file is published at {shown(store_path)}") from exc
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FileNotFound(f"no file is published at {shown(store_path)}")
        return _PublishedFile(fd)

    def publish(self, task_id: str, name: str, store_path: str, *, overwrite: bool) -> None:
        staged = self._task_dir(task_id) / name
        target = self._destination(store_path)
        if not target.parent.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            # mkdir may have raced with a symlink being planted: check again.
            self.check_destination(store_path)
        # No fsync of the file here: its writer synced it before publishing.
        try:
            # Set on the staged name, so the file appears at its destination with its mode.
            staged.chmod(self._published_mode)
            if overwrite:
                staged.replace(target)
            else:
                # link() refuses an existing name atomically; rename() would silently replace it.
                try:
                    os.link(staged, target)
                except FileExistsError as exc:
                    if not staged.samefile(target):
                        raise DestinationExists(store_path) from exc
                staged.unlink(missing_ok=True)
        except FileNotFoundError as exc:
            # A merge that took over removed this name: this publisher was fenced off.
            raise StagingMissing(f"{task_id}: {name}") from exc
        if self._fsync:
            _fsync_dir(target.parent)


class _PublishedFile:
    """One opened version of a published file."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._closed = False

    @property
    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def read(self, offset: int, length: int, chunk: int) -> Iterator[bytes]:
        try:
            end = offset + length
            while offset < end:
                data = os.pread(self._fd, min(chunk, end - offset), offset)
                if not data:
                    raise IntegrityFailure(
                        f"the published file ended at byte {offset} of {end}: it was changed "
                        "outside Ferry"
                    )
                offset += len(data)
                yield data
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._fd)


def _remove_tree(path: Path) -> None:
    """Delete a directory tree that others may be deleting (or adding an attempt to) at once."""

    def on_error(_function: object, failed: str, info: tuple[type[BaseException], ...]) -> None:
        if not issubclass(info[0], FileNotFoundError):
            raise OSError(f"cannot delete {failed}: {info[1]}")

    for _ in range(3):
        try:
            shutil.rmtree(path, onerror=on_error)  # type: ignore[arg-type]
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY:
                raise
            continue  # an attempt file appeared meanwhile: its stream will fail to commit
        return
    shutil.rmtree(path, onerror=on_error)  # type: ignore[arg-type]


def _refuse_symlink_loop(target: Path, store_path: str) -> None:
    """InvalidStorePath if resolving ``target`` runs into a loop of symbolic links (ELOOP):
    ``realpath`` leaves such a path as it is instead of failing."""
    try:
        target.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InvalidStorePath(
                f"store_path {store_path!r} runs into a loop of symbolic links in the storage "
                "root; choose another path"
            ) from exc
        # Not there yet (ENOENT, ENOTDIR...): the checks that follow say what is wrong.


def _fsync_dir(path: Path) -> None:
    """Make a directory entry (a created or renamed file) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
