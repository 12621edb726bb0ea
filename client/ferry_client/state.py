"""The local state file: which task and SHA-256 belong to a local file being uploaded.

An entry is keyed by (absolute path, size, mtime in ns, target, store_path), so a restarted
process finds the task it was feeding, and a file that changed (other size or mtime) simply
misses and starts a new task. The file is hashed while it uploads, so an entry is written as
soon as its task exists, with an empty SHA-256 until the hash is done; a restarted process then
continues the task without hashing again if the hash was recorded, and hashes again (while it
sends) if not. Entries are removed once their upload completes or its task ended.

Format: one small JSON document. Every update is read-modify-write under an exclusive
``flock`` on a sidecar ``<file>.lock``, so concurrent uploads in several processes all keep
their entries (on systems without ``fcntl`` it degrades to last-writer-wins); the new content
goes to a temporary file in the same directory that is fsynced and renamed over the old one,
so a reader never sees a torn file. A corrupt or unreadable file is ignored with a warning
and replaced at the next update.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
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

FORMAT_VERSION = 1
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
    target: str
    store_path: str

    @classmethod
    def for_file(cls, path: str | os.PathLike[str], target: str, store_path: str) -> UploadKey:
        absolute = Path(path).absolute()
        st = absolute.stat()
        return cls(str(absolute), st.st_size, st.st_mtime_ns, target, store_path)

    def same_destination(self, other: UploadKey) -> bool:
        return (self.path, self.target, self.store_path) == (
            other.path,
            other.target,
            other.store_path,
        )


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
        for entry in self._read():
            if _key_of(entry) == key:
                return Remembered(str(entry["task_id"]), str(entry["sha256"]))
        return None

    def remember(self, key: UploadKey, remembered: Remembered) -> None:
        """Record ``remembered`` for ``key``; entries for older versions of the file go."""
        with self._locked():
            entries = [e for e in self._read() if not _same_destination(e, key)]
            entries.append({**asdict(key), **asdict(remembered), "saved_at": time.time()})
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
            if document.get("version") != FORMAT_VERSION:
                raise ValueError(f"unknown version {document.get('version')!r}")
            entries = document["uploads"]
            if not isinstance(entries, list):
                raise TypeError("'uploads' is not a list")
            for entry in entries:
                _key_of(entry)
                str(entry["task_id"]), str(entry["sha256"])
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
        target=str(entry["target"]),
        store_path=str(entry["store_path"]),
    )


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
