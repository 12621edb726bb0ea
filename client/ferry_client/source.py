"""The local file of one upload: what the upload declares (:class:`UploadSource`), the check
that the file did not change under it, reading a small one whole, the CRC32C of chosen
blocks (to prove a task holds this file), the counters of what was sent,
and the :class:`~ferry_client.models.UploadResult` assembled once the file is published."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ferry.v1 import ferry_pb2 as pb

from ferry_client.errors import IntegrityError, SourceChanged
from ferry_client.hashing import BackgroundHash, crc32c_extend
from ferry_client.models import UploadResult
from ferry_client.planning import MAX_MESSAGE_DATA, Block
from ferry_client.retry import RetryBudget
from ferry_client.state import UploadKey


class UploadSource:
    """What one upload call declares: the file, and its SHA-256 once known (or the thread
    computing it)."""

    __slots__ = ("hashed_bytes", "hashing", "key", "metadata", "overwrite", "sha256")

    def __init__(self, key: UploadKey, *, metadata: dict[str, str], overwrite: bool) -> None:
        self.key = key
        self.metadata = metadata
        self.overwrite = overwrite
        #: Empty until the file is hashed (or its hash recalled).
        self.sha256 = ""
        #: Bytes read to hash the file in this call.
        self.hashed_bytes = 0
        #: The thread hashing the file while its blocks travel, if it was started.
        self.hashing: BackgroundHash | None = None

    def digest(self) -> str:
        """The file's SHA-256, waiting for the hashing thread if it is still running (and
        raising what it raised). Called from the upload's own thread only."""
        if not self.sha256 and self.hashing is not None:
            self.sha256 = self.hashing.result()
            self.hashed_bytes = self.hashing.bytes_read
        return self.sha256

    def raise_if_hashing_failed(self) -> None:
        """Raise the hashing thread's error now (SourceChanged, OSError), from any thread."""
        if self.hashing is not None:
            self.hashing.raise_if_failed()

    def stop_hashing(self) -> None:
        if self.hashing is not None:
            self.hashing.stop()

    def declaration(self, block_size: int | None, *, sha256: str) -> pb.CreateTaskRequest:
        """The CreateTask request for this file, with ``sha256`` ("" to give it at Merge)."""
        key = self.key
        return pb.CreateTaskRequest(
            file_name=file_name(key),
            size=key.size,
            sha256=sha256,
            store_path=key.store_path,
            metadata=self.metadata,
            block_size=block_size or 0,
            overwrite=self.overwrite,
        )


class Counters:
    """What one upload call sent. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes_sent = 0
        self.blocks_sent = 0
        self.checksum_mismatches = 0

    def add(self, *, data: int = 0, blocks: int = 0, mismatches: int = 0) -> None:
        with self._lock:
            self.bytes_sent += data
            self.blocks_sent += blocks
            self.checksum_mismatches += mismatches


def build_result(
    final: pb.Task,
    upload: UploadSource,
    counters: Counters,
    budget: RetryBudget,
    started: float,
    *,
    resumed: bool,
    committed_at_start: int = 0,
) -> UploadResult:
    """The published task as an :class:`UploadResult`, once its SHA-256 is the file's."""
    if final.sha256 != upload.sha256:
        raise IntegrityError(
            f"the server published {final.store_path!r} with SHA-256 {final.sha256}, "
            f"not the file's {upload.sha256}",
            task_id=final.task_id,
        )
    return UploadResult(
        task_id=final.task_id,
        store_path=final.store_path,
        size=final.size,
        sha256=final.sha256,
        metadata=dict(final.metadata),
        block_size=final.block_size,
        block_count=final.block_count,
        resumed=resumed,
        hashed_bytes=upload.hashed_bytes,
        committed_at_start=committed_at_start,
        bytes_sent=counters.bytes_sent,
        blocks_sent=counters.blocks_sent,
        checksum_mismatches=counters.checksum_mismatches,
        retries=budget.total_failures,
        elapsed_seconds=time.monotonic() - started,
    )


def check_unchanged(key: UploadKey, st: os.stat_result | None = None) -> None:
    """Raise SourceChanged unless the file (or ``st``, a stat of it) has the key's size and
    mtime."""
    if st is None:
        st = Path(key.path).stat()
    if (st.st_size, st.st_mtime_ns) != (key.size, key.mtime_ns):
        raise SourceChanged(
            f"{key.path} changed while it was being uploaded "
            f"(size {key.size} -> {st.st_size}, mtime changed: {st.st_mtime_ns != key.mtime_ns})"
        )


def file_name(key: UploadKey) -> str:
    """The file's name: ``key.path`` is absolute and ends with it (cheaper than pathlib)."""
    return key.path.rpartition(os.sep)[2]


def read_whole(key: UploadKey) -> bytes:
    """The whole file, as it was when ``key`` was made (else SourceChanged).

    Plain ``os`` calls: this runs once per small file, where pathlib's objects are a
    noticeable part of the client's work.
    """
    fd = os.open(key.path, os.O_RDONLY)
    try:
        # Up to one byte more than expected, which reveals a file that grew since it was
        # measured.
        pieces = []
        wanted = key.size + 1
        while wanted > 0:
            piece = os.read(fd, wanted)
            if not piece:
                break
            pieces.append(piece)
            wanted -= len(piece)
        check_unchanged(key, os.fstat(fd))
    finally:
        os.close(fd)
    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    if len(data) != key.size:
        raise SourceChanged(f"{key.path} changed while it was being read ({len(data)} bytes)")
    return data


def blocks_crc32c(key: UploadKey, blocks: list[Block]) -> dict[int, int]:
    """The CRC32C of each of ``blocks`` of the file, reading only those (SourceChanged if the
    file is no longer the key's version)."""
    found: dict[int, int] = {}
    fd = os.open(key.path, os.O_RDONLY)
    try:
        check_unchanged(key, os.fstat(fd))
        for block in blocks:
            crc, done = 0, 0
            while done < block.length:
                piece = os.pread(
                    fd, min(MAX_MESSAGE_DATA, block.length - done), block.offset + done
                )
                if not piece:
                    raise SourceChanged(f"{key.path} changed while it was being read")
                crc = crc32c_extend(crc, piece)
                done += len(piece)
            found[block.index] = crc
        check_unchanged(key, os.fstat(fd))
    finally:
        os.close(fd)
    return found
