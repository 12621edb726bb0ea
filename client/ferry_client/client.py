"""``FerryClient``: the public facade. It holds the channel, the retry policy and the state
file, and hands each call to the piece that does it: task commands to ``tasks``, a small file to
``small_file`` (one UploadFile request), a larger one to ``block_upload`` (a task, streams of
blocks, Merge).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from ferry_client.block_upload import BlockUpload
from ferry_client.hashing import sha256_hex
from ferry_client.models import TaskInfo, TaskState, UploadResult
from ferry_client.planning import ProgressCallback
from ferry_client.retry import RetryBudget, RetryPolicy
from ferry_client.small_file import UploadFileUnsupported, upload_whole
from ferry_client.source import UploadSource, read_whole
from ferry_client.state import StateFile, StateStore, UploadKey, default_state_path
from ferry_client.tasks import TaskControl
from ferry_client.transport import UPLOAD_FILE_MAX_SIZE, Transport, open_channel

log = logging.getLogger("ferry.client")

DEFAULT_TARGET = "127.0.0.1:50051"


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
        self._store = StateStore(
            StateFile(state_file if state_file is not None else default_state_path())
            if remember_uploads
            else None
        )
        self._channel = open_channel(
            target, credentials=credentials, options=channel_options, interceptors=interceptors
        )
        self._transport = Transport(self._channel, timeout=timeout)
        self._tasks = TaskControl(self._transport)
        #: Until the server answers UNIMPLEMENTED, small files go whole in one UploadFile
        #: request. (Threads only ever set it to False, so no lock is needed.)
        self._upload_file_supported = True

    @property
    def state_file(self) -> Path | None:
        """The state file in use, or ``None`` when uploads are not remembered."""
        return self._store.file.path if self._store.file is not None else None

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
        return self._tasks.get(task_id, self.retry.budget())

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
        return self._tasks.set_state(task_id, state, self.retry.budget())

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
        upload = UploadSource(key, metadata=dict(metadata or {}), overwrite=overwrite)
        if key.size <= UPLOAD_FILE_MAX_SIZE and self._upload_file_supported:
            data = read_whole(key)
            upload.sha256, upload.hashed_bytes = sha256_hex(data), len(data)
            if hash_progress is not None:
                hash_progress(len(data), key.size)
            try:
                result = upload_whole(self._transport, upload, data, budget, started)
            except UploadFileUnsupported:
                result = None
                if self._upload_file_supported:
                    self._upload_file_supported = False
                    log.info(
                        "the server at %s has no UploadFile (an older version?): "
                        "small files go in blocks",
                        self.target,
                    )
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

    def _upload_in_blocks(
        self,
        upload: UploadSource,
        budget: RetryBudget,
        started: float,
        *,
        block_size: int | None,
        parallelism: int,
        progress: ProgressCallback | None,
        hash_progress: ProgressCallback | None,
    ) -> UploadResult:
        session = BlockUpload(
            transport=self._transport,
            tasks=self._tasks,
            store=self._store,
            upload=upload,
            budget=budget,
            started=started,
            timeout=self.timeout,
            blocks_in_flight=self.blocks_in_flight,
        )
        return session.run(
            block_size=block_size,
            parallelism=parallelism,
            progress=progress,
            hash_progress=hash_progress,
        )
