"""Downloading a published file: ReadFile from an offset into ``DEST.ferry-part``, each
message's CRC32C checked, resumed after a cut (in this call or a later one) with the file's
generation pinned so that two versions are never spliced, and the whole file's SHA-256
verified before it is renamed to ``DEST``."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import google_crc32c
from ferry.v1 import ferry_pb2 as pb

from ferry_client.errors import ChecksumMismatch, FerryError, IntegrityError, ServerError
from ferry_client.retry import RetryBudget, pause_or_raise

log = logging.getLogger("ferry.client")

#: The reason a resumed read meets when the file was replaced since it began.
GENERATION_CHANGED = "GENERATION_CHANGED"
#: Times one download starts over because the file was replaced while it was read.
MAX_RESTARTS = 3
_HASH_CHUNK = 1 << 20

ProgressCallback = Callable[[int, int], None]
ReadFile = Callable[[pb.ReadFileRequest], Iterator[pb.ReadFileResponse]]


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """A verified download: where it went and which generation of the file it is."""

    store_path: str
    path: Path
    size: int
    sha256: str
    #: The task that published the file (its generation).
    task_id: str
    #: Bytes taken from an earlier, interrupted download instead of the network.
    reused_bytes: int
    #: Times the file was replaced while it was read, so the download started over.
    restarts: int

    def to_json(self) -> dict[str, object]:
        document = asdict(self)
        document["path"] = str(self.path)
        return document


@dataclass(slots=True)
class _Generation:
    store_path: str
    task_id: str
    sha256: str
    size: int


class _PartFile:
    """``DEST.ferry-part`` (the bytes so far) and ``DEST.ferry-part.json`` (their generation)."""

    def __init__(self, dest: Path) -> None:
        self.data = dest.with_name(dest.name + ".ferry-part")
        self.meta = dest.with_name(dest.name + ".ferry-part.json")

    def resumable(self, store_path: str) -> tuple[_Generation, int] | None:
        """The generation and length of an earlier download of ``store_path``, if any."""
        try:
            found = _Generation(**json.loads(self.meta.read_text()))
            have = self.data.stat().st_size
        except (OSError, ValueError, TypeError):
            return None
        if found.store_path != store_path or have > found.size:
            return None
        return found, have

    def remember(self, generation: _Generation) -> None:
        temporary = self.meta.with_name(self.meta.name + ".tmp")
        temporary.write_text(json.dumps(asdict(generation)))
        temporary.replace(self.meta)

    def forget(self) -> None:
        self.data.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)


def download(
    read_file: ReadFile,
    budget: RetryBudget,
    store_path: str,
    dest: Path,
    *,
    progress: ProgressCallback | None = None,
) -> DownloadResult:
    """Download ``store_path`` to ``dest`` (replaced if it exists), resuming an interrupted
    download of the same file found beside it."""
    return _Download(read_file, budget, store_path, dest, progress).run()


class _Download:
    """One download: the part file, how far it is, the hash so far, the pinned generation."""

    def __init__(
        self,
        read_file: ReadFile,
        budget: RetryBudget,
        store_path: str,
        dest: Path,
        progress: ProgressCallback | None,
    ) -> None:
        self._read_file = read_file
        self._budget = budget
        self._store_path = store_path
        self._dest = dest
        self._progress = progress
        self._part = _PartFile(dest)
        self._hasher = hashlib.sha256()
        self._generation: _Generation | None = None
        self._offset = self._reused = self._restarts = 0

    def run(self) -> DownloadResult:
        found = self._part.resumable(self._store_path)
        if found is not None:
            self._generation, self._offset = found
            self._reused = self._offset
            with self._part.data.open("rb") as earlier:
                while chunk := earlier.read(_HASH_CHUNK):
                    self._hasher.update(chunk)
        else:
            self._part.forget()
        with self._part.data.open("r+b" if self._offset else "wb") as out:
            out.truncate(self._offset)
            out.seek(self._offset)
            while self._generation is None or self._offset < self._generation.size:
                try:
                    self._read_into(out)
                except FerryError as exc:
                    if exc.ferry_reason == GENERATION_CHANGED and self._restarts < MAX_RESTARTS:
                        self._start_over(out)
                        continue
                    # A corrupted message is the network's fault: read it again.
                    retry = isinstance(exc, ChecksumMismatch) or None
                    pause_or_raise(self._budget, exc, retryable=retry)
            out.flush()
            os.fsync(out.fileno())
        return self._finish(self._generation)

    def _read_into(self, out: BinaryIO) -> None:
        """One ReadFile call from the current offset to the end, or until it fails."""
        pinned = self._generation
        request = pb.ReadFileRequest(
            store_path=self._store_path,
            offset=self._offset,
            if_generation=pinned.task_id if pinned else "",
        )
        for message in self._read_file(request):
            if message.HasField("generation"):
                self._generation = _seen(self._part, pinned, self._store_path, message.generation)
            generation = self._generation
            if message.offset != self._offset or generation is None:
                raise ServerError(
                    f"ReadFile sent bytes at {message.offset}, expected {self._offset}"
                )
            if google_crc32c.value(message.data) != message.crc32c:
                raise ChecksumMismatch(
                    f"ReadFile data at {self._offset} failed its CRC32C: corrupted in transit"
                )
            out.write(message.data)
            self._hasher.update(message.data)
            self._offset += len(message.data)
            self._budget.progressed()
            if self._progress is not None:
                self._progress(self._offset, generation.size)
        if self._generation is None:
            raise ServerError("ReadFile ended without naming the file's generation")
        if self._offset < self._generation.size:
            raise ServerError(f"ReadFile ended at {self._offset} of {self._generation.size}")

    def _start_over(self, out: BinaryIO) -> None:
        log.warning("%s was replaced while it was read; starting over", self._store_path)
        self._restarts += 1
        self._generation = None
        self._offset = self._reused = 0
        self._hasher = hashlib.sha256()
        out.seek(0)
        out.truncate(0)

    def _finish(self, generation: _Generation | None) -> DownloadResult:
        assert generation is not None  # the loop ends only once a generation was named
        digest = self._hasher.hexdigest()
        if digest != generation.sha256:
            self._part.forget()
            raise IntegrityError(
                f"the downloaded bytes of {self._store_path} hash to {digest}, but the file's "
                f"recorded SHA-256 is {generation.sha256}; nothing was written to {self._dest}"
            )
        self._part.data.replace(self._dest)
        self._part.meta.unlink(missing_ok=True)
        return DownloadResult(
            store_path=self._store_path,
            path=self._dest,
            size=generation.size,
            sha256=digest,
            task_id=generation.task_id,
            reused_bytes=self._reused,
            restarts=self._restarts,
        )


def _seen(
    part: _PartFile, pinned: _Generation | None, store_path: str, message: pb.Generation
) -> _Generation:
    """The generation the server named, remembered beside the part file on first sight."""
    if pinned is not None:
        if message.task_id != pinned.task_id:
            raise ServerError(
                f"ReadFile answered generation {message.task_id}, asked for {pinned.task_id}"
            )
        return pinned
    generation = _Generation(store_path, message.task_id, message.sha256, message.size)
    part.remember(generation)
    return generation
