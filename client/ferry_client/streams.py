"""The UploadParts streams of one round: :class:`Round` spreads a queue of blocks over up to
``parallelism`` streams, each a :class:`StreamWorker` (a thread reading acknowledgements and a
request generator sending blocks, no more bytes unacknowledged than its sliding window allows,
see ``window``), and stops them all at the first failure."""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ferry.v1 import ferry_pb2 as pb

from ferry_client.errors import ChecksumMismatch, ServerError, SourceChanged
from ferry_client.hashing import crc32c_extend
from ferry_client.planning import MAX_MESSAGE_DATA, Block, WorkQueue, message_slices
from ferry_client.transport import CallCancelled, Part, PartsStream
from ferry_client.window import WindowSizer

if TYPE_CHECKING:
    from ferry_client.block_upload import UploadRun

log = logging.getLogger("ferry.client")


class Round:
    """Streams the blocks of one WorkQueue over up to ``parallelism`` streams, until the queue
    is drained and every block acknowledged, or the first failure, which stops every stream."""

    def __init__(self, upload: UploadRun, queue: WorkQueue) -> None:
        self.upload = upload
        self.queue = queue
        self.message_size = min(MAX_MESSAGE_DATA, upload.block_size)
        self.fd = -1
        self._lock = threading.Lock()
        self._stopping = False
        self._error: BaseException | None = None
        self._workers: list[StreamWorker] = []
        self.stalls = upload.stalls

    @property
    def stopping(self) -> bool:
        return self._stopping

    def run(self) -> None:
        count = min(self.upload.parallelism, len(self.queue))
        self.fd = os.open(self.upload.key.path, os.O_RDONLY)
        try:
            self._workers = [StreamWorker(self, n) for n in range(count)]
            for worker in self._workers:
                worker.thread.start()
            try:
                for worker in self._workers:
                    worker.thread.join()
            except BaseException:
                # Ctrl-C in the calling thread: stop the streams before leaving.
                self.stop()
                for worker in self._workers:
                    worker.thread.join(timeout=10)
                raise
        finally:
            os.close(self.fd)
        if self._error is not None:
            raise self._error

    def failed(self, worker: StreamWorker, error: BaseException) -> None:
        """A stream ended with ``error``: the first one stops the round and is raised."""
        with self._lock:
            first = self._error is None and not (
                isinstance(error, CallCancelled) and self._stopping
            )
            if first:
                self._error = error
        if first:
            log.debug("stream %d failed: %r; stopping the others", worker.number, error)
            self.stop()
        else:
            log.debug("stream %d ended after the round stopped: %r", worker.number, error)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
        for worker in self._workers:
            worker.stop()


class StreamWorker:
    """One UploadParts stream: a thread reading acknowledgements, and a request generator
    (run by gRPC) that sends blocks one after another, a message at a time, never more bytes
    unacknowledged than its :class:`~ferry_client.window.WindowSizer` allows.

    The server handles a stream's blocks in order, so acknowledgements come in the order the
    blocks were sent.
    """

    def __init__(self, round_: Round, number: int) -> None:
        self.round = round_
        self.upload = round_.upload
        self.number = number
        self.thread = threading.Thread(
            target=self._main, name=f"ferry-upload-{number}", daemon=True
        )
        self._cv = threading.Condition()
        self._pending: collections.deque[Block] = collections.deque()
        #: Bytes of the pending blocks sent so far (what a cut would cost to send again).
        self._outstanding = 0
        self._window = WindowSizer(self.upload.stream_window_limits)
        #: Set once the stream failed: its generator must take no more blocks.
        self._failed = False
        self._stream: PartsStream | None = None
        self._request_error: Exception | None = None
        self._stall = round_.stalls.watch(self.stop)

    def stop(self) -> None:
        with self._cv:
            stream = self._stream
            self._cv.notify_all()
        if stream is not None:
            stream.cancel()

    def _main(self) -> None:
        try:
            stream = self.upload.transport.upload_parts(
                self._requests(), task_id=self.upload.task_id
            )
            with self._cv:
                self._stream = stream
            if self.round.stopping:
                stream.cancel()
            for ack in stream:
                self._on_ack(ack)
            if self._request_error is not None:
                raise self._request_error
            with self._cv:
                unacknowledged = [b.index for b in self._pending]
            if unacknowledged:
                raise ServerError(
                    f"the server ended the stream without acknowledging blocks {unacknowledged}",
                    task_id=self.upload.task_id,
                )
        except BaseException as exc:
            self._lose_pending()
            self.round.failed(self, self._stall.error(self.upload.task_id) or exc)
        finally:
            self.round.stalls.forget(self._stall)

    def _requests(self) -> Iterator[Part]:
        """Messages of one block after another; runs on a gRPC thread.

        Exceptions are kept for ``_main`` to raise: gRPC would replace them with a bare
        cancellation. Returning half-closes the stream; the server then drops a partial block.
        """
        upload = self.upload
        try:
            while True:
                # A failed hash (the file changed or cannot be read) ends the round within a
                # block rather than after the whole file was sent.
                upload.upload.raise_if_hashing_failed()
                if not self._wait_for_room(self.round.message_size):
                    return
                with self._cv:
                    block = self.round.queue.take()
                    if block is None:
                        return
                    self._pending.append(block)
                    self._stall.busy(True)
                    self._window.started(block.index, time.monotonic())
                crc = 0
                for offset, length in message_slices(block.length, self.round.message_size):
                    if self._failed or self.round.stopping:
                        return
                    if offset and not self._wait_for_room(length):
                        return
                    data = os.pread(self.round.fd, length, block.offset + offset)
                    if len(data) != length:
                        raise SourceChanged(
                            f"{upload.key.path} is shorter than when the upload started",
                            task_id=upload.task_id,
                        )
                    crc = crc32c_extend(crc, data)
                    last = offset + length == block.length
                    message = Part(upload.task_id, block.index, offset, data, crc if last else None)
                    upload.counters.add(data=length, blocks=1 if last else 0)
                    upload.progress.sent(block.index, length)
                    with self._cv:
                        self._outstanding += length
                    yield message
                    self._stall.progressed()
                # gRPC asks for the next message once it has taken this block's last one.
                with self._cv:
                    self._window.sent(block.index, time.monotonic())
        except Exception as exc:
            self._request_error = exc

    def _wait_for_room(self, nbytes: int) -> bool:
        """Wait until the window lets ``nbytes`` more go; False if the stream is ending."""
        with self._cv:
            self._cv.wait_for(
                lambda: (
                    self._failed
                    or self.round.stopping
                    or self._window.may_send(self._outstanding, nbytes)
                )
            )
            return not (self._failed or self.round.stopping)

    def _on_ack(self, ack: pb.UploadPartsResponse) -> None:
        upload = self.upload
        with self._cv:
            block = self._pending[0] if self._pending else None
        if block is None or ack.block_index != block.index:
            raise ServerError(
                f"the server acknowledged block {ack.block_index}, but this stream was "
                f"waiting for {block.index if block else 'nothing'}",
                task_id=upload.task_id,
            )
        if ack.status == pb.BLOCK_STATUS_COMMITTED:
            upload.progress.committed(block.index, block.length)
            upload.budget.progressed()
        elif ack.status == pb.BLOCK_STATUS_CHECKSUM_MISMATCH:
            upload.progress.lost(block.index)
            upload.counters.add(mismatches=1)
            error = ChecksumMismatch(ack.message, task_id=upload.task_id)
            if upload.budget.next_delay(error) is None:
                raise ChecksumMismatch(
                    f"{ack.message}; {upload.budget.describe()}", task_id=upload.task_id
                )
            # Corruption in transit is not load: send the block again at once.
            log.warning("%s; sending block %d again", ack.message, block.index)
            self.round.queue.put_back(block)
        elif ack.status == pb.BLOCK_STATUS_COMMITTED_DIFFERENT:
            # The server keeps the bytes first committed; sending these again cannot help.
            raise SourceChanged(ack.message, task_id=upload.task_id)
        else:
            raise ServerError(
                f"unknown status {ack.status} for block {ack.block_index}",
                task_id=upload.task_id,
            )
        with self._cv:
            self._pending.popleft()
            self._stall.progressed()
            self._stall.busy(bool(self._pending))
            self._outstanding = max(0, self._outstanding - block.length)
            self._window.acknowledged(block.index, block.length, time.monotonic())
            self._cv.notify_all()

    def _lose_pending(self) -> None:
        """The stream failed: its unacknowledged blocks go back to the queue."""
        with self._cv:
            self._failed = True
            lost = list(self._pending)
            self._pending.clear()
            self._outstanding = 0
            self._window.lost()
            self._cv.notify_all()
        for block in reversed(lost):
            self.upload.progress.lost(block.index)
            self.round.queue.put_back(block)
