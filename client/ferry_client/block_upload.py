"""An upload in blocks: start or continue its task (hashing the file on a thread of its own
meanwhile when its hash is not known), stream what the server lacks round after round, and merge
with the hash; the state file remembers the task id as soon as it exists, the hash once known.

A larger file is hashed while it uploads rather than before: its task is created without a
hash (Merge carries it instead), and the state file remembers the task id at once and the hash
once it is known, so a restarted process continues the task by its id. It hashes the file again
only if the first run died before its hash was done, which takes size / ~1.8 GB/s (0.6 s a GiB
here), far less than the upload itself.

A task found holding the store_path without the state file's knowledge (the upload was
started through another replica's address, or the state file was lost) is resumed only once the
client has proved it holds this file's bytes: every committed block's CRC32C, listed by
QueryMissingBlocks, equals the local block's (``planning.judge_same_file``).

Decisions live in ``planning``; the streams of a round in ``streams``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading

from ferry.v1 import ferry_pb2 as pb

from ferry_client.errors import (
    AlreadyExists,
    ChecksumMismatch,
    FerryError,
    IntegrityError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    SourceChanged,
    TaskEnded,
    TaskPaused,
    TransientError,
)
from ferry_client.events import EventSink
from ferry_client.hashing import BackgroundHash
from ferry_client.models import TaskInfo, TaskState, UploadResult
from ferry_client.planning import (
    BlockRange,
    ProgressAccount,
    ProgressCallback,
    RememberedTask,
    SameFile,
    Start,
    WorkQueue,
    committed_bytes,
    is_lost_declaration,
    judge_remembered,
    judge_same_file,
    plan_start,
    proof_blocks,
    smaller_block_size,
)
from ferry_client.retry import RetryBudget, RetryPolicy, pause_or_raise, retrying
from ferry_client.source import (
    Counters,
    UploadSource,
    blocks_crc32c,
    build_result,
    check_unchanged,
)
from ferry_client.stall import StallWatch
from ferry_client.state import Remembered, StateStore, UploadKey
from ferry_client.streams import Round
from ferry_client.tasks import TaskControl, raise_if_stopped
from ferry_client.transport import Transport
from ferry_client.window import WindowLimits

log = logging.getLogger("ferry.client")

#: Cancelling a task the client gives up on: a few quick attempts, as the user is waiting
#: (after Ctrl-C, say); if they fail, the message says how to cancel it by hand.
CANCEL_RETRY = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, max_attempts=3, max_elapsed=5.0)


def gives_up_on_task(error: FerryError) -> bool:
    """Whether ``error`` ends this upload of the task for good (the file changed, the server
    refused a request, the bytes do not verify), rather than for a while (a transient failure
    the policy gave up on: run again to resume) or by someone's decision (paused, ended)."""
    return not isinstance(error, (TransientError, TaskPaused, TaskEnded))


#: Merge hashes the whole staged file on the server (about 1.8 GB/s); its deadline allows
#: for that at a pessimistic rate on top of the ordinary deadline.
MERGE_HASH_RATE = 200 * 1024 * 1024


class SmallerBlocks(Exception):
    """No block of the task gets through the link: start it over with ``block_size``."""

    def __init__(self, block_size: int) -> None:
        super().__init__(block_size)
        self.block_size = block_size


class BlockUpload:
    """One upload in blocks, from its start to the published result."""

    def __init__(
        self,
        *,
        transport: Transport,
        tasks: TaskControl,
        store: StateStore,
        upload: UploadSource,
        budget: RetryBudget,
        started: float,
        timeout: float,
        max_window: int,
        blocks_in_flight: int | None,
        events: EventSink,
        cancel_on_interrupt: bool = False,
        assigned_task: str | None = None,
        stall_timeout: float | None = None,
    ) -> None:
        self.stall_timeout = stall_timeout
        self.events = events
        #: The existing task this upload must fill (an uploader holding its upload token);
        #: None: find or create the task for the file.
        self.assigned_task = assigned_task
        self.cancel_on_interrupt = cancel_on_interrupt
        self.transport = transport
        self.tasks = tasks
        self.store = store
        self.upload = upload
        self.budget = budget
        self.started = started
        self.timeout = timeout
        self.max_window = max_window
        self.blocks_in_flight = blocks_in_flight
        #: A hash-less task holding the store_path with nothing committed: nothing proves
        #: whose it is, so the conflict's message says that cancelling it loses nothing.
        self._unproven: str | None = None

    def run(
        self,
        *,
        block_size: int | None,
        parallelism: int,
        progress: ProgressCallback | None,
        hash_progress: ProgressCallback | None,
    ) -> UploadResult:
        """Start or continue the task (hashing the file meanwhile if its hash is not known),
        stream what the server lacks, merge with the hash."""
        upload, budget = self.upload, self.budget
        key = upload.key
        self._cancel_abandoned(key)
        remembered = self.store.lookup(key)
        if remembered is not None and remembered.sha256 and not upload.sha256:
            upload.sha256 = remembered.sha256
            log.info("%s: hash taken from the state file", key.path)
        memory = UploadMemory(self.store, key, remembered)
        #: The task, once known, if it is this client's to cancel when it gives up: created
        #: by this call, or the one the state file remembers for this very file.
        owned: str | None = None
        try:
            task, resumed, is_own = self._start(
                memory, remembered, block_size=block_size, hash_progress=hash_progress
            )
            owned = task.task_id if is_own else None
            self.events.created(task.task_id, resumed=resumed, total=key.size)
            while True:
                run = UploadRun(
                    transport=self.transport,
                    upload=upload,
                    task_id=task.task_id,
                    declared_sha256=task.sha256,
                    block_size=task.block_size,
                    parallelism=parallelism,
                    window_limits=WindowLimits(
                        task.block_size,
                        max_bytes=self.max_window,
                        fixed_blocks=self.blocks_in_flight,
                    ),
                    budget=budget,
                    progress=ProgressAccount(key.size, 0, progress),
                    merge_timeout=self.timeout + key.size / MERGE_HASH_RATE,
                    adaptable=owned is not None,
                    stall_timeout=self.stall_timeout,
                )
                try:
                    final = run.run()
                    break
                except SmallerBlocks as smaller:
                    assert owned is not None
                    task, resumed = self._start_smaller(owned, memory, task, smaller.block_size)
                    # A task found by the file's hash meanwhile is not ours to start over.
                    owned = None if resumed else task.task_id
                    self.events.created(task.task_id, resumed=resumed, total=key.size)
        except KeyboardInterrupt:
            if owned is not None and self.cancel_on_interrupt:
                self._give_up(owned, memory, "the upload was interrupted")
            raise
        except FerryError as exc:
            if owned is not None and gives_up_on_task(exc):
                raise exc.with_message(self._give_up(owned, memory, exc.message)) from exc
            if isinstance(exc, (TaskEnded, IntegrityError, SourceChanged)):
                memory.forget()
            raise
        finally:
            # Whatever happened, the hashing thread does not outlive this call.
            upload.stop_hashing()
        memory.forget()
        return build_result(
            final,
            upload,
            run.counters,
            budget,
            self.started,
            resumed=resumed,
            committed_at_start=run.committed_at_start,
        )

    def _start_smaller(
        self, task_id: str, memory: UploadMemory, task: pb.Task, block_size: int
    ) -> tuple[pb.Task, bool]:
        """Cancel this upload's own task, which has nothing committed, and start a new one
        with smaller blocks: the link is cut before any block of the old size gets through."""
        log.warning(
            "no %d-byte block of task %s got through before the connection was lost (%d "
            "attempts): starting over with %d-byte blocks (task %s had nothing committed)",
            task.block_size, task_id, self.budget.failures, block_size, task_id,
        )  # fmt: skip
        self.tasks.set_state(task_id, TaskState.CANCELED, self.budget)
        memory.start_over()
        # Choosing smaller blocks is a change of course, not a failure: the limits start over.
        self.budget.progressed()
        new, resumed, _ = self._start(memory, None, block_size=block_size, hash_progress=None)
        return new, resumed

    def _give_up(self, task_id: str, memory: UploadMemory, what: str) -> str:
        """Cancel the task this upload abandons, so that its store_path is free; ``what``
        happened, followed by what became of the task."""
        store_path = self.upload.key.store_path
        try:
            self.tasks.set_state(task_id, TaskState.CANCELED, CANCEL_RETRY.budget())
        except PreconditionFailed:
            memory.forget()
            return f"{what}; task {task_id} had already ended"
        except FerryError as exc:
            # Kept in the state file: the next run of this upload cancels it (or resumes it).
            return (
                f"{what}; task {task_id} could not be cancelled ({exc}): cancel it with "
                f"`ferry cancel {task_id}` to free {store_path}"
            )
        memory.forget()
        self.events.task_cancelled = True
        log.info("cancelled task %s (%s)", task_id, what)
        return f"{what}; task {task_id} was cancelled, so {store_path} is free again"

    def _cancel_abandoned(self, key: UploadKey) -> None:
        """Cancel the tasks the state file remembers for older versions of this file going to
        the same store_path: nothing will ever finish them, and they hold the store_path."""
        for old_key, old in self.store.stale(key):
            task = self.tasks.find(old.task_id, self.budget)
            if (
                task is not None
                and task.store_path == key.store_path
                and TaskState.from_pb(task.state) in (TaskState.UPLOADING, TaskState.PAUSED)
            ):
                try:
                    self.tasks.set_state(old.task_id, TaskState.CANCELED, self.budget)
                except FerryError as exc:
                    log.warning(
                        "%s changed since task %s was started for it, which could not be "
                        "cancelled: %s",
                        key.path, old.task_id, exc,
                    )  # fmt: skip
                    continue
                log.warning(
                    "%s changed since task %s was started for it: cancelled that task",
                    key.path, old.task_id,
                )  # fmt: skip
            self.store.forget(old_key)

    def _start(
        self,
        memory: UploadMemory,
        remembered: Remembered | None,
        *,
        block_size: int | None,
        hash_progress: ProgressCallback | None,
    ) -> tuple[pb.Task, bool, bool]:
        """The task to send blocks to, whether it existed before this call, and whether it is
        this upload's own (created now, or remembered for this very file), as
        :func:`~ferry_client.planning.plan_start` says; the hashing thread runs from here on
        if the hash is not known."""
        upload, budget = self.upload, self.budget
        key = upload.key
        if self.assigned_task is not None:
            return self._assigned(self.assigned_task, memory, hash_progress)
        start = plan_start(
            remembered_task_id=remembered.task_id if remembered is not None else None,
            sha256=upload.sha256,
        )
        if start is Start.BY_ID and remembered is not None:
            task = self.tasks.find(remembered.task_id, budget)
            verdict = judge_remembered(
                TaskInfo.from_pb(task) if task is not None else None,
                size=key.size,
                store_path=key.store_path,
                sha256=upload.sha256,
            )
            if task is not None and verdict is RememberedTask.PAUSED:
                raise_if_stopped(task.task_id, TaskState.PAUSED)
            if task is not None and verdict is RememberedTask.CONTINUE:
                log.info("%s: continuing task %s by its id", key.path, task.task_id)
                self._hash_in_background(memory, hash_progress)
                return task, True, True
            log.info(
                "task %s remembered for %s cannot be continued (%s); starting over",
                remembered.task_id, key.path,
                "unknown to the server" if task is None else TaskState.from_pb(task.state),
            )  # fmt: skip
            memory.start_over()
            start = plan_start(remembered_task_id=None, sha256=upload.sha256)
        if start is Start.FRESH:
            self._hash_in_background(memory, hash_progress)
            created = self._create_without_hash(block_size)
            if created is not None:
                memory.task(created.task.task_id)
                return created.task, created.resumed, not created.resumed
            upload.digest()  # a task holds store_path: it may be this file's, by its hash
        request = upload.declaration(block_size, sha256=upload.sha256)
        try:
            created = retrying(budget, lambda: self.transport.create_task(request))
        except AlreadyExists as exc:
            if exc.task_id is not None and exc.task_id == self._unproven:
                raise exc.with_message(
                    f"{exc.message} (task {exc.task_id} has no block committed, so nothing "
                    f"shows whose upload it is; if it is yours, `ferry cancel {exc.task_id}` "
                    "loses nothing)"
                ) from exc
            raise
        memory.task(created.task.task_id)
        return created.task, created.resumed, not created.resumed

    def _assigned(
        self, task_id: str, memory: UploadMemory, hash_progress: ProgressCallback | None
    ) -> tuple[pb.Task, bool, bool]:
        """The task someone else created for this file (never this upload's to cancel): it
        must take blocks, for this file's size and store_path; the server verifies the bytes
        against the hash declared with it."""
        key = self.upload.key
        task = self.tasks.find(task_id, self.budget)
        if task is None:
            raise NotFound(f"task {task_id} is unknown to the server (or not yours to see)")
        info = TaskInfo.from_pb(task)
        if info.size != key.size or info.store_path != key.store_path:
            raise InvalidRequest(
                f"task {task_id} expects {info.size} bytes at {info.store_path}; "
                f"{key.path} has {key.size}: not the file it was created for"
            )
        # PAUSED or ended: say so. UPLOADING goes on; COMPLETED too: its Merge answers again,
        # checked against this file's hash.
        raise_if_stopped(task.task_id, info.state)
        log.info("%s: uploading to task %s", key.path, task.task_id)
        memory.task(task.task_id)
        self._hash_in_background(memory, hash_progress)
        return task, True, False

    def _hash_in_background(
        self, memory: UploadMemory, hash_progress: ProgressCallback | None
    ) -> None:
        """Start hashing the file on a thread of its own, unless its hash is known."""
        upload = self.upload
        if upload.sha256 or upload.hashing is not None:
            return
        key = upload.key

        def check(read: int) -> None:
            # The hash must be the one of the version of the file the key describes, the
            # one whose blocks are sent.
            if read != key.size:
                raise SourceChanged(f"{key.path} changed while it was being hashed")
            check_unchanged(key)

        upload.hashing = BackgroundHash(
            key.path, progress=hash_progress, check=check, on_done=memory.hashed
        )

    def _create_without_hash(self, block_size: int | None) -> pb.CreateTaskResponse | None:
        """CreateTask without a hash, or ``None`` when a task already holds the store_path.

        Such a declaration never resumes, so a retry after a reply was lost meets the task its
        first attempt created; that one, named by the ALREADY_EXISTS error and exactly as
        declared, is taken as this call's own.
        """
        request = self.upload.declaration(block_size, sha256="")
        may_have_created = False
        while True:
            try:
                return self.transport.create_task(request)
            except AlreadyExists as exc:
                if may_have_created:
                    task = self._lost_declaration(exc, request)
                    if task is not None:
                        log.info(
                            "task %s was created by an attempt whose reply was lost; using it",
                            task.task_id,
                        )
                        return pb.CreateTaskResponse(task=task, resumed=False)
                same = self._same_file_task(exc)
                if same is not None:
                    return pb.CreateTaskResponse(task=same, resumed=True)
                log.debug("%s; declaring the file with its SHA-256 once hashed", exc)
                return None
            except FerryError as exc:
                pause_or_raise(self.budget, exc)
                may_have_created = True

    def _same_file_task(self, exc: AlreadyExists) -> pb.Task | None:
        """The hash-less task ``exc`` names if it holds this file's bytes: same size and
        store_path, still taking blocks, and every committed block's CRC32C the local file's
        (TaskPaused if it is paused). A task declared with a hash is left to the declaration
        with this file's hash, which resumes it only if the hashes are equal."""
        if exc.ferry_reason != "STORE_PATH_TAKEN" or exc.task_id is None:
            return None
        try:
            return self._proven_task(exc.task_id)
        except (PermissionDenied, NotFound):
            # Another principal's task (once identity exists) is not ours to resume, and one
            # gone meanwhile is nothing to resume: the declaration with the hash decides.
            return None

    def _proven_task(self, task_id: str) -> pb.Task | None:
        """The task if it takes blocks for this file's size and store_path and its committed
        blocks are this file's; ``None`` otherwise."""
        key = self.upload.key
        task = self.tasks.find(task_id, self.budget)
        if task is None or task.sha256:
            return None
        verdict = judge_remembered(
            TaskInfo.from_pb(task), size=key.size, store_path=key.store_path, sha256=""
        )
        if verdict is RememberedTask.GONE:
            return None
        committed = self._committed_crc32c(task.task_id)
        blocks = proof_blocks(key.size, task.block_size, committed)
        local = blocks_crc32c(key, blocks) if blocks is not None else None
        same = judge_same_file(committed, local, task.committed_bytes)
        if same is not SameFile.SAME:
            if same is SameFile.UNPROVEN:
                self._unproven = task.task_id
            log.info("task %s holding %s is not this file's (%s)", task.task_id,
                     key.store_path, same.value)  # fmt: skip
            return None
        if verdict is RememberedTask.PAUSED:
            raise_if_stopped(task.task_id, TaskState.PAUSED)
        log.info(
            "%s: resuming task %s, whose %d committed blocks are this file's",
            key.path, task.task_id, len(committed),
        )  # fmt: skip
        return task

    def _committed_crc32c(self, task_id: str) -> list[tuple[int, int]]:
        """Every committed block of the task as (index, crc32c), a page at a time."""
        found: list[tuple[int, int]] = []
        start = 0
        while True:
            page = functools.partial(self.transport.query_missing, task_id, committed_start=start)
            report = retrying(self.budget, page)
            found.extend((block.index, block.crc32c) for block in report.committed)
            if report.next_committed_index <= start:
                return found
            start = report.next_committed_index

    def _lost_declaration(
        self, exc: AlreadyExists, request: pb.CreateTaskRequest
    ) -> pb.Task | None:
        """The task ``exc`` names if it is exactly what ``request`` declares, untouched."""
        if exc.task_id is not None:
            task = self.tasks.find(exc.task_id, self.budget)
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


class UploadMemory:
    """What the state file says about one upload in blocks: the task id as soon as the task
    exists, with the hash once the hashing thread is done, in whichever order they come
    (the thread reports from its own side). After :meth:`forget` it writes nothing more,
    so a late hash cannot bring back the entry of a finished upload. Thread-safe."""

    def __init__(self, store: StateStore, key: UploadKey, recalled: Remembered | None) -> None:
        self._store = store
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
            self._store.forget(self._key)

    def hashed(self, sha256: str) -> None:
        with self._lock:
            self._sha256 = sha256
            self._write()

    def forget(self) -> None:
        with self._lock:
            self._closed = True
            self._store.forget(self._key)

    def _write(self) -> None:
        if self._closed or not self._task_id:
            return
        entry = Remembered(self._task_id, self._sha256)
        if entry != self._written:
            self._store.remember(self._key, entry)
            self._written = entry


class UploadRun:
    """One upload's loop: ask what is missing, stream it, merge; recover between rounds."""

    def __init__(
        self,
        *,
        transport: Transport,
        upload: UploadSource,
        task_id: str,
        declared_sha256: str,
        block_size: int,
        parallelism: int,
        window_limits: WindowLimits,
        budget: RetryBudget,
        progress: ProgressAccount,
        merge_timeout: float,
        adaptable: bool = False,
        stall_timeout: float | None = None,
    ) -> None:
        #: Cuts streams that stop making progress (``stall``), across this run's rounds.
        self.stalls = StallWatch(stall_timeout)
        #: The task is this upload's own: it may be started over with smaller blocks while it
        #: has nothing committed (:func:`~ferry_client.planning.smaller_block_size`).
        self.adaptable = adaptable
        self.transport = transport
        self.upload = upload
        self.key = upload.key
        self.task_id = task_id
        #: The SHA-256 the task was declared with ("" if none), to compare with the file's.
        self.declared_sha256 = declared_sha256
        self.block_size = block_size
        self.parallelism = parallelism
        #: Each stream's sliding window's bounds (see ``window``).
        self.window_limits = window_limits
        self.budget = budget
        self.progress = progress
        self.merge_timeout = merge_timeout
        self.counters = Counters()
        self.committed_at_start = 0
        self._first_query = True
        #: Data bytes each failed round sent before it failed (for a flaky link).
        self._carried: list[int] = []
        #: The most committed bytes a query has shown, to notice progress whose acks were lost.
        self._most_committed = -1

    @property
    def stream_window_limits(self) -> WindowLimits:
        """The window limits for a new stream: after a round of this run was cut, a stream
        starts at one block and grows only from its own acknowledgements (as TCP's window
        collapses after a loss), so that a link cut every few megabytes is not filled ahead
        of the first block that can get through."""
        if self._carried and self.window_limits.initial_blocks > 1:
            return dataclasses.replace(self.window_limits, initial_blocks=1)
        return self.window_limits

    def run(self) -> pb.Task:
        try:
            return self._run()
        finally:
            self.stalls.close()

    def _run(self) -> pb.Task:
        while True:
            try:
                self.upload.raise_if_hashing_failed()
                report = self.transport.query_all_missing(self.task_id)
                state = TaskState.from_pb(report.state)
                self._raise_if_stopped(state, None)
                missing = [BlockRange(r.start, r.end) for r in report.missing]
                committed = committed_bytes(self.key.size, report.block_size, missing)
                if self._first_query:
                    self.committed_at_start = committed
                    self._first_query = False
                elif committed > self._most_committed:
                    # Blocks committed whose acknowledgements a cut connection lost are
                    # progress too: the retry limits count failures without progress.
                    self.budget.progressed()
                self._most_committed = max(self._most_committed, committed)
                self.progress.reset(committed)
                check_unchanged(self.key)
                if self.adaptable and state == TaskState.UPLOADING and missing:
                    smaller = smaller_block_size(
                        report.block_size,
                        carried=self._carried,
                        committed=committed,
                        streams=self.parallelism,
                    )
                    if smaller is not None:
                        raise SmallerBlocks(smaller)
                if state == TaskState.UPLOADING and missing:
                    sent = self.counters.bytes_sent
                    try:
                        Round(self, WorkQueue(self.key.size, report.block_size, missing)).run()
                    except TransientError:
                        if self.counters.bytes_sent > sent:
                            self._carried.append(self.counters.bytes_sent - sent)
                        raise
                    continue
                # Nothing missing (or already COMPLETED: Merge answers the same result again).
                return self._merge()
            except (TaskPaused, TaskEnded, SourceChanged, ChecksumMismatch):
                # A ChecksumMismatch leaves a round only once the budget gave up on it.
                raise
            except PreconditionFailed as exc:
                self._explain_precondition(exc)
                pause_or_raise(self.budget, exc, retryable=True)
            except FerryError as exc:
                pause_or_raise(self.budget, exc)

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
        raise_if_stopped(self.task_id, state, cause)

    def _explain_precondition(self, exc: PreconditionFailed) -> None:
        """FAILED_PRECONDITION usually means paused or ended: confirm with the server.

        Raises TaskPaused or TaskEnded when it was; returns when the task is UPLOADING or
        COMPLETED again (e.g. resumed at once), so the caller retries.
        """
        task = TaskInfo.from_pb(
            retrying(self.budget, lambda: self.transport.get_task(self.task_id))
        )
        self._raise_if_stopped(task.state, exc)
        if task.state not in (TaskState.UPLOADING, TaskState.COMPLETED):
            raise exc
