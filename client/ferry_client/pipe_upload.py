"""Uploads of a stream of unknown length (stdin, a pipe, a binary file object, an iterator of
bytes): the data is read once, in order, hashed as it flows, cut into blocks sent over several
streams, and only what the server has not acknowledged is kept in memory.

The task is declared with its size deferred (``CreateTaskRequest.size_deferred``, bounded by
``max_size``); every block but the last is ``block_size`` bytes; the message carrying a block's
CRC32C ends it, so the last block is simply shorter; Merge declares the size and the SHA-256.
A stream of at most 1 MiB is sent whole in one UploadFile request instead.

Memory: each stream holds at most one block that the server has not acknowledged, and a block
is read from the source only when a stream is free to send it, so at most ``parallelism``
blocks (16 MiB with the defaults: 2 streams of 8 MiB) are held, plus what one read returns. A
stream that fails gives its block back to be sent again on a new stream (after the retry
policy's delay), so a cut connection is recovered within the process. A pipe cannot be resumed
after the process dies: its bytes are gone, and the task is left for its owner to cancel (the
process cancels it itself when it gives up for good).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from ferry.v1 import ferry_pb2 as pb

from ferry_client.errors import ChecksumMismatch, FerryError, ServerError
from ferry_client.events import EventSink
from ferry_client.hashing import crc32c_extend
from ferry_client.models import UploadResult
from ferry_client.planning import (
    MAX_MESSAGE_DATA,
    ProgressAccount,
    ProgressCallback,
    smaller_block_size,
)
from ferry_client.retry import RetryBudget, retrying
from ferry_client.source import Counters
from ferry_client.stall import StallWatch
from ferry_client.transport import UPLOAD_FILE_MAX_SIZE, Part, PartsStream, Transport

log = logging.getLogger("ferry.client")

#: Bytes per second Merge is assumed to hash at worst, for its deadline (as block_upload's).
MERGE_HASH_RATE = 200 * 1024 * 1024

#: What :meth:`FerryClient.upload_stream` reads from.
StreamSource = BinaryIO | Iterable[bytes]


class StreamReader:
    """Reads a binary file object or an iterator of bytes in pieces of a chosen size, hashing
    every byte once, in order. Not thread-safe: one reader at a time (the sender's lock)."""

    def __init__(self, source: StreamSource) -> None:
        self._read = getattr(source, "read", None)
        self._chunks: Iterator[bytes] | None = None
        if self._read is None:
            if isinstance(source, bytes | bytearray | memoryview | str):
                raise TypeError(
                    "upload_stream reads a binary file object or an iterable of bytes objects; "
                    "wrap bytes in a list"
                )
            self._chunks = iter(source)
        self._left = b""
        self._sha = hashlib.sha256()
        #: Bytes handed out by :meth:`read`.
        self.consumed = 0
        #: Bytes hashed: every byte once, even those handed out again after :meth:`unread`.
        self._hashed = 0
        self._source_ended = False

    @property
    def eof(self) -> bool:
        """Every byte of the source was handed out."""
        return self._source_ended and not self._left

    def fill(self, size: int) -> int:
        """Read ahead until ``size`` bytes wait to be handed out (fewer only at the end of the
        data); how many wait."""
        parts = [self._left]
        have = len(self._left)
        while have < size and not self._source_ended:
            piece = self._next(size - have)
            if not piece:
                self._source_ended = True
                break
            parts.append(piece)
            have += len(piece)
        self._left = b"".join(parts)
        return have

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes, fewer only at the end of the data."""
        self.fill(size)
        data, self._left = self._left[:size], self._left[size:]
        end = self.consumed + len(data)
        if end > self._hashed:
            self._sha.update(data[self._hashed - self.consumed :])
            self._hashed = end
        self.consumed = end
        return data

    def unread(self, data: bytes) -> None:
        """Hand ``data``, the last bytes :meth:`read` returned, out again (a task started
        over); they are not hashed twice."""
        self._left = data + self._left
        self.consumed -= len(data)

    def _next(self, wanted: int) -> bytes:
        if self._read is not None:
            piece = self._read(wanted)
        else:
            assert self._chunks is not None
            piece = next(self._chunks, b"")
        if not isinstance(piece, bytes | bytearray | memoryview):
            raise TypeError(f"a stream upload reads bytes, not {type(piece).__name__}")
        return bytes(piece)

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


@dataclass(frozen=True, slots=True)
class _Block:
    index: int
    data: bytes
    crc32c: int


class StreamUpload:
    """One stream of unknown length to one store_path (see the module's docstring)."""

    def __init__(
        self,
        transport: Transport,
        source: StreamSource,
        store_path: str,
        *,
        file_name: str,
        metadata: Mapping[str, str],
        block_size: int | None,
        max_size: int | None,
        parallelism: int,
        overwrite: bool,
        budget: RetryBudget,
        events: EventSink,
        progress: ProgressCallback | None,
        merge_timeout: float,
        stall_timeout: float | None = None,
    ) -> None:
        self.stalls = StallWatch(stall_timeout)
        self.transport = transport
        self.reader = StreamReader(source)
        self.store_path = store_path
        self.file_name = file_name
        self.metadata = dict(metadata)
        self.block_size = block_size
        self.max_size = max_size
        self.parallelism = parallelism
        self.overwrite = overwrite
        self.budget = budget
        self.events = events
        self.progress = ProgressAccount(0, 0, progress)
        self.merge_timeout = merge_timeout
        self.counters = Counters()
        self.task_id = ""
        self._cv = threading.Condition()
        self._read_lock = threading.Lock()
        self._next_index = 0
        self._unacknowledged: dict[int, _Block] = {}
        self._resend: collections.deque[_Block] = collections.deque()
        self._error: BaseException | None = None
        self._streams: set[_Stream] = set()
        #: Set when no block gets through the link: start the task over with this block size.
        self._smaller: int | None = None
        self._acknowledged_any = False
        #: Data bytes each failed stream sent before it failed (for a flaky link).
        self._carried: list[int] = []

    # -- the whole call ----------------------------------------------------------------------

    def run(self, started: float) -> UploadResult:
        if self.reader.fill(UPLOAD_FILE_MAX_SIZE + 1) <= UPLOAD_FILE_MAX_SIZE:
            return self._send_whole(self.reader.read(UPLOAD_FILE_MAX_SIZE), started)
        task = self._create()
        self.task_id = task.task_id
        self.block_size = task.block_size
        self.events.created(task.task_id, resumed=False, total=0)
        try:
            while not self._stream_blocks():
                self._start_smaller()
            final = self._merge()
        except FerryError as exc:
            raise self._give_up(exc) from exc
        except BaseException as exc:
            self._give_up(exc)
            raise
        return self._result(final, started)

    def _send_whole(self, data: bytes, started: float) -> UploadResult:
        request = pb.UploadFileRequest(
            file_name=self.file_name,
            sha256=self.reader.sha256,
            store_path=self.store_path,
            metadata=self.metadata,
            overwrite=self.overwrite,
            crc32c=crc32c_extend(0, data),
            data=data,
        )

        def send() -> pb.UploadFileResponse:
            self.counters.add(data=len(data), blocks=1 if data else 0)
            return self.transport.upload_file(request)

        response = retrying(self.budget, send)
        self.events.created(response.task.task_id, resumed=response.resumed, total=len(data),
                            sent_whole=True)  # fmt: skip
        self.progress.committed(0, len(data))
        return self._result(response.task, started, resumed=response.resumed)

    def _create(self) -> pb.Task:
        request = pb.CreateTaskRequest(
            file_name=self.file_name,
            store_path=self.store_path,
            metadata=self.metadata,
            block_size=self.block_size or 0,
            overwrite=self.overwrite,
            size_deferred=True,
            max_size=self.max_size or 0,
        )
        return retrying(self.budget, lambda: self.transport.create_task(request)).task

    def _merge(self) -> pb.Task:
        sha256, size = self.reader.sha256, self.reader.consumed
        # The server hashes blocks as they arrive; the bound covers a replica that must hash
        # all of them at Merge (blocks received elsewhere, a restart).
        timeout = self.merge_timeout + size / MERGE_HASH_RATE
        return retrying(
            self.budget,
            lambda: self.transport.merge(self.task_id, sha256=sha256, size=size, timeout=timeout),
        )

    def _give_up(self, error: BaseException) -> BaseException:
        """The bytes not acknowledged die with this call, so the task can never finish: cancel
        it (no other process can resume a stream) and say so in the error."""
        try:
            self.transport.set_state(self.task_id, pb.TASK_STATE_CANCELED)
        except FerryError as exc:
            log.warning(
                "could not cancel task %s after %s: %s; cancel it with `ferry cancel %s`",
                self.task_id, error, exc, self.task_id,
            )  # fmt: skip
            return error
        if isinstance(error, FerryError):
            return error.with_message(
                f"{error.message}; task {self.task_id} was cancelled: a stream upload cannot "
                "be resumed"
            )
        return error

    def _result(self, final: pb.Task, started: float, *, resumed: bool = False) -> UploadResult:
        if final.sha256 != self.reader.sha256 or final.size != self.reader.consumed:
            raise ServerError(
                f"the server published {final.store_path!r} as {final.size} bytes with SHA-256 "
                f"{final.sha256}, not the stream's {self.reader.consumed} bytes with "
                f"{self.reader.sha256}",
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
            hashed_bytes=self.reader.consumed,
            committed_at_start=0,
            bytes_sent=self.counters.bytes_sent,
            blocks_sent=self.counters.blocks_sent,
            checksum_mismatches=self.counters.checksum_mismatches,
            retries=self.budget.total_failures,
            elapsed_seconds=time.monotonic() - started,
        )

    # -- the blocks --------------------------------------------------------------------------

    def _start_smaller(self) -> None:
        """Nothing was acknowledged, so every byte read is still here: put it back in front of
        the source, cancel the task and declare a new one with smaller blocks."""
        smaller, old = self._smaller, self.task_id
        assert smaller is not None
        held = sorted(self._unacknowledged.values(), key=lambda block: block.index)
        log.warning(
            "no %d-byte block of task %s got through before the connection was lost (%d "
            "attempts): starting over with %d-byte blocks (nothing was committed)",
            self.block_size, old, self.budget.failures, smaller,
        )  # fmt: skip
        self.reader.unread(b"".join(block.data for block in held))
        for block in held:
            self.progress.lost(block.index)
        retrying(self.budget, lambda: self.transport.set_state(old, pb.TASK_STATE_CANCELED))
        self._unacknowledged.clear()
        self._resend.clear()
        self._next_index = 0
        self._smaller = None
        self._carried.clear()
        # Choosing smaller blocks is a change of course, not a failure: the limits start over.
        self.budget.progressed()
        self.block_size = smaller
        task = self._create()
        self.task_id = task.task_id
        self.block_size = task.block_size
        self.events.created(task.task_id, resumed=False, total=0)

    def _stream_blocks(self) -> bool:
        """Send every block; False when the task is to start over with smaller blocks."""
        workers = [
            threading.Thread(target=self._worker, name=f"ferry-stream-{n}", daemon=True)
            for n in range(self.parallelism)
        ]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                worker.join()
        except BaseException as exc:
            self.fail(exc)
            for worker in workers:
                worker.join(timeout=10)
            raise
        finally:
            self.stalls.close()
        if self._error is not None:
            raise self._error
        if self._smaller is None:
            return True
        if self._acknowledged_any:
            # A block got through while the streams stopped: keep this task after all.
            self._smaller = None
            return self._stream_blocks()
        return False

    def _worker(self) -> None:
        """Streams after streams until every block is acknowledged or the upload failed."""
        while True:
            with self._cv:
                if self._error is not None or self._smaller is not None or self._finished():
                    return
            stream = _Stream(self)
            with self._cv:
                self._streams.add(stream)
            try:
                stream.run()
            except FerryError as exc:
                if self._error is not None or self._smaller is not None:
                    return
                if stream.sent:
                    with self._cv:
                        self._carried.append(stream.sent)
                try:
                    self._pause_or_raise(exc)
                except BaseException as final:
                    self.fail(final)
                    return
                self._maybe_smaller()
            except BaseException as exc:
                self.fail(exc)
                return
            finally:
                with self._cv:
                    self._streams.discard(stream)

    def _maybe_smaller(self) -> None:
        """After a failure: if no block ever got through, ask for smaller blocks
        (:func:`~ferry_client.planning.smaller_block_size`) and stop every stream."""
        with self._cv:
            if self._smaller is not None or self._acknowledged_any or self._error is not None:
                return
            smaller = smaller_block_size(
                self.block_size or 0, carried=self._carried, committed=0, streams=1
            )
            if smaller is None:
                return
            self._smaller = smaller
            streams = list(self._streams)
            self._cv.notify_all()
        for stream in streams:
            stream.cancel()

    def _pause_or_raise(self, exc: FerryError) -> None:
        delay = self.budget.next_delay(exc)
        if delay is None:
            if self.budget.policy.is_retryable(exc):
                raise exc.with_message(f"{exc.message}; {self.budget.describe()}") from exc
            raise exc
        log.warning("%s; sending its blocks again on a new stream in %.2fs", exc, delay)
        if self.budget.on_retry is not None:
            self.budget.on_retry(exc, delay)
        time.sleep(delay)

    def _finished(self) -> bool:
        return self.reader.eof and not self._unacknowledged and not self._resend

    def take(self) -> _Block | None:
        """The next block to send: one given back by a failed stream, else the next one read
        from the source; ``None`` when there is nothing left (or the upload failed). Waits
        while every block is read and some are still in flight on other streams, which may
        give them back."""
        with self._cv:
            while True:
                if self._error is not None or self._smaller is not None:
                    return None
                if self._resend:
                    return self._resend.popleft()
                if not self.reader.eof:
                    break
                if not self._unacknowledged:
                    return None
                self._cv.wait()
        with self._read_lock:
            data = self.reader.read(self.block_size or 0)
            if not data:
                with self._cv:
                    self._cv.notify_all()
                return None
            with self._cv:
                block = _Block(self._next_index, data, crc32c_extend(0, data))
                self._next_index += 1
                self._unacknowledged[block.index] = block
                if self.max_size and self.reader.consumed > self.max_size:
                    raise ServerError(
                        f"the stream is longer than its declared max_size of {self.max_size} bytes",
                        task_id=self.task_id,
                    )
                return block

    def give_back(self, block: _Block) -> None:
        self.progress.lost(block.index)
        with self._cv:
            self._resend.append(block)
            self._cv.notify_all()

    def acknowledged(self, block: _Block) -> None:
        self.progress.committed(block.index, len(block.data))
        self.budget.progressed()
        with self._cv:
            self._acknowledged_any = True
            self._unacknowledged.pop(block.index, None)
            self._cv.notify_all()

    def fail(self, error: BaseException) -> None:
        with self._cv:
            if self._error is None:
                self._error = error
            streams = list(self._streams)
            self._cv.notify_all()
        for stream in streams:
            stream.cancel()


class _Stream:
    """One UploadParts stream carrying one unacknowledged block at a time."""

    def __init__(self, upload: StreamUpload) -> None:
        self.upload = upload
        self._cv = threading.Condition()
        self._pending: _Block | None = None
        self._failed = False
        self._call: PartsStream | None = None
        self._request_error: BaseException | None = None
        self._cancelled = False
        #: Data bytes this stream handed to gRPC.
        self.sent = 0
        self._stall = upload.stalls.watch(self.cancel)

    def cancel(self) -> None:
        with self._cv:
            self._cancelled = True
            call = self._call
            self._cv.notify_all()
        if call is not None:
            call.cancel()

    def run(self) -> None:
        upload = self.upload
        try:
            call = upload.transport.upload_parts(self._requests(), task_id=upload.task_id)
            with self._cv:
                self._call = call
                cancelled = self._cancelled
            if cancelled:
                call.cancel()
            for ack in call:
                self._on_ack(ack)
            if self._request_error is not None:
                raise self._request_error
            with self._cv:
                pending = self._pending
            if pending is not None:
                raise ServerError(
                    f"the server ended the stream without acknowledging block {pending.index}",
                    task_id=upload.task_id,
                )
        except BaseException:
            with self._cv:
                self._failed = True
                lost, self._pending = self._pending, None
                self._cv.notify_all()
            if lost is not None:
                upload.give_back(lost)
            stalled = self._stall.error(upload.task_id)
            if stalled is not None:
                raise stalled from None
            raise
        finally:
            upload.stalls.forget(self._stall)

    def _requests(self) -> Iterator[Part]:
        """Runs on a gRPC thread; its exceptions are kept for ``run`` to raise."""
        upload = self.upload
        try:
            while True:
                with self._cv:
                    self._cv.wait_for(
                        lambda: self._pending is None or self._failed or self._cancelled
                    )
                    if self._failed or self._cancelled:
                        return
                block = upload.take()
                if block is None:
                    return
                with self._cv:
                    if self._failed or self._cancelled:
                        upload.give_back(block)
                        return
                    self._pending = block
                self._stall.busy(True)
                size = len(block.data)
                for offset in range(0, size, MAX_MESSAGE_DATA):
                    if self._failed or self._cancelled:
                        return
                    data = block.data[offset : offset + MAX_MESSAGE_DATA]
                    last = offset + len(data) == size
                    upload.counters.add(data=len(data), blocks=1 if last else 0)
                    self.sent += len(data)
                    upload.progress.sent(block.index, len(data))
                    yield Part(upload.task_id, block.index, offset, data,
                               block.crc32c if last else None)  # fmt: skip
                    self._stall.progressed()
        except Exception as exc:
            self._request_error = exc

    def _on_ack(self, ack: pb.UploadPartsResponse) -> None:
        upload = self.upload
        with self._cv:
            block = self._pending
        if block is None or ack.block_index != block.index:
            raise ServerError(
                f"the server acknowledged block {ack.block_index}, but this stream was "
                f"waiting for {block.index if block else 'nothing'}",
                task_id=upload.task_id,
            )
        with self._cv:
            self._pending = None
            self._stall.progressed()
            self._stall.busy(False)
            self._cv.notify_all()
        if ack.status == pb.BLOCK_STATUS_COMMITTED:
            upload.acknowledged(block)
        elif ack.status == pb.BLOCK_STATUS_CHECKSUM_MISMATCH:
            upload.counters.add(mismatches=1)
            error = ChecksumMismatch(ack.message, task_id=upload.task_id)
            upload.give_back(block)
            if upload.budget.next_delay(error) is None:
                raise ChecksumMismatch(
                    f"{ack.message}; {upload.budget.describe()}", task_id=upload.task_id
                )
            log.warning("%s; sending block %d again", ack.message, block.index)
        else:
            # COMMITTED_DIFFERENT: this process is the task's only writer, so it is a bug.
            raise ServerError(
                f"block {block.index}: {ack.message or f'status {ack.status}'}",
                task_id=upload.task_id,
            )


__all__ = ["StreamReader", "StreamSource", "StreamUpload"]
