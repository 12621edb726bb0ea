"""The local state file: which task and SHA-256 belong to a local file being uploaded.

An entry is keyed by what identifies the upload, (absolute path, size, mtime in ns,
store_path), and not by the address the service was reached at: the same upload through another
replica or address of the same service finds its entry, and a task id unknown there (another
service) is simply forgotten and the upload starts over. A restarted process finds the task it
was feeding; a file that changed (other size or mtime) misses, and the entry of its older
version is handed back by :meth:`StateFile.stale` so that its task can be cancelled rather than
left holding the destination. The file is hashed while it uploads, so an entry is written as
soon as its task exists, with an empty SHA-256 until the hash is done; a restarted process then
continues the task without hashing again if the hash was recorded, and hashes again (while it
sends) if not. Entries are removed once their upload completes or its task ended; a batch
(``upload_many``) then records the task that published the file (``"published": true``), so
that running the same batch again skips it without hashing it.

Format: one small JSON document. Every update is read-modify-write under an exclusive
``flock`` on a sidecar ``<file>.lock``, so concurrent uploads in several processes all keep
their entries (on systems without ``fcntl`` it degrades to last-writer-wins); the new content
goes to a temporary file in the same directory that is fsynced and renamed over the old one,
so a reader never sees a torn file. A corrupt or unreadable file is ignored with a warning
and replaced at the next update. Version 1 files (keyed by the target address too) are read
with the address dropped (the newest entry wins) and written back as version 2.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: last writer wins
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("ferry.client")

FORMAT_VERSION = 2
#: Versions this client reads (1: entries carried a ``target``, now ignored).
READABLE_VERSIONS = frozenset({1, 2})
#: Oldest entries are dropped beyond this many (uploads abandoned and never resumed).
MAX_ENTRIES = 1000


def default_state_path() -> Path:
    """``$XDG_CACHE_HOME/ferry/uploads.json``, else ``~/.cache/ferry/uploads.json``."""
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "ferry" / "uploads.json"


@dataclass(frozen=True, slots=True)
class UploadKey:
    """What identifies one version of one local file going to one destination."""

    path: str
    size: int
    mtime_ns: int
    store_path: str

    @classmethod
    def for_file(cls, path: str | os.PathLike[str], store_path: str) -> UploadKey:
        """The key of the file at ``path`` as it is now; OSError (naming the path) unless it
        is a regular file."""
        absolute = Path(path).absolute()
        st = absolute.stat()
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(absolute))
        if not stat.S_ISREG(st.st_mode):
            # Reading a FIFO would wait for a writer, and its size says nothing.
            raise OSError(
                errno.EINVAL, "not a regular file (pipes, sockets and devices are not uploaded)",
                str(absolute),
            )  # fmt: skip
        return cls(str(absolute), st.st_size, st.st_mtime_ns, store_path)

    def same_destination(self, other: UploadKey) -> bool:
        return (self.path, self.store_path) == (other.path, other.store_path)


@dataclass(frozen=True, slots=True)
class Remembered:
    """What the state file knows about an upload."""

    task_id: str
    sha256: str


class StateFile:
    """The state file at ``path`` (created on first update, with its directory)."""

    def __init__(self, path: str | os.PathLike[str], *, max_entries: int = MAX_ENTRIES) -> None:
        self.path = Path(path)
        self._max_entries = max_entries

    def lookup(self, key: UploadKey) -> Remembered | None:
        """The upload in progress for ``key``."""
        return self._find(key, published=False)

    def published(self, key: UploadKey) -> Remembered | None:
        """The task that published this very file at its store_path (recorded by
        :meth:`remember_published`), for a batch run again to skip it."""
        return self._find(key, published=True)

    def _find(self, key: UploadKey, *, published: bool) -> Remembered | None:
        for entry in self._read():
            if bool(entry.get("published")) == published and _key_of(entry) == key:
                return Remembered(str(entry["task_id"]), str(entry["sha256"]))
        return None

    def remember_published(self, key: UploadKey, remembered: Remembered) -> None:
        """Record that ``remembered`` published this file at its store_path."""
        self._replace(key, {**asdict(key), **asdict(remembered), "published": True})

    def stale(self, key: UploadKey) -> list[tuple[UploadKey, Remembered]]:
        """Entries for the same file and destination as ``key`` but another version of the
        file (it changed since): their tasks were abandoned."""
        return [
            (_key_of(e), Remembered(str(e["task_id"]), str(e["sha256"])))
            for e in self._read()
            if not e.get("published") and _same_destination(e, key) and _key_of(e) != key
        ]

    def remember(self, key: UploadKey, remembered: Remembered) -> None:
        """Record ``remembered`` for ``key``; entries for older versions of the file go."""
        self._replace(key, {**asdict(key), **asdict(remembered)})

    def _replace(self, key: UploadKey, entry: dict[str, Any]) -> None:
        with self._locked():
            entries = [e for e in self._read() if not _same_destination(e, key)]
            entries.append({**entry, "saved_at": time.time()})
            self._write(entries[-self._max_entries :])

    def forget(self, key: UploadKey) -> None:
        with self._locked():
            entries = self._read()
            kept = [e for e in entries if _key_of(e) != key]
            if len(kept) != len(entries):
                self._write(kept)

    def _read(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("ignoring the upload state file %s: %s", self.path, exc)
            return []
        try:
            document = json.loads(text)
            version = document.get("version")
            if version not in READABLE_VERSIONS:
                raise ValueError(f"unknown version {version!r}")
            entries: list[dict[str, Any]] = document["uploads"]
            if not isinstance(entries, list):
                raise TypeError("'uploads' is not a list")
            for entry in entries:
                _key_of(entry)
                str(entry["task_id"]), str(entry["sha256"])
            if version == 1:
                entries = _from_version_1(list(entries))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning(
                "ignoring the corrupt upload state file %s (%s: %s); it will be replaced",
                self.path, type(exc).__name__, exc,
            )  # fmt: skip
            return []
        return entries

    def _write(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        data = json.dumps({"version": FORMAT_VERSION, "uploads": entries}, indent=1)
        try:
            with tmp.open("w", encoding="utf-8") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _key_of(entry: dict[str, Any]) -> UploadKey:
    return UploadKey(
        path=str(entry["path"]),
        size=int(entry["size"]),
        mtime_ns=int(entry["mtime_ns"]),
        store_path=str(entry["store_path"]),
    )


def _from_version_1(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Version 1 entries without their ``target``; of several for one upload (the same file
    through several addresses), the last written wins, as it is the likeliest to be alive."""
    by_key: dict[UploadKey, dict[str, Any]] = {}
    for entry in entries:
        migrated = {k: v for k, v in entry.items() if k != "target"}
        key = _key_of(migrated)
        by_key.pop(key, None)
        by_key[key] = migrated
    return list(by_key.values())


def _same_destination(entry: dict[str, Any], key: UploadKey) -> bool:
    return _key_of(entry).same_destination(key)


class StateStore:
    """The state file as an upload uses it: absent when uploads are not remembered, and a
    failure to write it only a warning (the upload itself is fine; a restarted process would
    merely have to hash again)."""

    def __init__(self, state: StateFile | None) -> None:
        self.file = state

    def lookup(self, key: UploadKey) -> Remembered | None:
        return self.file.lookup(key) if self.file is not None else None

    def stale(self, key: UploadKey) -> list[tuple[UploadKey, Remembered]]:
        return self.file.stale(key) if self.file is not None else []

    def published(self, key: UploadKey) -> Remembered | None:
        return self.file.published(key) if self.file is not None else None

    def remember_published(self, key: UploadKey, remembered: Remembered) -> None:
        if self.file is None:
            return
        try:
            self.file.remember_published(key, remembered)
        except OSError as exc:
            log.warning("cannot save upload state to %s: %s", self.file.path, exc)

    def remember(self, key: UploadKey, remembered: Remembered) -> None:
        if self.file is None:
            return
        try:
            self.file.remember(key, remembered)
        except OSError as exc:
            log.warning("cannot save upload state to %s: %s", self.file.path, exc)

    def forget(self, key: UploadKey) -> None:
        if self.file is None:
            return
        try:
            self.file.forget(key)
        except OSError as exc:
            log.warning("cannot update upload state in %s: %s", self.file.path, exc)
