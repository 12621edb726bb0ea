"""The object-store implementation of the BlockStore port: block attempts spooled on local
disk, each committed block uploaded once as a part of its task's multipart upload, and the
task's whole sealed into a staging object, hashed and copied to its store_path at Merge.

Keys, relative to the configured prefix: ``.ferry-staging/<task>`` is the task's multipart
upload (created at CreateTask) and, once sealed, its staging object; ``.ferry-staging/<task>.whole``
an UploadFile's bytes; anything else is a published file (``store_path``). A task's upload id is
found from its key (one upload is ever started per task key), so SQL records only the parts'
ETags (the block rows' receipts). See docs/design.md, "Object store".
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import BinaryIO

import google_crc32c

from ferry_server.domain.errors import FileNotFound, IllegalState, InvalidStorePath, Reason
from ferry_server.domain.inputs import shown
from ferry_server.domain.ports import (
    BlockElsewhere,
    BlocksNotLanded,
    CommittedBlock,
    DestinationExists,
    StagingEntry,
    StagingMissing,
)
from ferry_server.storage.objectstore import (
    ObjectMissing,
    RecordedPart,
    S3ObjectStore,
    UploadMissing,
)
from ferry_server.storage.spool import Spool, SpoolWriter

log = logging.getLogger("ferry.storage")

#: Ferry's own keys under the prefix; a store_path may not start with it.
STAGING = ".ferry-staging"
_WHOLE = "whole"
_READ_CHUNK = 1024 * 1024
#: S3 keys are at most this many bytes of UTF-8.
_MAX_KEY_BYTES = 1024


class _NoAssembly:
    """The assembly of the object store is the store's own staging object: the hasher's
    copy of each chunk has nowhere to go and is dropped (it only hashes)."""

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def write(self, offset: int, data: bytes) -> None:
        return

    def sync(self) -> None:
        return

    def rename(self, name: str) -> None:
        self._name = name

    def close(self) -> None:
        return


class _PublishedObject:
    """One version of a published object: its reads are conditional on the ETag seen when it
    was opened, so a replacement meanwhile is refused rather than spliced (the store keeps no
    old version to go on reading, as an open file descriptor does)."""

    def __init__(self, s3: S3ObjectStore, key: str, size: int, etag: str) -> None:
        self._s3 = s3
        self._key = key
        self._size = size
        self._etag = etag

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int, chunk: int) -> Iterator[bytes]:
        try:
            yield from self._s3.read(
                self._key, offset, offset + length, if_match=self._etag, chunk=chunk
            )
        except (DestinationExists, ObjectMissing) as exc:
            raise IllegalState(
                f"{shown(self._key)} was replaced or removed while it was read; read it again "
                "from offset 0",
                reason=Reason.GENERATION_CHANGED,
            ) from exc

    def close(self) -> None:
        return


#: What free_bytes() reports: more than any declaration can ask for.
_UNCOUNTED_BYTES = 2**62


class S3BlockStore:
    """BlockStore over an S3-compatible bucket (``S3ObjectStore``) and a local ``Spool``.
    Thread-safe: one per replica."""

    def __init__(self, s3: S3ObjectStore, spool: Spool) -> None:
        self.s3 = s3
        self.spool = spool
        self._uploads: dict[str, str] = {}
        #: Tasks this process sealed: their blocks are readable from the staging object.
        self._sealed: set[str] = set()
        #: Tasks whose hash this process had to finish from the store (logged once each).
        self._read_back: set[str] = set()
        self._lock = threading.Lock()
        #: One lander per block at a time in this process (striped): a retry waits for a
        #: landing in progress, then finds its part instead of uploading it again.
        self._landing = [threading.Lock() for _ in range(64)]

    @property
    def lands_blocks(self) -> bool:
        return True

    # --- keys and uploads ---------------------------------------------------------------------

    @staticmethod
    def _task_key(task_id: str) -> str:
        if not task_id.isalnum():
            raise StagingMissing(f"task id {task_id!r} is malformed")
        return f"{STAGING}/{task_id}"

    def _upload_id(self, task_id: str) -> str:
        """The task's multipart upload id; UploadMissing if it has none (completed, aborted)."""
        with self._lock:
            known = self._uploads.get(task_id)
        if known is not None:
            return known
        key = self._task_key(task_id)
        for upload in self.s3.list_uploads(key):
            if upload.key == key:
                with self._lock:
                    self._uploads[task_id] = upload.upload_id
                return upload.upload_id
        raise UploadMissing(f"task {task_id} has no multipart upload")

    def _forget_upload(self, task_id: str) -> None:
        with self._lock:
            self._uploads.pop(task_id, None)

    # --- BlockStore ---------------------------------------------------------------------------

    def create(self, task_id: str) -> None:
        # Disk is reserved per attempt by the spool, not per task: a task's bytes live in the
        # store. The upload is created now so that every replica finds the same one.
        upload_id = self.s3.start_upload(self._task_key(task_id))
        with self._lock:
            self._uploads[task_id] = upload_id

    def free_bytes(self) -> int:
        # A task's bytes go to the store, whose space is not Ferry's to count; local disk holds
        # only the spool, which keeps its own budget (--spool-size) per attempt.
        return _UNCOUNTED_BYTES

    def write_whole(self, task_id: str, data: bytes) -> str:
        key = f"{self._task_key(task_id)}.{_WHOLE}"
        self.s3.put(key, data, google_crc32c.value(data), if_none_match=False)
        return _WHOLE

    def open_attempt(self, task_id: str, index: int, attempt: str, length: int = 0) -> SpoolWriter:
        return self.spool.open(task_id, index, attempt, length)

    def discard_attempt(self, task_id: str, index: int, attempt: str) -> None:
        self.spool.remove(task_id, index, attempt)

    def land_block(self, task_id: str, block: CommittedBlock, *, again: bool = False) -> str | None:
        if block.attempt is None:
            raise StagingMissing(f"block {block.index} of task {task_id} has no attempt")
        path = self.spool.path(task_id, block.index, block.attempt)
        key = self._task_key(task_id)
        upload_id = self._upload_id(task_id)
        with self._landing[hash((task_id, block.index)) % len(self._landing)]:
            if again:
                # An earlier landing of this very attempt may have reached the store although
                # its answer was lost (or its process died): never upload a part number twice.
                listed = self.s3.find_part(key, upload_id, block.index + 1)
                if listed is not None and listed.size == block.length:
                    return listed.etag
            if not path.exists():
                raise StagingMissing(
                    f"the spool file of block {block.index} of task {task_id} is gone"
                )
            return self.s3.upload_part(
                key, upload_id, block.index + 1, path, block.length, block.crc32c
            )

    def release_block(self, task_id: str, block: CommittedBlock) -> None:
        # Only once landed: a block the hasher learned from SQL may still be uploading from
        # this very file (its landing notice releases it later).
        if block.attempt is not None and block.receipt is not None:
            self.spool.remove(task_id, block.index, block.attempt)

    def read_block(self, task_id: str, block: CommittedBlock, offset: int) -> Iterator[bytes]:
        if block.attempt is not None:
            path = self.spool.path(task_id, block.index, block.attempt)
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                pass
            else:
                return _read_file(handle, block.length)
        with self._lock:
            sealed = task_id in self._sealed
        if not sealed:
            raise BlockElsewhere(
                f"block {block.index} of task {task_id} is in another replica's spool"
            )
        with self._lock:
            first = task_id not in self._read_back
            self._read_back.add(task_id)
        if first:
            # Operators (and the benchmark) see when Merge pays for a read of the data.
            log.info("task %s: hashing from block %d on by reading back from the store",
                     task_id, block.index)  # fmt: skip
        return self.s3.read(self._task_key(task_id), offset, offset + block.length)

    def block_exists(self, task_id: str, block: CommittedBlock, offset: int) -> bool:
        return block.receipt is not None

    def open_assembly(self, task_id: str, name: str) -> _NoAssembly:
        return _NoAssembly(name)

    def discard_assemblies(self, task_id: str) -> None:
        return

    def fence_merges(self, task_id: str, keep: str) -> int:
        # Nothing to fence: every merger publishes a copy of the one sealed staging object,
        # whose bytes never change once sealed.
        return 0

    def seal(self, task_id: str, blocks: Sequence[CommittedBlock]) -> None:
        key = self._task_key(task_id)
        size = sum(block.length for block in blocks)
        try:
            upload_id = self._upload_id(task_id)
        except UploadMissing:
            # Sealed by an earlier merger of this task (crashed or taken over) if the staging
            # object is there at the full size; else the task's bytes are gone.
            try:
                if self.s3.size(key) == size:
                    with self._lock:
                        self._sealed.add(task_id)
                    return
            except ObjectMissing:
                pass
            raise
        recorded: dict[int, str] = {b.index: b.receipt for b in blocks if b.receipt is not None}
        unlanded = [b for b in blocks if b.receipt is None]
        if unlanded:
            # Committed, the receipt not recorded: its lander died after the upload, or is
            # still at it. The store lists a part only if that upload (of the committed
            # attempt: nobody else uploads that part number) arrived and passed its CRC32C.
            listed: dict[int, list[str]] = {}
            sizes: dict[int, int] = {}
            for part in self.s3.list_parts(key, upload_id):
                listed.setdefault(part.number, []).append(part.etag)
                sizes[part.number] = part.size
            missing = []
            for block in unlanded:
                etags = listed.get(block.index + 1, [])
                if len(etags) == 1 and sizes[block.index + 1] == block.length:
                    recorded[block.index] = etags[0]
                elif not etags and self._holds_spool(task_id, block):
                    # Its landing here was cut short (the store was down): land it now, as a
                    # retry of the block would, rather than leave it to the sweeper's revert
                    # (the striped lock keeps a landing still running from uploading twice).
                    try:
                        etag = self.land_block(task_id, block, again=True)
                    except StagingMissing:
                        etag = None
                    if etag is None:
                        missing.append(block.index)
                    else:
                        recorded[block.index] = etag
                else:
                    missing.append(block.index)
            if missing:
                raise BlocksNotLanded(missing)
        parts = [
            RecordedPart(number=b.index + 1, etag=recorded[b.index], size=b.length, crc32c=b.crc32c)
            for b in blocks
        ]
        if not parts:
            # S3 completes no upload without parts: an empty file is one empty object.
            self.s3.put(key, b"", 0, if_none_match=False)
            self.s3.abort(key, upload_id)
        else:
            self.s3.check_parts(key, upload_id, parts)
            self.s3.complete(key, upload_id, parts, if_none_match=False)
        self._forget_upload(task_id)
        with self._lock:
            self._sealed.add(task_id)

    def _holds_spool(self, task_id: str, block: CommittedBlock) -> bool:
        return block.attempt is not None and (
            self.spool.path(task_id, block.index, block.attempt).exists()
        )

    def has_staging(self, task_id: str) -> bool:
        try:
            self._upload_id(task_id)
        except UploadMissing:
            return self.s3.exists(self._task_key(task_id))
        return True

    def discard(self, task_id: str) -> None:
        key = self._task_key(task_id)
        with contextlib.suppress(UploadMissing):
            self.s3.abort(key, self._upload_id(task_id))
        self._forget_upload(task_id)
        with self._lock:
            self._sealed.discard(task_id)
            self._read_back.discard(task_id)
        self.s3.delete(key)
        self.s3.delete(f"{key}.{_WHOLE}")
        for entry in self.spool.entries():
            if entry.task_id == task_id:
                self.spool.remove(entry.task_id, entry.index, entry.attempt)

    def staged_tasks(self, after: str, limit: int) -> list[StagingEntry]:
        now = datetime.now(UTC)
        seen: dict[str, datetime] = {}
        found = [(u.key, u.initiated) for u in self.s3.list_uploads(f"{STAGING}/")]
        found += self.s3.list_objects(f"{STAGING}/")
        for key, when in found:
            task_id = key.removeprefix(f"{STAGING}/").split(".")[0]
            if task_id.isalnum() and task_id > after:
                seen[task_id] = min(when, seen.get(task_id, when))
        return [
            StagingEntry(task_id, (now - seen[task_id]).total_seconds(), [], False)
            for task_id in sorted(seen)[:limit]
        ]

    def sweep_local(self, older_than: float, keep: Callable[[str, int, str], bool]) -> int:
        return self.spool.sweep(
            older_than=older_than, keep=lambda e: keep(e.task_id, e.index, e.attempt)
        )

    def check_destination(self, store_path: str) -> None:
        if store_path.split("/", 1)[0] == STAGING:
            raise InvalidStorePath(f"store_path {store_path!r} is inside Ferry's staging")
        key = self.s3.location.prefix + store_path
        if len(key.encode("utf-8", "surrogatepass")) > _MAX_KEY_BYTES:
            raise InvalidStorePath(
                f"store_path {store_path!r} makes an object key longer than {_MAX_KEY_BYTES} bytes"
            )

    def destination_exists(self, store_path: str) -> bool:
        return self.s3.exists(store_path)

    def read_published(self, store_path: str) -> Iterator[bytes]:
        return self.s3.read(store_path, 0, self.s3.size(store_path))

    def open_published(self, store_path: str) -> _PublishedObject:
        try:
            size, etag = self.s3.head(store_path)
        except ObjectMissing as exc:
            raise FileNotFound(f"no file is published at {shown(store_path)}") from exc
        return _PublishedObject(self.s3, store_path, size, etag)

    def publish(self, task_id: str, name: str, store_path: str, *, overwrite: bool) -> None:
        source = self._task_key(task_id)
        if name == _WHOLE:
            source = f"{source}.{_WHOLE}"
        self.s3.copy(source, store_path, if_none_match=not overwrite)


def _read_file(handle: BinaryIO, length: int) -> Iterator[bytes]:
    with handle:
        left = length
        while left > 0:
            chunk = handle.read(min(_READ_CHUNK, left))
            if not chunk:
                raise StagingMissing("a spool file is shorter than its block")
            left -= len(chunk)
            yield chunk
