"""``FerryClient``: the public facade. It holds the channel, the retry policy and the state
file, and hands each call to the piece that does it: task commands to ``tasks``, a small file to
``small_file`` (one UploadFile request), a larger one to ``block_upload`` (a task, streams of
blocks, Merge).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from ferry.v1 import ferry_pb2 as pb

from ferry_client.batch import BatchSummary, UploadItem
from ferry_client.block_upload import BlockUpload
from ferry_client.credentials import with_token
from ferry_client.download import DownloadResult, download
from ferry_client.events import EventCallback, EventSink
from ferry_client.hashing import sha256_hex
from ferry_client.many import BatchRun, FileCallback
from ferry_client.models import Grant, TaskInfo, TaskState, TaskStats, UploadResult
from ferry_client.pipe_upload import StreamSource, StreamUpload
from ferry_client.planning import ProgressCallback
from ferry_client.reachability import FirstContact
from ferry_client.retry import RetryPolicy, retrying
from ferry_client.small_file import UploadFileUnsupported, upload_whole
from ferry_client.source import UploadSource, read_whole
from ferry_client.stall import DEFAULT_STALL_TIMEOUT
from ferry_client.state import StateFile, StateStore, UploadKey, default_state_path
from ferry_client.tasks import TaskControl
from ferry_client.tls import TlsOptions, split_scheme
from ferry_client.transport import UPLOAD_FILE_MAX_SIZE, Transport, open_channel
from ferry_client.window import DEFAULT_MAX_WINDOW

log = logging.getLogger("ferry.client")

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Files of a batch in flight at once.
DEFAULT_JOBS = 4
#: TCP connections upload streams spread over (the default parallelism: one per stream).
DEFAULT_CONNECTIONS = 2


class FerryClient:
    """A client of one Ferry service (one target: a replica or a load balancer).

    Use it as a context manager, or call :meth:`close`. Methods may be called from several
    threads at once; each upload runs its own streams.

    Args:
        target: ``HOST:PORT`` of the service; ``grpcs://HOST:PORT`` (or ``https://``) for
            TLS with the system's trusted CAs unless ``tls`` says otherwise, ``grpc://`` (or
            ``http://``) for plaintext, the default.
        retry: how transient failures are retried (default :class:`RetryPolicy`).
        state_file: where uploads in progress are remembered (default
            :func:`~ferry_client.state.default_state_path`).
        remember_uploads: ``False`` to neither read nor write a state file.
        timeout: deadline in seconds of each unary call (Merge gets more for large files).
        tls: how to speak TLS (:class:`~ferry_client.TlsOptions`: the CA bundle, a client
            certificate and key); ``None`` for plaintext unless the target says ``grpcs://``.
            A TLS mismatch with the server (either side plaintext, an untrusted certificate, a
            wrong host name, a missing client certificate) raises
            :class:`~ferry_client.CannotConnect` at once, saying what to change.
        credentials: gRPC channel credentials, for what ``tls`` cannot express (not both).
        channel_options: gRPC channel options overriding Ferry's defaults.
        interceptors: client interceptors to wrap the channel with.
        max_window: the most bytes one stream may have sent but not yet had acknowledged
            (default 32 MiB, never less than one block). Each stream sizes its window from the
            bandwidth-delay product it measures (one block plus twice the acknowledged rate
            times the acknowledgement delay), so one stream keeps a long link full; this bound
            is what a cut connection costs at most to send again, per stream.
        blocks_in_flight: ``None`` (the default) for the measured window bounded by
            ``max_window``, or a fixed window of this many blocks per stream. At 1 a cut
            connection costs at most ``parallelism`` blocks sent again, but a stream leaves a
            long link idle while each block's acknowledgement travels back. After a cut, the
            measured window starts again at one block and grows from the new stream's own
            acknowledgements, so a link reset every few megabytes still lets blocks through.
        connect_timeout: seconds the first call waits for the channel to connect. An address
            that was never reachable raises :class:`~ferry_client.CannotConnect` (or its
            subclass :class:`~ferry_client.ServerUnreachable` when retrying later may help)
            within it, naming the address and why; once connected, a lost server is retried
            under ``retry`` as any transient failure.
        token: a bearer token sent on every call, retries included: a service token, a JWT,
            or a task's upload token (which reaches only its task: use :meth:`upload` with
            ``task_id``). With ``credentials`` (TLS) it travels as gRPC call credentials;
            without, as ``authorization`` metadata, and only to a loopback address unless
            ``insecure_token`` (:class:`~ferry_client.credentials.TokenRefused` otherwise).
        insecure_token: allow sending ``token`` in plaintext to another host.
        stall_timeout: seconds an upload stream with a block in flight may go without
            progress (gRPC taking another message, or an acknowledgement) before it is cut and
            its blocks are sent again on a new stream, reported as a ``stalled`` event
            (default 60; ``None`` never cuts). A slow link keeps progressing and is not cut.
        connections: TCP connections to the server that upload streams take in turn
            (default 2, one per stream of an upload's default parallelism): each has its own
            send buffer and congestion window, which on a long link one connection's streams
            would share. Other calls use the first.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        retry: RetryPolicy | None = None,
        state_file: str | os.PathLike[str] | None = None,
        remember_uploads: bool = True,
        timeout: float = 30.0,
        tls: TlsOptions | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        channel_options: Mapping[str, Any] | None = None,
        interceptors: Sequence[Any] = (),
        max_window: int = DEFAULT_MAX_WINDOW,
        blocks_in_flight: int | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        token: str | None = None,
        insecure_token: bool = False,
        stall_timeout: float | None = DEFAULT_STALL_TIMEOUT,
        connections: int = DEFAULT_CONNECTIONS,
    ) -> None:
        if connections < 1:
            raise ValueError("connections must be at least 1")
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeout and connect_timeout must be positive")
        if blocks_in_flight is not None and blocks_in_flight < 1:
            raise ValueError("blocks_in_flight must be at least 1")
        if stall_timeout is not None and stall_timeout <= 0:
            raise ValueError("stall_timeout must be positive (or None)")
        self.stall_timeout = stall_timeout
        if max_window < 1:
            raise ValueError("max_window must be positive")
        self.blocks_in_flight = blocks_in_flight
        target, scheme_tls = split_scheme(target)
        if tls is not None and credentials is not None:
            raise ValueError("give tls or credentials, not both")
        if scheme_tls is False and (tls is not None or credentials is not None):
            raise ValueError(f"{target!r} asks for plaintext, but TLS options were given")
        if tls is None and scheme_tls:
            tls = TlsOptions()
        if tls is not None:
            credentials = tls.credentials()
        self.max_window = max_window
        self.target = target
        self.retry = retry if retry is not None else RetryPolicy()
        self.timeout = timeout
        self._store = StateStore(
            StateFile(state_file if state_file is not None else default_state_path())
            if remember_uploads
            else None
        )
        self.connect_timeout = connect_timeout
        secure = credentials is not None
        if token is not None:
            credentials, extra = with_token(
                target, token, credentials, allow_plaintext=insecure_token
            )
            interceptors = (*interceptors, *extra)
        self._channel, raw = open_channel(
            target, credentials=credentials, options=channel_options, interceptors=interceptors
        )
        contact = FirstContact(
            raw,
            target,
            tls=tls if tls is not None else secure,
            timeout=connect_timeout,
        )
        # Upload streams take the data connections in turn; calls other than UploadParts use
        # the first. Each connection has its own TCP send buffer and congestion window, which
        # one connection's streams would share (on a long link, its send buffer caps them).
        self._data_channels = [self._channel] + [
            open_channel(
                target,
                credentials=credentials,
                options=channel_options,
                interceptors=interceptors,
                connection=n,
            )[0]
            for n in range(1, connections)
        ]
        self._transport = Transport(
            self._channel,
            timeout=timeout,
            contact=contact,
            target=target,
            data_channels=self._data_channels,
        )
        self._tasks = TaskControl(self._transport)
        #: Until the server answers UNIMPLEMENTED, small files go whole in one UploadFile
        #: request. (Threads only ever set it to False, so no lock is needed.)
        self._upload_file_supported = True

    @property
    def state_file(self) -> Path | None:
        """The state file in use, or ``None`` when uploads are not remembered."""
        return self._store.file.path if self._store.file is not None else None

    def close(self) -> None:
        """Close the channels; calls in progress fail."""
        for channel in self._data_channels:
            channel.close()

    def __enter__(self) -> FerryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- download ----------------------------------------------------------------------------

    def download(
        self,
        store_path: str,
        dest: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Download the file published at ``store_path`` to ``dest`` (replaced if it exists).

        The bytes go to ``DEST.ferry-part`` first, each message checked with its CRC32C; a cut
        connection resumes where it stopped (so does a later call after a crash, from the part
        file), pinned to the version of the file it began with. Once complete, the whole
        file's SHA-256 is checked against the one recorded when it was published, and only
        then is it renamed to ``dest``. A file replaced meanwhile makes the download start
        over; ``IntegrityError`` if the hash does not match (nothing is left at ``dest``).
        """
        return download(
            self._transport.read_file,
            self.retry.budget(),
            store_path,
            Path(dest),
            progress=progress,
        )

    # -- task commands -----------------------------------------------------------------------

    def status(self, task_id: str) -> TaskInfo:
        """The task as the server knows it now."""
        return self._tasks.get(task_id, self.retry.budget())

    def watch(self, task_id: str) -> Iterator[TaskInfo]:
        """The task now, then again after each change of its state or committed bytes
        (made through any replica), until it is COMPLETED, FAILED, CANCELED or EXPIRED. A
        lost connection is watched again under the retry policy."""
        return self._tasks.watch(task_id, self.retry.budget())

    def list_tasks(
        self,
        *,
        states: Iterable[TaskState | str] = (),
        store_path_prefix: str = "",
        metadata: Mapping[str, str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        oldest_first: bool = False,
        all_principals: bool = False,
        page_size: int = 0,
    ) -> Iterator[TaskInfo]:
        """Your tasks, newest first (``oldest_first``: oldest first), that match every filter
        given: one of ``states``, a store_path starting with ``store_path_prefix``, each
        ``metadata`` entry, created at or after ``created_after`` and before
        ``created_before`` (aware datetimes). Fetched a page (``page_size``, 0: the server's
        default) at a time as you iterate; tasks created meanwhile never shift the listing.
        ``all_principals``: every principal's tasks (needs the "operator" permission)."""
        request = pb.ListTasksRequest(
            page_size=page_size,
            states=[TaskState(s).to_pb() for s in states],
            store_path_prefix=store_path_prefix,
            metadata=[f"{k}={v}" for k, v in (metadata or {}).items()],
            order_by="create_time" if oldest_first else "create_time desc",
            all_principals=all_principals,
        )
        if created_after is not None:
            request.created_after.FromDatetime(created_after)
        if created_before is not None:
            request.created_before.FromDatetime(created_before)
        return self._tasks.list(request, self.retry.budget())

    def stats(self, *, all_principals: bool = False) -> TaskStats:
        """How many of your tasks are in each state, and the bytes staged and published
        (``all_principals``: everyone's; needs "operator")."""
        return self._tasks.stats(all_principals, self.retry.budget())

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

    # -- the business backend's side: tasks for others to upload -----------------------------

    def declare(
        self,
        store_path: str,
        size: int,
        *,
        sha256: str = "",
        file_name: str | None = None,
        metadata: Mapping[str, str] | None = None,
        block_size: int | None = None,
        overwrite: bool = False,
        upload_token_ttl: float = 0,
        webhook_url: str = "",
    ) -> Grant:
        """Create a task for a file someone else will upload, and an upload token for it:
        hand the uploader ``grant.task_id`` and ``grant.upload_token`` (never this client's
        own credential). The uploader calls :meth:`upload_to_task`. Declaring the same
        (size, sha256, store_path) again returns the same task with a fresh token.

        Args:
            sha256: the file's SHA-256 if known: the server then verifies the upload against
                it (recommended: the uploader is not trusted with what it sends).
            upload_token_ttl: seconds the token lives; 0 (or more than the server allows):
                the server's limit.
            webhook_url: where to POST this task's completion notice instead of the
                principal's own URL; it must lie under a prefix the server's principals file
                allows this principal (``webhook_allow``), else PermissionDenied
                (WEBHOOK_URL_REFUSED). A declaration that resumes a task keeps its URL.
        """
        request = pb.CreateTaskRequest(
            file_name=file_name or store_path.rsplit("/", 1)[-1],
            size=size,
            sha256=sha256,
            store_path=store_path,
            metadata=dict(metadata or {}),
            block_size=block_size or 0,
            overwrite=overwrite,
            issue_upload_token=True,
            upload_token_ttl_seconds=round(upload_token_ttl),
            webhook_url=webhook_url,
        )
        reply = retrying(self.retry.budget(), lambda: self._transport.create_task(request))
        return Grant(
            task=TaskInfo.from_pb(reply.task),
            upload_token=reply.upload_token,
            expires_at=reply.upload_token_expire_time.ToDatetime(tzinfo=UTC),
        )

    def issue_upload_token(self, task_id: str, *, ttl: float = 0) -> Grant:
        """A new upload token for one of this principal's active tasks (an upload that
        outlives its first token); earlier tokens stay valid until they expire."""
        task = self.status(task_id)
        token, expires = retrying(
            self.retry.budget(),
            lambda: self._transport.issue_upload_token(task_id, ttl=round(ttl)),
        )
        return Grant(task=task, upload_token=token, expires_at=expires)

    def upload_to_task(
        self,
        path: str | os.PathLike[str],
        task_id: str,
        *,
        parallelism: int = 2,
        progress: ProgressCallback | None = None,
        hash_progress: ProgressCallback | None = None,
        on_event: EventCallback | None = None,
    ) -> UploadResult:
        """Upload the file at ``path`` into the existing task ``task_id`` (the uploader's
        side: a client made with the task's upload token), streaming what the server lacks
        and merging. Interrupted, the same call continues. The task must be for this file's
        size; the server verifies the bytes against the SHA-256 declared with the task, and
        the client merges with the file's own hash. Raises as :meth:`upload`; the task is
        never cancelled by this client (it is not its own)."""
        if parallelism < 1:
            raise ValueError("parallelism must be at least 1")
        started = time.monotonic()
        self._transport.connect()
        task = self.status(task_id)
        events = EventSink(on_event, path=os.fspath(path), store_path=task.store_path)
        try:
            result = self._upload(
                path,
                task.store_path,
                started=started,
                events=events,
                metadata=None,
                block_size=None,
                parallelism=parallelism,
                progress=_both(progress, events.progress if on_event is not None else None),
                hash_progress=hash_progress,
                overwrite=False,
                cancel_on_interrupt=False,
                assigned_task=task_id,
            )
        except BaseException as exc:
            events.failed(exc)
            raise
        events.completed(result)
        return result

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
        on_event: EventCallback | None = None,
        cancel_on_interrupt: bool = False,
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
            on_event: called with each :class:`~ferry_client.events.UploadEvent` of this
                upload: ``created`` as soon as the task exists (its id is then known, to pause
                or cancel it), ``progress`` at most once a second, ``retrying``, and
                ``completed`` or ``failed``; from the client's threads, so it must be quick.
            cancel_on_interrupt: on KeyboardInterrupt, cancel the task this call created (or
                the one remembered for this very file) instead of leaving it to resume.

        When the client gives up on a task it owns (created by this call, or remembered for
        this file) for good, because the file changed while it was being uploaded or the
        server refused a request, it cancels the task so that ``store_path`` is free, and
        the error's message says so. A transient failure the policy gave up on, a paused
        task, and (without ``cancel_on_interrupt``) an interruption leave it to resume.

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
        events = EventSink(on_event, path=os.fspath(path), store_path=store_path)
        try:
            result = self._upload(
                path,
                store_path,
                started=started,
                events=events,
                metadata=metadata,
                block_size=block_size,
                parallelism=parallelism,
                progress=_both(progress, events.progress if on_event is not None else None),
                hash_progress=hash_progress,
                overwrite=overwrite,
                cancel_on_interrupt=cancel_on_interrupt,
            )
        except BaseException as exc:
            events.failed(exc)
            raise
        events.completed(result)
        return result

    def upload_stream(
        self,
        source: StreamSource,
        store_path: str,
        *,
        file_name: str | None = None,
        max_size: int | None = None,
        metadata: Mapping[str, str] | None = None,
        block_size: int | None = None,
        parallelism: int = 2,
        progress: ProgressCallback | None = None,
        overwrite: bool = False,
        on_event: EventCallback | None = None,
    ) -> UploadResult:
        """Upload data of unknown length (stdin, a pipe, a binary file object, an iterator of
        bytes) to ``store_path`` and return the result; the data is read once, in order.

        Data of at most 1 MiB is sent whole in one UploadFile request. Otherwise the task is
        declared with its size deferred (the server learns it at Merge, with the SHA-256
        computed as the data flowed); blocks are read only when a stream is free to send them
        and kept until acknowledged, so memory stays at most ``parallelism`` blocks (16 MiB with
        the defaults). A connection cut or a server restart is recovered within this call:
        the unacknowledged blocks are sent again on new streams under the retry policy.
        **It cannot be resumed by another call**: when this call gives up (the policy's
        limit, a refusal, Ctrl-C, a paused task), it cancels its task, as the bytes not yet
        acknowledged are gone with it. Nothing is written to the state file.

        Args:
            source: an object with ``read(n)`` returning bytes (``sys.stdin.buffer``, an open
                file, a socket file), or an iterable of bytes objects.
            file_name: the name recorded with the task (default: the last part of store_path).
            max_size: the most bytes the data may have (``None``: the server's maximum file
                size); an object-store backend chooses its part size from it, and the upload
                fails if the data is longer.
            progress: called with (bytes done, 0): the total is not known.
            Others as for :meth:`upload`.

        Raises:
            as :meth:`upload`; TypeError when ``source`` yields something other than bytes.
        """
        if parallelism < 1:
            raise ValueError("parallelism must be at least 1")
        if max_size is not None and max_size < 1:
            raise ValueError("max_size must be positive")
        started = time.monotonic()
        events = EventSink(on_event, path="-", store_path=store_path)
        try:
            self._transport.connect()
            stream = StreamUpload(
                self._transport,
                source,
                store_path,
                file_name=file_name or store_path.rsplit("/", 1)[-1],
                metadata=metadata or {},
                block_size=block_size,
                max_size=max_size,
                parallelism=parallelism,
                overwrite=overwrite,
                budget=self.retry.budget(on_retry=events.retrying),
                events=events,
                progress=_both(progress, events.progress if on_event is not None else None),
                merge_timeout=self.timeout,
                stall_timeout=self.stall_timeout,
            )
            result = stream.run(started)
        except BaseException as exc:
            events.failed(exc)
            raise
        events.completed(result)
        return result

    def upload_many(
        self,
        items: Iterable[UploadItem | tuple[str, str]],
        *,
        jobs: int = DEFAULT_JOBS,
        metadata: Mapping[str, str] | None = None,
        block_size: int | None = None,
        parallelism: int = 2,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
        on_event: EventCallback | None = None,
        on_file: FileCallback | None = None,
        cancel_on_interrupt: bool = False,
    ) -> BatchSummary:
        """Upload many files, up to ``jobs`` at once, each as :meth:`upload` would (resumed,
        verified, its task cancelled if the client gives up on it), and return every file's
        outcome with the totals. A file that fails does not stop the others: check
        :attr:`BatchSummary.ok`. Running the same batch again skips what is published
        (``already there``) and resumes the rest.

        Args:
            items: ``UploadItem`` or ``(path, store_path)`` pairs; :func:`plan_sources` makes
                them from files, directories and a destination prefix.
            jobs: files in flight at once (each with ``parallelism`` streams if large).
            progress: called with (bytes done, total bytes) over the whole batch.
            on_event: every file's :class:`~ferry_client.events.UploadEvent` (each names its
                path).
            on_file: called with each file's :class:`FileResult` as soon as it is known.
            cancel_on_interrupt: on KeyboardInterrupt, cancel the tasks this batch created
                for files still in flight (files not started are reported cancelled anyway).
        """
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        planned = [i if isinstance(i, UploadItem) else UploadItem(*i) for i in items]
        run = BatchRun(
            self,
            self._store,
            planned,
            jobs=jobs,
            upload_options={
                "metadata": metadata,
                "block_size": block_size,
                "parallelism": parallelism,
                "overwrite": overwrite,
            },
            on_event=on_event,
            progress=progress,
            on_file=on_file,
            cancel_on_interrupt=cancel_on_interrupt,
        )
        return run.run()

    def _upload(
        self,
        path: str | os.PathLike[str],
        store_path: str,
        *,
        started: float,
        events: EventSink,
        metadata: Mapping[str, str] | None,
        block_size: int | None,
        parallelism: int,
        progress: ProgressCallback | None,
        hash_progress: ProgressCallback | None,
        overwrite: bool,
        cancel_on_interrupt: bool,
        assigned_task: str | None = None,
    ) -> UploadResult:
        key = UploadKey.for_file(path, store_path)
        # Before reading or hashing anything: an address never reached fails at once.
        self._transport.connect()
        budget = self.retry.budget(on_retry=events.retrying)
        upload = UploadSource(key, metadata=dict(metadata or {}), overwrite=overwrite)
        # A file for an existing task goes in blocks, whatever its size: UploadFile declares.
        small = key.size <= UPLOAD_FILE_MAX_SIZE and assigned_task is None
        if small and self._upload_file_supported:
            data = read_whole(key)
            upload.sha256, upload.hashed_bytes = sha256_hex(data), len(data)
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
                # Reported once the server answered (the hash took no time): nothing is shown
                # for an address that turns out not to be a Ferry server.
                if hash_progress is not None:
                    hash_progress(len(data), key.size)
                # The task came into being published: there was nothing to pause or cancel.
                events.created(
                    result.task_id, resumed=result.resumed, total=key.size, sent_whole=True
                )
                if progress is not None:
                    progress(key.size, key.size)
                return result
        session = BlockUpload(
            transport=self._transport,
            tasks=self._tasks,
            store=self._store,
            upload=upload,
            budget=budget,
            started=started,
            timeout=self.timeout,
            max_window=self.max_window,
            blocks_in_flight=self.blocks_in_flight,
            events=events,
            cancel_on_interrupt=cancel_on_interrupt,
            assigned_task=assigned_task,
            stall_timeout=self.stall_timeout,
        )
        return session.run(
            block_size=block_size,
            parallelism=parallelism,
            progress=progress,
            hash_progress=hash_progress,
        )


def _both(
    first: ProgressCallback | None, second: ProgressCallback | None
) -> ProgressCallback | None:
    """One progress callback calling ``first`` then ``second`` (either may be ``None``)."""
    if first is None or second is None:
        return first or second

    def both(done: int, total: int) -> None:
        first(done, total)
        second(done, total)

    return both
