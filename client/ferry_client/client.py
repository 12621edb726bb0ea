"""``FerryClient``: orchestrates an upload under the retry policy (a small file: read, hash and
send it whole in one UploadFile request; a larger one: create or resume the task while the file
is hashed on a thread of its own, stream the missing blocks, merge with the hash), and the task
commands (status, pause, resume, cancel).

A larger file is hashed while it uploads rather than before: its task is created without a
hash (Merge carries it instead), and the state file remembers the task id at once and the hash
once it is known, so a restarted process continues the task by its id. It hashes the file again
only if the first run died before its hash was done, which takes size / ~1.8 GB/s (0.6 s a GiB
here), far less than the upload itself.

Decisions live in ``planning``, checksums in ``hashing``, the gRPC calls in ``transport``, the
local memory of uploads in ``state``; this module runs the threads and RPCs they call for.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import grpc
from ferry.v1 import ferry_pb2 as pb

from ferry_client.errors import (
    FERRY_DOMAIN,
    AlreadyExists,
    ChecksumMismatch,
    ErrorDetails,
    FerryError,
    IntegrityError,
    NotFound,
    PreconditionFailed,
    ServerError,
    SourceChanged,
    TaskEnded,
    TaskPaused,
    TransientError,
)
from ferry_client.hashing import BackgroundHash, crc32c_extend, sha256_hex
from ferry_client.models import TaskInfo, TaskState, UploadResult
from ferry_client.planning import (
    MAX_MESSAGE_DATA,
    Block,
    BlockRange,
    ProgressAccount,
    ProgressCallback,
    RememberedTask,
    Start,
    WorkQueue,
    committed_bytes,
    is_lost_declaration,
    judge_remembered,
    message_slices,
    plan_start,
)
from ferry_client.retry import RetryBudget, RetryPolicy
from ferry_client.state import Remembered, StateFile, UploadKey, default_state_path
from ferry_client.transport import (
    UPLOAD_FILE_MAX_SIZE,
    CallCancelled,
    Part,
    PartsStream,
    Transport,
    open_channel,
)

log = logging.getLogger("ferry.client")

T = TypeVar("T")

DEFAULT_TARGET = "127.0.0.1:50051"
#: Merge hashes the whole staged file on the server (about 1.8 GB/s); its deadline allows
#: for that at a pessimistic rate on top of the ordinary deadline.
_MERGE_HASH_RATE = 200 * 1024 * 1024


class FerryClient:
    """A client of one Ferry service (one target: a replica or a load balancer).

    Use it as a context manager, or call :meth:`close`. Methods may be called from several
    threads at once; each upload runs its own streams.

    Args:
        target: ``HOST:PORT`` of the service.
        retry: how transient failures are retried (default :class:`RetryPolicy`).
        state_file: where uploads in progress are remembered (default
            :func:`~ferry_client.state.default_state_path`).
        remember_uploads: ``False`` to neither read nor write a state file.
        timeout: deadline in seconds of each unary call (Merge gets more for large files).
        credentials: TLS credentials; ``None`` for a plaintext channel.
        channel_options: gRPC channel options overriding Ferry's defaults.
        interceptors: client interceptors to wrap the channel with.
        blocks_in_flight: blocks a stream may send before the previous ones are acknowledged.
            At 1 (the default) a crash of the server or the connection costs at most
            ``parallelism`` blocks sent again, and the other streams keep the server busy while
            one waits for its acknowledgement; more hides the wait on a single stream at the
            price of more bytes to send again.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        retry: RetryPolicy | None = None,
        state_file: str | os.PathLike[str] | None = None,
        remember_uploads: bool = True,
        timeout: float = 30.0,
        credentials: grpc.ChannelCredentials | None = None,
        channel_options: Mapping[str, Any] | None = None,
        interceptors: Sequence[Any] = (),
        blocks_in_flight: int = 1,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if blocks_in_flight < 1:
            raise ValueError("blocks_in_flight must be at least 1")
        self.blocks_in_flight = blocks_in_flight
        self.target = target
        self.retry = retry if retry is not None else RetryPolicy()
        self.timeout = timeout
        self._state: StateFile | None = None
        if remember_uploads:
            self._state = StateFile(state_file if state_file is not None else default_state_path())
        self._channel = open_channel(
            target, credentials=credentials, options=channel_options, interceptors=interceptors
        )
        self._transport = Transport(self._channel, timeout=timeout)
        #: Until the server answers UNIMPLEMENTED, small files go whole in one UploadFile
        #: request. (Threads only ever set it to False, so no lock is needed.)
        self._upload_file_supported = True

    @property
    def state_file(self) -> Path | None:
        """The state file in use, or ``None`` when uploads are not remembered."""
        return self._state.path if self._state is not None else None

    def close(self) -> None:
        """Close the channel; calls in progress fail."""
        self._channel.close()

    def __enter__(self) -> FerryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- task commands -----------------------------------------------------------------------

    def status(self, task_id: str) -> TaskInfo:
        """The task as the server knows it now."""
        task = _retrying(self.retry.budget(), lambda: self._transport.get_task(task_id))
        return TaskInfo.from_pb(task)

    def pause(self, task_id: str) -> TaskInfo:
        """Pause the task: its streams stop within one block, on every replica."""
        return self._set_state(task_id, TaskState.PAUSED)

    def resume(self, task_id: str) -> TaskInfo:
        """Let a paused task take blocks again; call :meth:`upload` to send the rest."""
        return self._set_state(task_id, TaskState.UPLOADING)

    def cancel(self, task_id: str) -> TaskInfo:
        """Cancel the task for good; the server deletes what it staged."""
        return self._set_state(task_id, TaskState.CANCELED)

    def _set_state(self, task_id: str, state: TaskState) -> TaskInfo:
        # Setting the state a task is already in is a no-op, so a retry is safe.
        task = _retrying(
            self.retry.budget(), lambda: self._transport.set_state(task_id, state.to_pb())
        )
        return TaskInfo.from_pb(task)

    # -- upload ------------------------------------------------------------------------------

    def upload(
        self,
        path: str | os.PathLike[str],
        store_path: str,
        *,
        metadata: Mapping[str, str] | None = None,
        block_size: int | None = None,
        parallelism: int = 2,
        progress: ProgressCallback | None = None,
        hash_progress: ProgressCallback | None = None,
        overwrite: bool = False,
    ) -> UploadResult:
        """Upload the file at ``path`` to ``store_path`` on the server and return the result.

        A file of at most :data:`~ferry_client.transport.UPLOAD_FILE_MAX_SIZE` bytes (1 MiB)
        is read once, hashed, and sent whole in one UploadFile request, which the server
        checks and publishes at once. Nothing is remembered in the state file for it: there is
        nothing to resume, a failed call is simply made again. Without ``overwrite``, sending
        the same bytes to the same ``store_path`` again publishes nothing and returns the task
        that published them (same ``task_id``, ``resumed`` True); different bytes there raise
        AlreadyExists. If a task is still active for ``store_path``, the client asks
        CreateTask instead, which resumes that task in blocks if it is this very file's. A
        server without UploadFile answers UNIMPLEMENTED; the client then sends small files in
        blocks like large ones, and remembers that for its lifetime.

        A larger file is hashed while it uploads, on a thread of its own: the client creates
        its task without a hash at once, remembers the task id in the state file, streams the
        blocks the server lacks over ``parallelism`` streams, remembers the hash once it is
        done, and merges with it (waiting for the hash if need be); the server verifies the
        file against it. If a task already holds ``store_path`` (e.g. one an older client
        declared with the file's hash), the client waits for the hash and declares it, which
        resumes that task if it is this very file's, and raises AlreadyExists otherwise.

        An upload interrupted (process killed, TaskPaused, retries exhausted) is continued by
        calling again: the client asks the server about the task the state file remembers, by
        its id, and sends only the blocks it lacks. If the first run's hash had finished, the
        second does not hash again (``hashed_bytes`` 0); otherwise it hashes again while it
        sends, which takes size / ~1.8 GB/s, far less than the upload. A remembered task that
        ended (canceled, expired, failed) or is unknown is forgotten and the upload starts
        over. A second upload of a file already published at ``store_path`` raises
        AlreadyExists unless ``overwrite``.

        Transient failures are retried under the client's :class:`RetryPolicy` (in blocks,
        asking the server what is missing after each); the call returns only once the file is
        published, or raises.

        Args:
            metadata: opaque strings returned with the completed task.
            block_size: bytes per block, a multiple of 64 KiB within the server's bounds;
                ``None`` for the server's default. Ignored when resuming an existing task and
                for files sent in one request (the result reports what the server recorded).
            parallelism: number of concurrent UploadParts streams (at least 1); unused for
                files sent in one request.
            progress: called with (bytes done, total bytes) as data is sent and committed,
                from the client's threads, so it must be quick and thread-safe; it must not
                call back into this upload. Bytes done can move backwards when a partially
                sent block is lost to a failure (it is sent again). A file sent in one request
                reports only (size, size), once it is published.
            hash_progress: called with (bytes hashed, total bytes) while hashing. For a file
                sent in blocks it runs on the hashing thread, concurrently with ``progress``,
                so it too must be quick and thread-safe.
            overwrite: replace a file already published at ``store_path``.

        Raises:
            TaskPaused: the task is (or became) paused; :meth:`resume` it and call again.
            TaskEnded: the task was canceled or expired.
            InvalidRequest, AlreadyExists, NotFound, PermissionDenied: the server refused the
                request; the message says why.
            IntegrityError: the server's bytes do not hash to the file's SHA-256 (the task is
                then FAILED), or the remembered task was declared for another file.
            TransientError: the retry policy gave up (its message says after how much).
            SourceChanged: the file changed during the upload.
            OSError: the file cannot be read.
        """
        if parallelism < 1:
            raise ValueError("parallelism must be at least 1")
        started = time.monotonic()
        key = UploadKey.for_file(path, self.target, store_path)
        budget = self.retry.budget()
        upload = _Upload(key, metadata=dict(metadata or {}), overwrite=overwrite)
        if key.size <= UPLOAD_FILE_MAX_SIZE and self._upload_file_supported:
            data = _read_whole(key)
            upload.sha256, upload.hashed_bytes = sha256_hex(data), len(data)
            if hash_progress is not None:
                hash_progress(len(data), key.size)
            result = self._upload_whole(upload, data, budget, started)
            if result is not None:
                if progress is not None:
                    progress(key.size, key.size)
                return result
        return self._upload_in_blocks(
            upload,
            budget,
            started,
            block_size=block_size,
            parallelism=parallelism,
            progress=progress,
            hash_progress=hash_progress,
        )

    def _upload_whole(
        self, upload: _Upload, data: bytes, budget: RetryBudget, started: float
    ) -> UploadResult | None:
        """Send the whole file in one UploadFile request: the result, or ``None`` when it has
        to go in blocks after all (the server lacks UploadFile, or a task is active for
        ``store_path``, which CreateTask resumes if it is this very file's)."""
        key = upload.key
        request = pb.UploadFileRequest(
            file_name=_file_name(key),
            sha256=upload.sha256,
            store_path=key.store_path,
            metadata=upload.metadata,
            overwrite=upload.overwrite,
            crc32c=crc32c_extend(0, data),
            data=data,
        )
        counters = _Counters()

        def send() -> pb.UploadFileResponse:
            # Every attempt carries the whole file; an empty file has no block to count.
            counters.add(data=len(data), blocks=1 if data else 0)
            try:
                return self._transport.upload_file(request)
            except TransientError as exc:
                # UploadFile's ABORTED without a reason (an older server) can only be that too.
                if exc.ferry_reason == "CHECKSUM_MISMATCH" or (
                    exc.reason is None and exc.code == grpc.StatusCode.ABORTED
                ):
                    # The data did not match its CRC32C on arrival.
                    counters.add(mismatches=1)
                raise

        try:
            response = _retrying(budget, send)
        except ServerError as exc:
            if exc.code != grpc.StatusCode.UNIMPLEMENTED:
                raise
            if self._upload_file_supported:
                self._upload_file_supported = False
                log.info(
                    "the server at %s has no UploadFile (an older version?): "
                    "small files go in blocks",
                    self.target,
                )
            return None
        except AlreadyExists as exc:
            # An interrupted upload of this same file in blocks (by an older client, or after
            # the fallback above) would block UploadFile until it expires; CreateTask resumes
            # it. For any other conflict CreateTask answers ALREADY_EXISTS in turn.
            log.debug("%s; trying CreateTask in case it is this file's own task", exc)
            return None
        return self._result(
            response.task, upload, counters, budget, started, resumed=response.resumed
        )

    def _upload_in_blocks(
        self,
        upload: _Upload,
        budget: RetryBudget,
        started: float,
        *,
        block_size: int | None,
        parallelism: int,
        progress: ProgressCallback | None,
        hash_progress: ProgressCallback | None,
    ) -> UploadResult:
        """Start or continue the task (hashing the file meanwhile if its hash is not known),
        stream what the server lacks, merge with the hash."""
        key = upload.key
        remembered = self._recall(key)
        if remembered is not None and remembered.sha256 and not upload.sha256:
            upload.sha256 = remembered.sha256
            log.info("%s: hash taken from %s", key.path, self.state_file)
        memory = _Memory(self, key, remembered)
        try:
            task, resumed = self._start(
                upload,
                memory,
                remembered,
                budget,
                block_size=block_size,
                hash_progress=hash_progress,
            )
            run = _UploadRun(
                transport=self._transport,
                upload=upload,
                task_id=task.task_id,
                declared_sha256=task.sha256,
                block_size=task.block_size,
                parallelism=parallelism,
                blocks_in_flight=self.blocks_in_flight,
                budget=budget,
                progress=ProgressAccount(key.size, 0, progress),
                merge_timeout=self.timeout + key.size / _MERGE_HASH_RATE,
            )
            final = run.run()
        except (TaskEnded, IntegrityError, SourceChanged):
            memory.forget()
            raise
        finally:
            # Whatever happened, the hashing thread does not outlive this call.
            upload.stop_hashing()
        memory.forget()
        return self._result(
            final,
            upload,
            run.counters,
            budget,
            started,
            resumed=resumed,
            committed_at_start=run.committed_at_start,
        )

    def _start(
        self,
        upload: _Upload,
        memory: _Memory,
        remembered: Remembered | None,
        budget: RetryBudget,
        *,
        block_size: int | None,
        hash_progress: ProgressCallback | None,
    ) -> tuple[pb.Task, bool]:
        """The task to send blocks to, and whether it existed before this call, as
        :func:`~ferry_client.planning.plan_start` says; the hashing thread runs from here on
        if the hash is not known."""
        key = upload.key
        start = plan_start(
            remembered_task_id=remembered.task_id if remembered is not None else None,
            sha256=upload.sha256,
        )
        if start is Start.BY_ID and remembered is not None:
            task = self._find_task(remembered.task_id, budget)
            verdict = judge_remembered(
                TaskInfo.from_pb(task) if task is not None else None,
                size=key.size,
                store_path=key.store_path,
                sha256=upload.sha256,
            )
            if task is not None and verdict is RememberedTask.PAUSED:
                _raise_if_stopped(task.task_id, TaskState.PAUSED)
            if task is not None and verdict is RememberedTask.CONTINUE:
                log.info("%s: continuing task %s by its id", key.path, task.task_id)
                self._hash_in_background(upload, memory, hash_progress)
                return task, True
            log.info(
                "task %s remembered for %s cannot be continued (%s); starting over",
                remembered.task_id, key.path,
                "unknown to the server" if task is None else TaskState.from_pb(task.state),
            )  # fmt: skip
            memory.start_over()
            start = plan_start(remembered_task_id=None, sha256=upload.sha256)
        if start is Start.FRESH:
            self._hash_in_background(upload, memory, hash_progress)
            created = self._create_without_hash(upload, budget, block_size)
            if created is not None:
                memory.task(created.task.task_id)
                return created.task, created.resumed
            upload.digest()  # a task holds store_path: it may be this file's, by its hash
        request = _declaration(upload, block_size, sha256=upload.sha256)
        created = _retrying(budget, lambda: self._transport.create_task(request))
        memory.task(created.task.task_id)
        return created.task, created.resumed

    def _hash_in_background(
        self, upload: _Upload, memory: _Memory, hash_progress: ProgressCallback | None
    ) -> None:
        """Start hashing the file on a thread of its own, unless its hash is known."""
        if upload.sha256 or upload.hashing is not None:
            return
        key = upload.key

        def check(read: int) -> None:
            # The hash must be the one of the version of the file the key describes, the
            # one whose blocks are sent.
            if read != key.size:
                raise SourceChanged(f"{key.path} changed while it was being hashed")
            _check_unchanged(key)

        upload.hashing = BackgroundHash(
            key.path, progress=hash_progress, check=check, on_done=memory.hashed
        )

    def _create_without_hash(
        self, upload: _Upload, budget: RetryBudget, block_size: int | None
    ) -> pb.CreateTaskResponse | None:
        """CreateTask without a hash, or ``None`` when a task already holds the store_path.

        Such a declaration never resumes, so a retry after a reply was lost meets the task its
        first attempt created; that one, named by the ALREADY_EXISTS error and exactly as
        declared, is taken as this call's own.
        """
        request = _declaration(upload, block_size, sha256="")
        may_have_created = False
        while True:
            try:
                return self._transport.create_task(request)
            except AlreadyExists as exc:
                if may_have_created:
                    task = self._lost_declaration(exc, request, budget)
                    if task is not None:
                        log.info(
                            "task %s was created by an attempt whose reply was lost; using it",
                            task.task_id,
                        )
                        return pb.CreateTaskResponse(task=task, resumed=False)
                log.debug("%s; declaring the file with its SHA-256 once hashed", exc)
                return None
            except FerryError as exc:
                _pause_or_raise(budget, exc)
                may_have_created = True

    def _lost_declaration(
        self, exc: AlreadyExists, request: pb.CreateTaskRequest, budget: RetryBudget
    ) -> pb.Task | None:
        """The task ``exc`` names if it is exactly what ``request`` declares, untouched."""
        if exc.task_id is not None:
            task = self._find_task(exc.task_id, budget)
            if task is not None and is_lost_declaration(
                TaskInfo.from_pb(task),
                file_name=request.file_name,
                size=request.size,
                store_path=request.store_path,
                metadata=request.metadata,
                block_size=request.block_size,
                overwrite=request.overwrite,
            ):
                return task
        return None

    def _find_task(self, task_id: str, budget: RetryBudget) -> pb.Task | None:
        """The task, or ``None`` if the server does not know it."""
        try:
            return _retrying(budget, lambda: self._transport.get_task(task_id))
        except NotFound:
            return None

    @staticmethod
    def _result(
        final: pb.Task,
        upload: _Upload,
        counters: _Counters,
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

    # -- helpers -----------------------------------------------------------------------------

    def _recall(self, key: UploadKey) -> Remembered | None:
        return self._state.lookup(key) if self._state is not None else None

    def _remember(self, key: UploadKey, remembered: Remembered) -> None:
        if self._state is None:
            return
        try:
            self._state.remember(key, remembered)
        except OSError as exc:
            # The upload itself is fine; only a restarted process would have to hash again.
            log.warning("cannot save upload state to %s: %s", self._state.path, exc)

    def _forget(self, key: UploadKey) -> None:
        if self._state is None:
            return
        try:
            self._state.forget(key)
        except OSError as exc:
            log.warning("cannot update upload state in %s: %s", self._state.path, exc)


def _declaration(upload: _Upload, block_size: int | None, *, sha256: str) -> pb.CreateTaskRequest:
    """The CreateTask request for ``upload``, with ``sha256`` ("" to give it at Merge)."""
    key = upload.key
    return pb.CreateTaskRequest(
        file_name=_file_name(key),
        size=key.size,
        sha256=sha256,
        store_path=key.store_path,
        metadata=upload.metadata,
        block_size=block_size or 0,
        overwrite=upload.overwrite,
    )


def _raise_if_stopped(task_id: str, state: TaskState, cause: FerryError | None = None) -> None:
    """Raise TaskPaused or TaskEnded if a task in ``state`` takes no blocks (``cause``: the
    error that revealed it)."""
    code = cause.code if cause is not None else None
    # Found from the task's state rather than from an error: say it as the server would have.
    details = (
        cause.details
        if cause is not None and cause.reason is not None
        else ErrorDetails(
            reason="TASK_PAUSED" if state == TaskState.PAUSED else "TASK_NOT_UPLOADING",
            domain=FERRY_DOMAIN,
            metadata={"taskId": task_id, "state": state.value},
        )
    )
    if state == TaskState.PAUSED:
        message = cause.message if cause is not None else f"task {task_id} is PAUSED"
        raise TaskPaused(
            f"{message}; resume the task and upload again",
            code=code,
            task_id=task_id,
            details=details,
        )
    if state in (TaskState.CANCELED, TaskState.EXPIRED, TaskState.FAILED):
        message = cause.message if cause is not None else f"task {task_id} is {state}"
        raise TaskEnded(message, state=state.value, code=code, task_id=task_id, details=details)


def _retrying(budget: RetryBudget, call: Callable[[], T]) -> T:
    """``call()``, again after each failure the budget allows to retry."""
    while True:
        try:
            return call()
        except FerryError as exc:
            _pause_or_raise(budget, exc)


def _pause_or_raise(budget: RetryBudget, exc: FerryError, *, retryable: bool | None = None) -> None:
    """Sleep before the next attempt if the budget allows one, else raise ``exc`` (said to
    be final when the policy gave up on it). ``retryable`` overrides the policy's verdict."""
    delay = budget.next_delay(exc, retryable=retryable)
    if delay is None:
        if retryable or (retryable is None and budget.policy.is_retryable(exc)):
            raise exc.with_message(f"{exc.message}; {budget.describe()}") from exc
        raise exc
    log.warning("%s; retrying in %.2fs", exc, delay)
    time.sleep(delay)


def _check_unchanged(key: UploadKey, st: os.stat_result | None = None) -> None:
    """Raise SourceChanged unless the file (or ``st``, a stat of it) has the key's size and
    mtime."""
    if st is None:
        st = Path(key.path).stat()
    if (st.st_size, st.st_mtime_ns) != (key.size, key.mtime_ns):
        raise SourceChanged(
            f"{key.path} changed while it was being uploaded "
            f"(size {key.size} -> {st.st_size}, mtime changed: {st.st_mtime_ns != key.mtime_ns})"
        )


def _file_name(key: UploadKey) -> str:
    """The file's name: ``key.path`` is absolute and ends with it (cheaper than pathlib)."""
    return key.path.rpartition(os.sep)[2]


def _read_whole(key: UploadKey) -> bytes:
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
        _check_unchanged(key, os.fstat(fd))
    finally:
        os.close(fd)
    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    if len(data) != key.size:
        raise SourceChanged(f"{key.path} changed while it was being read ({len(data)} bytes)")
    return data


class _Upload:
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


class _Memory:
    """What the state file says about one upload in blocks: the task id as soon as the task
    exists, with the hash once the hashing thread is done, in whichever order they come
    (the thread reports from its own side). After :meth:`forget` it writes nothing more,
    so a late hash cannot bring back the entry of a finished upload. Thread-safe."""

    def __init__(self, client: FerryClient, key: UploadKey, recalled: Remembered | None) -> None:
        self._client = client
        self._key = key
        self._lock = threading.Lock()
        self._written = recalled
        self._task_id = recalled.task_id if recalled is not None else ""
        self._sha256 = recalled.sha256 if recalled is not None else ""
        self._closed = False

    def task(self, task_id: str) -> None:
        """The upload's task is ``task_id`` (a hash already known stays: it is the file's)."""
        with self._lock:
            self._task_id = task_id
            self._write()

    def start_over(self) -> None:
        """The remembered task is no use: drop the entry until a new task exists."""
        with self._lock:
            self._task_id = ""
            self._written = None
            self._client._forget(self._key)

    def hashed(self, sha256: str) -> None:
        with self._lock:
            self._sha256 = sha256
            self._write()

    def forget(self) -> None:
        with self._lock:
            self._closed = True
            self._client._forget(self._key)

    def _write(self) -> None:
        if self._closed or not self._task_id:
            return
        entry = Remembered(self._task_id, self._sha256)
        if entry != self._written:
            self._client._remember(self._key, entry)
            self._written = entry


class _Counters:
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


class _UploadRun:
    """One upload's loop: ask what is missing, stream it, merge; recover between rounds."""

    def __init__(
        self,
        *,
        transport: Transport,
        upload: _Upload,
        task_id: str,
        declared_sha256: str,
        block_size: int,
        parallelism: int,
        blocks_in_flight: int,
        budget: RetryBudget,
        progress: ProgressAccount,
        merge_timeout: float,
    ) -> None:
        self.transport = transport
        self.upload = upload
        self.key = upload.key
        self.task_id = task_id
        #: The SHA-256 the task was declared with ("" if none), to compare with the file's.
        self.declared_sha256 = declared_sha256
        self.block_size = block_size
        self.parallelism = parallelism
        self.blocks_in_flight = blocks_in_flight
        self.budget = budget
        self.progress = progress
        self.merge_timeout = merge_timeout
        self.counters = _Counters()
        self.committed_at_start = 0
        self._first_query = True

    def run(self) -> pb.Task:
        while True:
            try:
                self.upload.raise_if_hashing_failed()
                report = self.transport.query_missing(self.task_id)
                state = TaskState.from_pb(report.state)
                self._raise_if_stopped(state, None)
                missing = [BlockRange(r.start, r.end) for r in report.missing]
                committed = committed_bytes(self.key.size, report.block_size, missing)
                if self._first_query:
                    self.committed_at_start = committed
                    self._first_query = False
                self.progress.reset(committed)
                _check_unchanged(self.key)
                if state == TaskState.UPLOADING and missing:
                    _Round(self, WorkQueue(self.key.size, report.block_size, missing)).run()
                    continue
                # Nothing missing (or already COMPLETED: Merge answers the same result again).
                return self._merge()
            except (TaskPaused, TaskEnded, SourceChanged, ChecksumMismatch):
                # A ChecksumMismatch leaves a round only once the budget gave up on it.
                raise
            except PreconditionFailed as exc:
                self._explain_precondition(exc)
                _pause_or_raise(self.budget, exc, retryable=True)
            except FerryError as exc:
                _pause_or_raise(self.budget, exc)

    def _merge(self) -> pb.Task:
        """Merge with the file's hash, once the hashing thread has it."""
        sha256 = self.upload.digest()
        if self.declared_sha256 and self.declared_sha256 != sha256:
            # The server would refuse the Merge (INVALID_ARGUMENT) every time; say why once.
            raise IntegrityError(
                f"task {self.task_id} was declared for a file with SHA-256 "
                f"{self.declared_sha256}, but {self.key.path} hashes to {sha256}; cancel the "
                "task or choose another store_path",
                task_id=self.task_id,
            )
        return self.transport.merge(self.task_id, sha256=sha256, timeout=self.merge_timeout)

    def _raise_if_stopped(self, state: TaskState, cause: FerryError | None) -> None:
        _raise_if_stopped(self.task_id, state, cause)

    def _explain_precondition(self, exc: PreconditionFailed) -> None:
        """FAILED_PRECONDITION usually means paused or ended: confirm with the server.

        Raises TaskPaused or TaskEnded when it was; returns when the task is UPLOADING or
        COMPLETED again (e.g. resumed at once), so the caller retries.
        """
        task = TaskInfo.from_pb(
            _retrying(self.budget, lambda: self.transport.get_task(self.task_id))
        )
        self._raise_if_stopped(task.state, exc)
        if task.state not in (TaskState.UPLOADING, TaskState.COMPLETED):
            raise exc


class _Round:
    """Streams the blocks of one WorkQueue over up to ``parallelism`` streams, until the queue
    is drained and every block acknowledged, or the first failure, which stops every stream."""

    def __init__(self, upload: _UploadRun, queue: WorkQueue) -> None:
        self.upload = upload
        self.queue = queue
        self.message_size = min(MAX_MESSAGE_DATA, upload.block_size)
        self.fd = -1
        self._lock = threading.Lock()
        self._stopping = False
        self._error: BaseException | None = None
        self._workers: list[_StreamWorker] = []

    @property
    def stopping(self) -> bool:
        return self._stopping

    def run(self) -> None:
        count = min(self.upload.parallelism, len(self.queue))
        self.fd = os.open(self.upload.key.path, os.O_RDONLY)
        try:
            self._workers = [_StreamWorker(self, n) for n in range(count)]
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

    def failed(self, worker: _StreamWorker, error: BaseException) -> None:
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


class _StreamWorker:
    """One UploadParts stream: a thread reading acknowledgements, and a request generator
    (run by gRPC) that sends blocks one after another, never more than ``blocks_in_flight``
    of them unacknowledged.

    The server handles a stream's blocks in order, so acknowledgements come in the order the
    blocks were sent.
    """

    def __init__(self, round_: _Round, number: int) -> None:
        self.round = round_
        self.upload = round_.upload
        self.number = number
        self.thread = threading.Thread(
            target=self._main, name=f"ferry-upload-{number}", daemon=True
        )
        self._cv = threading.Condition()
        self._pending: collections.deque[Block] = collections.deque()
        #: Set once the stream failed: its generator must take no more blocks.
        self._failed = False
        self._stream: PartsStream | None = None
        self._request_error: Exception | None = None

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
            self.round.failed(self, exc)

    def _requests(self) -> Iterator[Part]:
        """Messages of one block after another; runs on a gRPC thread.

        Exceptions are kept for ``_main`` to raise: gRPC would replace them with a bare
        cancellation. Returning half-closes the stream; the server then drops a partial block.
        """
        upload = self.upload
        window = upload.blocks_in_flight
        try:
            while True:
                # A failed hash (the file changed or cannot be read) ends the round within a
                # block rather than after the whole file was sent.
                upload.upload.raise_if_hashing_failed()
                with self._cv:
                    self._cv.wait_for(
                        lambda: len(self._pending) < window or self._failed or self.round.stopping
                    )
                    if self._failed or self.round.stopping:
                        return
                    block = self.round.queue.take()
                    if block is None:
                        return
                    self._pending.append(block)
                crc = 0
                for offset, length in message_slices(block.length, self.round.message_size):
                    if self._failed or self.round.stopping:
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
                    yield message
        except Exception as exc:
            self._request_error = exc

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
        else:
            raise ServerError(
                f"unknown status {ack.status} for block {ack.block_index}",
                task_id=upload.task_id,
            )
        with self._cv:
            self._pending.popleft()
            self._cv.notify_all()

    def _lose_pending(self) -> None:
        """The stream failed: its unacknowledged blocks go back to the queue."""
        with self._cv:
            self._failed = True
            lost = list(self._pending)
            self._pending.clear()
            self._cv.notify_all()
        for block in reversed(lost):
            self.upload.progress.lost(block.index)
            self.round.queue.put_back(block)
