"""The transfer service: Ferry's rules for creating, receiving, pausing and merging tasks.

It owns the state machine, block bounds and checksums, and reaches SQL and the disk only
through the ports in ``ferry_server.domain.ports``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import google_crc32c

from ferry_server.domain.calls import check_call
from ferry_server.domain.errors import (
    BlocksMissing,
    Busy,
    Conflict,
    Corrupted,
    FileNotFound,
    IllegalState,
    IntegrityFailure,
    InvalidArgument,
    OutOfRange,
    PermissionDenied,
    QuotaExceeded,
    Reason,
    StorageFull,
    TaskNotFound,
    Unavailable,
    not_uploading,
)
from ferry_server.domain.hashing import PrefixHasher
from ferry_server.domain.identity import ANONYMOUS, Caller, Permission, new_upload_token
from ferry_server.domain.inputs import is_task_id, printable_problem, shown
from ferry_server.domain.model import (
    ACTIVE_STATES,
    LAYOUT_WHOLE,
    SETTABLE_STATES,
    BlockRange,
    Task,
    TaskState,
    about,
    block_count,
    can_transition,
    describe_ranges,
    missing_ranges,
)
from ferry_server.domain.notifications import NoticeRequest, NotificationStatus
from ferry_server.domain.part_size import PartBounds, choose_block_size
from ferry_server.domain.paths import validate_store_path
from ferry_server.domain.ports import (
    ActiveTaskExists,
    AttemptWriter,
    BlockCommit,
    BlocksNotLanded,
    BlockStore,
    CommitOutcome,
    CommittedBlock,
    DestinationExists,
    Expirable,
    Metrics,
    NewTask,
    NoMetrics,
    PublishedFile,
    StagingMissing,
    TaskRepository,
)
from ferry_server.domain.quotas import CommittedBytes, Quotas, StreamSlots, admit_task
from ferry_server.domain.watching import Subscriber, TaskWatcher
from ferry_server.domain.webhook_targets import NO_ROUTE, WebhookRoute, choose_webhook

log = logging.getLogger("ferry.tasks")

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
MAX_FILE_NAME_BYTES = 255
MAX_METADATA_ENTRIES = 64
MAX_METADATA_BYTES = 16 * 1024
_MERGE_POLL_SECONDS = 0.05
#: Longest a task's deadline lags its newest block commit (it is pushed at most this often, so
#: that committers of one task never queue on its row).
_TOUCH_INTERVAL = timedelta(seconds=60)
#: Expired upload tokens are kept this long, so that their bearers hear TOKEN_EXPIRED rather
#: than "unknown token", then deleted.
_EXPIRED_TOKEN_KEPT = timedelta(days=1)
#: Longest a duplicate of a committed block waits for the winner's landing in the store.
_LANDING_WAIT_SECONDS = 30.0
#: The name of the storage sweeper's cluster-wide lease.
_SWEEPER_LEASE = "storage-sweeper"
_RETENTION_LEASE = "retention"
#: Retention's bounded batches: ended tasks purged per sweep, block rows deleted per task and
#: transaction, ended task rows deleted per sweep.
_PURGE_TASKS = 100
_PURGE_ROWS = 10_000
_DELETE_TASKS = 1000
#: Held by the replica that applies retention; another takes over once it lapses.
_RETENTION_LEASE_LENGTH = timedelta(minutes=5)

Clock = Callable[[], datetime]
#: Called at named points of the write and merge paths; the test-only ``--test-fault`` setting
#: makes it kill, stop or pause the process there. A no-op otherwise.
FaultHook = Callable[[str], None]


def no_fault(_point: str) -> None:
    """The fault hook of a server without ``--test-fault``."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds the service enforces, taken from the settings."""

    default_block_size: int
    min_block_size: int
    max_block_size: int
    block_alignment: int
    max_file_size: int
    max_message_data: int
    task_ttl: timedelta
    merge_lease: timedelta
    fsync: bool
    #: An attempt file not written for this long, and not promoted, is an orphan.
    orphan_age: timedelta = timedelta(hours=1)
    #: Most tasks' staging the sweeper looks at per sweep.
    sweep_batch: int = 1000
    #: How long an ended task's row is kept (its block rows go as soon as it ends).
    retention: timedelta = timedelta(days=30)
    #: Longest (and default) life of an upload token.
    upload_token_ttl: timedelta = timedelta(hours=24)
    quotas: Quotas = field(default_factory=Quotas)
    #: The object store's block sizes (S3 part bounds); None: the server's bounds alone.
    part_bounds: PartBounds | None = None


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A CreateTask request in domain terms."""

    file_name: str
    size: int
    sha256: str
    store_path: str
    metadata: Mapping[str, str]
    block_size: int
    overwrite: bool
    principal: str = ANONYMOUS
    #: The size is declared at Merge (a pipe); ``size`` must be 0.
    size_deferred: bool = False
    #: With ``size_deferred``: the most bytes the file may have (0: the server's maximum).
    max_size: int = 0
    #: The webhook URL the caller asks for ("" for its principal's); once the declaration is
    #: authorized, the URL chosen for the task ("" for none).
    webhook_url: str = ""


#: Committed blocks' CRC32C listed in one QueryMissingBlocks answer at most (~40 KiB).
COMMITTED_CRC32C_PAGE = 4096
#: Missing ranges in one QueryMissingBlocks page at most, and when the caller names no size
#: (10,000 ranges: at most ~140 KiB of message, far below any message size limit).
MISSING_PAGE_MAX = 10_000
#: Block indexes one QueryMissingBlocks page looks at (committed or not), so one answer costs
#: one bounded index range scan whatever the task's size (a gap reaching past it is followed
#: by one more index lookup, not scanned).
MISSING_PAGE_SPAN = 8_192
_PAGE_TOKEN = re.compile(r"m([0-9]{1,10})")


@dataclass(frozen=True, slots=True)
class FileGeneration:
    """A published file's identity: the task that published it, its SHA-256 and size."""

    task_id: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class FileRead:
    """A ReadFile in progress: the generation read, and the bytes from ``offset`` on."""

    generation: FileGeneration
    offset: int
    chunks: Iterator[bytes]


#: Attempts at opening a file that another upload is replacing at the same moment.
_OPEN_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class MissingReport:
    state: TaskState
    block_size: int
    block_count: int
    committed_bytes: int
    missing: list[BlockRange]
    #: (index, crc32c) of committed blocks from the asked start on, when asked for.
    committed: list[tuple[int, int]] = field(default_factory=list)
    #: Where the next page of ``committed`` starts; 0 when there is none.
    next_committed_index: int = 0
    #: The token for the next page of ``missing``; empty when this page ends the listing.
    next_page_token: str = ""


@dataclass(frozen=True, slots=True)
class Part:
    """One UploadParts message in domain terms."""

    task_id: str
    block_index: int
    offset: int
    data: bytes
    crc32c: int | None


class BlockOutcome(enum.Enum):
    """What a stream is told about one block it sent."""

    #: Durable and recorded: this attempt won, or an earlier one with the same bytes did.
    COMMITTED = "committed"
    #: The bytes do not match their CRC32C; nothing was recorded.
    CHECKSUM_MISMATCH = "checksum mismatch"
    #: Another attempt committed the block earlier with a different CRC32C: these bytes were
    #: discarded (the source changed, or the client is wrong).
    COMMITTED_DIFFERENT = "committed with other bytes"


@dataclass(frozen=True, slots=True)
class BlockAck:
    task_id: str
    block_index: int
    outcome: BlockOutcome
    received_crc32c: int
    message: str


class TransferService:
    """Ferry's use cases. Thread-safe: one instance serves every RPC of a replica."""

    def __init__(
        self,
        repository: TaskRepository,
        store: BlockStore,
        limits: Limits,
        *,
        hasher: PrefixHasher,
        replica_id: str,
        clock: Clock = utc_now,
        fault: FaultHook = no_fault,
        metrics: Metrics | None = None,
        webhook_for: Callable[[str], WebhookRoute] = lambda _principal: NO_ROUTE,
        watcher: TaskWatcher | None = None,
    ) -> None:
        self._watcher = watcher
        self._repo = repository
        #: A principal's webhook settings (its URL and allowed prefixes; the server's fallback
        #: URL already applied).
        self._webhook_for = webhook_for
        self._metrics: Metrics = metrics if metrics is not None else NoMetrics()
        self._store = store
        self._hasher = hasher
        self._limits = limits
        self._replica_id = replica_id
        self._clock = clock
        self._fault = fault
        # When this replica last pushed each task's deadline (see _touch).
        self._touched: dict[str, datetime] = {}
        self._touched_lock = threading.Lock()
        self._sweep_cursor = ""
        self.streams = StreamSlots(repository, replica_id, limits.quotas, clock)
        self._committed = CommittedBytes(repository, clock)

    def _notice(self, task: Task | NewTask | Expirable) -> NoticeRequest | None:
        """The completion notice to record with a task's end, if it has a webhook: the one
        chosen when it was declared (for a task recorded before that choice was, its
        principal's now)."""
        url = task.webhook_url
        if url is None:
            url = self._webhook_for(task.principal).url
        return NoticeRequest.to(url) if url else None

    def watch(
        self, task_id: str, subscriber: Subscriber, caller: Caller
    ) -> tuple[Task, Callable[[], None]]:
        """The task now, and a subscription to its changes (see TaskWatcher); call the
        returned function to end it. Subscribed before the task is read, so no change falls
        between the two. The caller's own task, or any for an operator, as GetTask."""
        caller.require_any((Permission.READ, Permission.OPERATOR), "watch tasks")
        if self._watcher is None:
            raise Unavailable("this replica does not watch tasks", reason=Reason.SHUTTING_DOWN)
        unsubscribe = self._watcher.subscribe(_require_task_id(task_id), subscriber)
        try:
            return self.get_task(task_id, caller), unsubscribe
        except BaseException:
            unsubscribe()
            raise

    def notification_status(self, task_id: str, caller: Caller) -> NotificationStatus | None:
        """The delivery of the task's completion notice (None: none was recorded)."""
        return self._repo.notification_status(self.get_task(task_id, caller).task_id)

    @property
    def limits(self) -> Limits:
        return self._limits

    @property
    def store(self) -> BlockStore:
        return self._store

    # -- queries ---------------------------------------------------------------------------

    def check_database(self) -> None:
        """Return when the database answers; raise Unavailable when it does not."""
        self._repo.ping()

    def get_task(self, task_id: str, caller: Caller) -> Task:
        """The task, for its owner (any task for an operator)."""
        caller.require_any((Permission.READ, Permission.OPERATOR), "read tasks")
        return self._visible(task_id, caller, as_operator=True)

    def _load(self, task_id: str) -> Task:
        """The task, whoever's it is (for the service's own re-reads after a check)."""
        task = self._repo.get(_require_task_id(task_id))
        if task is None:
            raise TaskNotFound(task_id)
        return task

    def _visible(
        self,
        task_id: str,
        caller: Caller,
        *,
        as_operator: bool = False,
        committed_bytes: bool = True,
        count_up_to: int | None = None,
    ) -> Task:
        """The task if ``caller`` may see it; any other principal's task answers exactly as an
        unknown id does (same error, same message, no trailer), so ids cannot be probed."""
        task = self._repo.get(
            _require_task_id(task_id), committed_bytes=committed_bytes, count_up_to=count_up_to
        )
        if task is None or not caller.sees(task, as_operator=as_operator):
            raise TaskNotFound(task_id)
        return task

    def missing_blocks(
        self,
        task_id: str,
        caller: Caller,
        *,
        crc32c_from: int | None = None,
        page: int = COMMITTED_CRC32C_PAGE,
        page_size: int = 0,
        page_token: str = "",
    ) -> MissingReport:
        """One page of what the task lacks (``page_size`` ranges at most, from where
        ``page_token`` says); with ``crc32c_from``, also the CRC32C of up to ``page``
        committed blocks from that index on (a client proving that the task holds its file's
        bytes), so that a huge task is listed in bounded pages."""
        caller.require_any((Permission.UPLOAD, Permission.READ), "query tasks")
        if page_size < 0:
            raise InvalidArgument(
                f"page_size={page_size}: must not be negative (0: the server's default)",
                field="page_size",
            )
        # committed_bytes counts every block row of the task: only on the first page, and only
        # for a task one page spans (a reconnecting client of a million-block task would
        # otherwise wait for a million-row count; it has the ranges, and GetTask counts).
        task = self._visible(
            task_id, caller, committed_bytes=not page_token, count_up_to=MISSING_PAGE_SPAN
        )
        start = _page_start(page_token, task.block_count)
        limit = min(page_size or MISSING_PAGE_MAX, MISSING_PAGE_MAX)
        missing: list[BlockRange] = []
        following: int | None = None
        if task.blocks_purged:
            # Retention removed an ended task's block list: a COMPLETED task has every block;
            # another ended task takes no more, so it is reported as lacking them all.
            if task.state is not TaskState.COMPLETED and start < task.block_count:
                missing = [BlockRange(start, task.block_count)]
        elif start < task.block_count:
            end = min(start + MISSING_PAGE_SPAN, task.block_count)
            missing, following = self._repo.missing_between(
                task.task_id, start, end, task.block_count, limit
            )
        listed: list[tuple[int, int]] = []
        next_index = 0
        if crc32c_from is not None:
            # One more than the page: whether another page follows, and where it starts.
            found = self._repo.committed_blocks(task.task_id, crc32c_from, page + 1)
            listed = [(b.index, b.crc32c) for b in found[:page]]
            if len(found) > page:
                next_index = found[page].index
        return MissingReport(
            state=task.state,
            block_size=task.block_size,
            block_count=task.block_count,
            committed_bytes=task.committed_bytes,
            missing=missing,
            committed=listed,
            next_committed_index=next_index,
            next_page_token="" if following is None else f"m{following}",
        )

    # -- ReadFile --------------------------------------------------------------------------

    def read_file(
        self,
        caller: Caller,
        *,
        store_path: str,
        task_id: str,
        offset: int,
        length: int,
        if_generation: str,
    ) -> FileRead:
        """Open the file published at ``store_path`` (or by ``task_id``) and read it from
        ``offset``, ``length`` bytes (0: to the end), as long as it is still the generation
        ``if_generation`` (a task id) when one is given.

        A caller reads only files its own principal published: by task id, its own task; by
        store_path, under its prefixes (checked before anything is looked up), and a file
        whose current generation another principal published reads as no file at all."""
        caller.require(Permission.READ, "read files")
        if bool(store_path) == bool(task_id):
            raise InvalidArgument("give exactly one of store_path and task_id", field="store_path")
        if task_id:
            task = self._visible(task_id, caller)
            if task.state is not TaskState.COMPLETED:
                raise IllegalState(
                    f"task {task.task_id} is {task.state}; only a COMPLETED task's file can be "
                    "read",
                    task_id=task.task_id,
                    reason=Reason.ILLEGAL_TRANSITION,
                )
            path, wanted = task.store_path, if_generation or task.task_id
        else:
            path, wanted = validate_store_path(store_path), if_generation
            caller.require_path(path, "read")
        current, opened = self._open_generation(path, wanted, caller)
        size = opened.size
        if size != current.size:
            opened.close()
            raise IntegrityFailure(
                f"{shown(path)} holds {size} bytes but its upload (task {current.task_id}) "
                f"published {current.size}: it was changed outside Ferry",
                task_id=current.task_id,
            )
        if offset > size:
            opened.close()
            raise OutOfRange(
                f"offset {offset} is past the end of {shown(path)} ({size} bytes)",
                field="offset",
                reason=Reason.INVALID_FIELD,
            )
        count = size - offset if length == 0 else min(length, size - offset)
        generation = FileGeneration(current.task_id, current.sha256 or "", size)
        chunks = opened.read(offset, count, self._limits.max_message_data)
        return FileRead(generation, offset, chunks)

    def _open_generation(
        self, path: str, wanted: str, caller: Caller
    ) -> tuple[Task, PublishedFile]:
        """The task that published ``path`` and the file opened, the same generation both
        (checked before and after opening: a publish renames first and records after). A
        generation another principal published is no file for ``caller``: which task, and
        that a file is there, is not said."""
        for _ in range(_OPEN_ATTEMPTS):
            current = self._repo.latest_completed(path)
            if current is None or not caller.owns(current):
                raise FileNotFound(f"no file is published at {shown(path)}")
            if wanted and current.task_id != wanted:
                raise IllegalState(
                    f"{shown(path)} is no longer generation {shown(wanted)}: a later upload "
                    f"(task {current.task_id}) replaced it; read it again from offset 0",
                    reason=Reason.GENERATION_CHANGED,
                    facts={"generation": current.task_id},
                )
            opened = self._store.open_published(path)
            again = self._repo.latest_completed(path)
            if again is not None and again.task_id == current.task_id:
                return current, opened
            opened.close()
        raise Busy(f"{shown(path)} is being replaced right now; retry", reason=Reason.BUSY)

    # -- CreateTask ------------------------------------------------------------------------

    def _authorize_declaration(self, spec: TaskSpec, caller: Caller) -> tuple[TaskSpec, str]:
        """``spec`` as the caller's, and its validated store_path, if the caller may declare
        it: the permissions and the prefix are checked before anything is looked up, so a
        refusal says nothing about what exists outside the caller's prefixes."""
        caller.require(Permission.CREATE, "declare files")
        self._validate_spec(spec)
        store_path = validate_store_path(spec.store_path)
        caller.require_path(store_path)
        if spec.overwrite:
            caller.require(Permission.OVERWRITE, "overwrite files")
        webhook = choose_webhook(
            spec.webhook_url, self._webhook_for(caller.principal), caller.principal
        )
        return (
            dataclasses.replace(spec, principal=caller.principal, webhook_url=webhook),
            store_path,
        )

    def create_task(self, spec: TaskSpec, caller: Caller) -> tuple[Task, bool]:
        """Create the task for ``spec``, or return the caller's active one it resumes
        (``True``)."""
        spec, store_path = self._authorize_declaration(spec, caller)
        sha256 = spec.sha256.lower() or None
        block_size = spec.block_size or self._limits.default_block_size
        max_size = (spec.max_size or self._limits.max_file_size) if spec.size_deferred else 0
        if self._limits.part_bounds is not None:
            block_size = choose_block_size(
                max_size or spec.size,
                self._limits.part_bounds,
                default=self._limits.default_block_size,
                requested=spec.block_size or None,
            )
        self._store.check_destination(store_path)
        # Two attempts: a concurrent creator may win the store_path between our look and insert.
        for _ in range(2):
            existing = self._repo.find_active(store_path)
            if existing is not None:
                return self._resume(existing, spec, sha256), True
            if not spec.overwrite and self._store.destination_exists(store_path):
                raise Conflict(
                    f"a file already exists at store_path {store_path!r}; "
                    "ask for overwrite to replace it",
                    reason=Reason.DESTINATION_EXISTS,
                )
            now = self._clock()
            task_id = secrets.token_hex(16)
            new = NewTask(
                task_id=task_id,
                principal=spec.principal,
                file_name=spec.file_name,
                size=spec.size,
                sha256=sha256,
                store_path=store_path,
                metadata=dict(spec.metadata),
                block_size=block_size,
                block_count=block_count(max_size or spec.size, block_size),
                overwrite=spec.overwrite,
                now=now,
                expires_at=now + self._limits.task_ttl,
                size_deferred=spec.size_deferred,
                max_size=max_size,
                webhook_url=spec.webhook_url,
            )
            admit = functools.partial(
                admit_task,
                self._limits.quotas,
                spec.principal,
                # A deferred size is admitted as the most the caller declared, if it did (not
                # the server's maximum, which would refuse every pipe).
                spec.max_size if spec.size_deferred else spec.size,
                free=self._store.free_bytes(),
                committed=self._committed.get(),
            )
            self._store.create(task_id)
            try:
                self._repo.insert_admitted(new, admit)
            except ActiveTaskExists:
                self._store.discard(task_id)
                continue
            except (QuotaExceeded, StorageFull) as exc:
                self._store.discard(task_id)
                log.warning(
                    "CreateTask refused for principal %s: %s", shown(spec.principal), exc.message,
                    extra=about("", spec.principal),
                )  # fmt: skip
                raise
            except BaseException:
                self._store.discard(task_id)
                raise
            log.info(
                "task %s created: %s (%d bytes, %d blocks of %d) -> %s",
                task_id, shown(spec.file_name), spec.size, new.block_count, block_size,
                shown(store_path), extra=about(task_id, spec.principal),
            )  # fmt: skip
            return new.as_task(TaskState.UPLOADING, sha256=sha256, committed_bytes=0), False
        raise Busy(f"store_path {store_path!r} is being declared concurrently; retry")

    def _resume(self, existing: Task, spec: TaskSpec, sha256: str | None) -> Task:
        if existing.principal != spec.principal:
            raise _taken_by_another(existing.store_path)
        if existing.staging_layout == LAYOUT_WHOLE:
            # Its bytes come only in an UploadFile request: blocks have nowhere to go.
            raise Conflict(
                f"store_path {existing.store_path!r} is held by task {existing.task_id}, an "
                "UploadFile not finished: send that UploadFile again to finish it, or cancel "
                "the task",
                task_id=existing.task_id,
                reason=Reason.STORE_PATH_TAKEN,
            )
        if spec.size_deferred or existing.size_deferred:
            raise Conflict(
                f"store_path {existing.store_path!r} is already being uploaded by task "
                f"{existing.task_id} ({existing.state}); a task whose size is not known yet "
                "is never resumed by a declaration (nothing says it is the same stream): "
                "continue that task by its id, or cancel it",
                task_id=existing.task_id,
                reason=Reason.STORE_PATH_TAKEN,
            )
        if sha256 is None:
            raise Conflict(
                f"store_path {existing.store_path!r} is already being uploaded by task "
                f"{existing.task_id} ({existing.state}); a declaration without sha256 does not "
                "resume it: continue that task by its id, or cancel it",
                task_id=existing.task_id,
                reason=Reason.STORE_PATH_TAKEN,
            )
        same = existing.size == spec.size and existing.sha256 == sha256
        if not same:
            raise Conflict(
                f"store_path {existing.store_path!r} is already being uploaded by task "
                f"{existing.task_id} ({existing.state}) for a different file; cancel it or "
                "choose another store_path",
                task_id=existing.task_id,
                reason=Reason.STORE_PATH_TAKEN,
            )
        log.info("task %s resumed by a new CreateTask", existing.task_id,
                 extra=about(existing.task_id, existing.principal))  # fmt: skip
        return existing

    def _validate_spec(self, spec: TaskSpec) -> None:
        limits = self._limits
        if not spec.file_name:
            raise InvalidArgument("file_name is empty", field="file_name")
        if len(spec.file_name.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME_BYTES:
            raise InvalidArgument(
                f"file_name is longer than {MAX_FILE_NAME_BYTES} bytes", field="file_name"
            )
        problem = printable_problem("file_name", spec.file_name)
        if problem is not None:
            raise InvalidArgument(problem, field="file_name")
        if spec.size < 0:
            raise InvalidArgument("size must not be negative", field="size")
        if spec.size_deferred and spec.size:
            raise InvalidArgument(
                f"size is {spec.size} but size_deferred says it is not known yet: set one",
                field="size",
            )
        if spec.max_size and not spec.size_deferred:
            raise InvalidArgument(
                "max_size is only for a task whose size is deferred; give size instead",
                field="max_size",
            )
        if spec.max_size > limits.max_file_size:
            raise OutOfRange(
                f"max_size {spec.max_size} exceeds this server's maximum file size of "
                f"{limits.max_file_size} bytes",
                reason=Reason.FILE_TOO_LARGE,
                field="max_size",
                facts={"limitBytes": limits.max_file_size},
            )
        if spec.size > limits.max_file_size:
            raise OutOfRange(
                f"size {spec.size} exceeds this server's maximum file size of "
                f"{limits.max_file_size} bytes",
                reason=Reason.FILE_TOO_LARGE,
                field="size",
                facts={"limitBytes": limits.max_file_size},
            )
        if spec.sha256 and not _SHA256_HEX.fullmatch(spec.sha256):
            raise InvalidArgument("sha256 must be 64 hexadecimal digits (or empty)", field="sha256")
        if spec.block_size:
            bounds = {
                "minBlockSizeBytes": limits.min_block_size,
                "maxBlockSizeBytes": limits.max_block_size,
                "blockAlignmentBytes": limits.block_alignment,
            }
            if not limits.min_block_size <= spec.block_size <= limits.max_block_size:
                raise InvalidArgument(
                    f"block_size {spec.block_size} is outside this server's bounds "
                    f"[{limits.min_block_size}, {limits.max_block_size}]",
                    reason=Reason.INVALID_BLOCK_SIZE,
                    field="block_size",
                    facts=bounds,
                )
            if spec.block_size % limits.block_alignment:
                raise InvalidArgument(
                    f"block_size {spec.block_size} is not a multiple of {limits.block_alignment}",
                    reason=Reason.INVALID_BLOCK_SIZE,
                    field="block_size",
                    facts=bounds,
                )
        if len(spec.metadata) > MAX_METADATA_ENTRIES:
            raise InvalidArgument(
                f"metadata has more than {MAX_METADATA_ENTRIES} entries", field="metadata"
            )
        meta_bytes = sum(len(k.encode()) + len(v.encode()) for k, v in spec.metadata.items())
        if meta_bytes > MAX_METADATA_BYTES:
            raise InvalidArgument(
                f"metadata is larger than {MAX_METADATA_BYTES} bytes", field="metadata"
            )

    # -- IssueUploadToken ------------------------------------------------------------------

    def issue_upload_token(
        self, task_id: str, caller: Caller, *, ttl_seconds: float = 0
    ) -> tuple[str, datetime]:
        """A fresh upload token for the caller's own active task, valid ``ttl_seconds`` (0 or
        more than the server allows: the server's limit); and when it expires. Only its
        SHA-256 is stored."""
        caller.require(Permission.CREATE, "issue upload tokens")
        if caller.task_id is not None:
            raise PermissionDenied(
                "an upload token cannot issue upload tokens; ask whoever created the task"
            )
        if ttl_seconds < 0:
            raise InvalidArgument("ttl_seconds must not be negative", field="ttl_seconds")
        task = self._visible(task_id, caller)
        if task.state not in ACTIVE_STATES:
            raise not_uploading(
                task.task_id, task.state, f"task {task.task_id} is {task.state}; it takes no "
                "uploads, so it gets no upload token",
            )  # fmt: skip
        limit = self._limits.upload_token_ttl
        ttl = min(timedelta(seconds=ttl_seconds), limit) if ttl_seconds else limit
        token, digest = new_upload_token()
        now = self._clock()
        self._repo.insert_upload_token(digest, task.task_id, task.principal, now, now + ttl)
        log.info("task %s: upload token issued, valid %ds", task.task_id, ttl.total_seconds(),
                 extra=about(task.task_id, task.principal))  # fmt: skip
        return token, now + ttl

    # -- SetState --------------------------------------------------------------------------

    def set_state(self, task_id: str, target: TaskState, caller: Caller) -> Task:
        """Pause, resume or cancel the task: the caller's own, or any for an operator."""
        caller.require_any((Permission.CONTROL, Permission.OPERATOR), "pause, resume or cancel")
        self._visible(task_id, caller, as_operator=True)
        if target not in SETTABLE_STATES:
            raise InvalidArgument(
                f"cannot set state {target}: choose UPLOADING (resume), PAUSED or CANCELED",
                field="state",
            )
        for _ in range(5):
            task = self._load(task_id)
            if task.state == target:
                return task
            if not can_transition(task.state, target):
                raise IllegalState(
                    f"task {task.task_id} is {task.state}; it cannot become {target}",
                    task_id=task.task_id,
                    reason=Reason.ILLEGAL_TRANSITION,
                    facts={"state": task.state, "targetState": target},
                )
            now = self._clock()
            notice = self._notice(task) if target.is_terminal else None
            if self._repo.change_state(
                task.task_id,
                task.state,
                target,
                now,
                expires_at=now + self._limits.task_ttl,
                notice=notice,
            ):
                if target == TaskState.CANCELED:
                    self._hasher.forget(task.task_id)
                    self._store.discard(task.task_id)
                log.info("task %s %s -> %s", task.task_id, task.state, target,
                         extra=about(task.task_id, task.principal))  # fmt: skip
                return self._load(task.task_id)
            current = self._load(task.task_id)
            if current.state == task.state:
                # Unchanged state yet the update lost: a merge holds the lease.
                raise IllegalState(
                    f"task {task.task_id} is being merged; its state cannot change",
                    task_id=task.task_id,
                    reason=Reason.TASK_MERGING,
                )
        raise Busy(
            f"task {task_id} changed state concurrently; retry",
            task_id=task_id,
        )

    # -- Expiry ----------------------------------------------------------------------------

    def expire_idle(self) -> int:
        """Expire active tasks idle past their deadline, and forget upload tokens long
        expired; return how many tasks expired."""
        now = self._clock()
        self._repo.purge_upload_tokens(now - _EXPIRED_TOKEN_KEPT)
        expired = 0
        # Each task's principal and webhook come with the query that finds it: no row is read
        # per task, and none at all when no webhook applies.
        for expiring in self._repo.expirable(now, limit=500):
            task_id, state = expiring.task_id, expiring.state
            notice = self._notice(expiring)
            if self._repo.change_state(task_id, state, TaskState.EXPIRED, now, notice=notice):
                self._hasher.forget(task_id)
                self._store.discard(task_id)
                log.info("task %s %s -> EXPIRED (idle past its deadline)", task_id, state,
                         extra=about(task_id))  # fmt: skip
                expired += 1
        return expired

    # -- UploadParts -----------------------------------------------------------------------

    def _check_reserve(self, length: int) -> None:
        """Refuse a block that would eat into the disk's reserve (space other programs, the
        database or the assembly need), whatever was reserved at CreateTask."""
        reserve = self._limits.quotas.disk_reserve
        if not reserve:
            return
        free = self._store.free_bytes()
        if free - length < reserve:
            raise StorageFull(
                f"the staging filesystem has {free} bytes free; a block of {length} would leave "
                f"less than the {reserve} bytes kept free (--disk-reserve): retry later",
                facts={"requestedBytes": length},
            )

    def open_receiver(self, caller: Caller) -> BlockReceiver:
        """A receiver for one UploadParts stream of ``caller``; close it when the stream
        ends."""
        caller.require(Permission.UPLOAD, "upload blocks")
        receiver = BlockReceiver(self, caller)
        self._metrics.stream_opened()
        return receiver

    def _commit(self, task: Task, index: int, length: int, crc: int, attempt: str) -> CommitOutcome:
        """Race this attempt's durable file to be block ``index``'s bytes: one SQL transaction,
        the first insert wins. The winner then lands the block (``_land``) before its ack."""
        task_id = task.task_id
        now = self._clock()
        outcome = self._repo.commit_block(BlockCommit(task_id, index, length, crc, attempt, now))
        if outcome is CommitOutcome.NOT_UPLOADING or outcome is CommitOutcome.GONE:
            raise self._not_committed(task_id, index)
        return outcome

    def _land(self, task: Task, block: CommittedBlock) -> None:
        """Store a block this replica just committed where Merge will find it, and record the
        store's receipt, before it is acknowledged (the object store: upload it as its part,
        record the ETag); then tell the assembler. A failure here leaves the block committed
        without a receipt: a retry of the block lands it again from this replica's spool, or
        the sweeper adopts or reverts it (docs/design.md, "Object store")."""
        if self._store.lands_blocks:
            assert block.attempt is not None
            self._fault("block-before-land")
            try:
                receipt = self._store.land_block(task.task_id, block)
            except StagingMissing as exc:
                # Canceled, expired or merged meanwhile: the upload is gone.
                raise self._not_committed(task.task_id, block.index) from exc
            self._fault("block-before-receipt")
            if receipt is not None:
                if not self._repo.record_receipt(task.task_id, block.index, block.attempt, receipt):
                    raise self._not_committed(task.task_id, block.index)
                block = replace(block, receipt=receipt)
        self._hasher.block_committed(task, block)

    def _await_landing(self, task_id: str, index: int, deadline_seconds: float) -> None:
        """A block another attempt committed but whose receipt is not recorded yet: land it
        from this replica's spool if it is here (a retry after a failed landing), else wait
        for its lander; Busy if neither happens in time."""
        deadline = time.monotonic() + deadline_seconds
        while True:
            found = self._repo.committed_blocks(task_id, index, 1)
            if not found or found[0].index != index:
                raise Busy(
                    f"block {index} of task {task_id} was un-committed meanwhile (its bytes "
                    "never reached the store); send it again",
                    task_id=task_id,
                )
            block = found[0]
            if block.receipt is not None:
                return
            try:
                receipt = self._store.land_block(task_id, block, again=True)
            except StagingMissing:
                receipt = None  # another replica spooled it: wait for its lander
            if receipt is not None and block.attempt is not None:
                self._repo.record_receipt(task_id, index, block.attempt, receipt)
                continue
            if time.monotonic() >= deadline:
                raise Busy(
                    f"block {index} of task {task_id} is committed and still being stored by "
                    "another replica; send it again shortly",
                    task_id=task_id,
                )
            time.sleep(_MERGE_POLL_SECONDS)

    def _not_committed(self, task_id: str, index: int) -> IllegalState:
        current = self._repo.get(task_id)
        state = current.state if current else "gone"
        return not_uploading(
            task_id,
            state,
            f"task {task_id} is {state}; block {index} was not committed"
            + (": resume the task and send it again" if state == TaskState.PAUSED else ""),
        )

    def _touch(self, task_id: str, now: datetime) -> None:
        """Push the task's deadline on activity, at most once per interval per replica: a
        block commit itself never writes the task row."""
        interval = min(_TOUCH_INTERVAL, self._limits.task_ttl / 4)
        with self._touched_lock:
            last = self._touched.get(task_id)
            if last is not None and now - last < interval:
                return
            if len(self._touched) > 100_000:
                self._touched.clear()
            self._touched[task_id] = now
        self._repo.touch(task_id, now, now + self._limits.task_ttl)

    # -- Storage sweep ---------------------------------------------------------------------

    def sweep_storage(self) -> int:
        """Delete orphaned attempt files and the staging of terminal or unknown tasks, one
        bounded batch per call, on one replica at a time; return how many were deleted."""
        now = self._clock()
        removed = self._sweep_local()
        lease = self._limits.orphan_age / 2
        if not self._repo.acquire_named_lease(_SWEEPER_LEASE, self._replica_id, now, now + lease):
            return removed
        if self._store.lands_blocks:
            removed += self._sweep_unlanded(now)
        batch = self._limits.sweep_batch
        entries = self._store.staged_tasks(self._sweep_cursor, batch)
        self._sweep_cursor = entries[-1].task_id if len(entries) == batch else ""
        states = self._repo.task_states([entry.task_id for entry in entries])
        orphan_age = self._limits.orphan_age.total_seconds()
        for entry in entries:
            state = states.get(entry.task_id)
            if state is None and entry.age < orphan_age:
                continue  # CreateTask stages before it inserts the task's row
            if state is None or state.is_terminal:
                self._store.discard(entry.task_id)
                removed += 1
                continue
            old = [(index, attempt) for index, attempt, age in entry.attempts if age > orphan_age]
            if not old:
                continue
            promoted = {(b.index, b.attempt) for b in self._repo.committed_blocks(entry.task_id)}
            for index, attempt in old:
                if (index, attempt) not in promoted:
                    self._store.discard_attempt(entry.task_id, index, attempt)
                    removed += 1
        if removed:
            log.info(
                "storage sweep: deleted %d orphaned attempt files or terminal tasks' staging "
                "(%d tasks looked at)", removed, len(entries),
            )  # fmt: skip
        return removed

    # -- Retention -------------------------------------------------------------------------

    def apply_retention(self) -> tuple[int, int]:
        """Purge ended tasks' block rows and delete ended tasks older than the retention, in
        bounded batches, on one replica at a time; return (block rows, task rows) deleted."""
        now = self._clock()
        if not self._repo.acquire_named_lease(
            _RETENTION_LEASE, self._replica_id, now, now + _RETENTION_LEASE_LENGTH
        ):
            return 0, 0
        rows = self._repo.purge_ended_blocks(_PURGE_TASKS, _PURGE_ROWS)
        tasks = self._repo.delete_ended(now - self._limits.retention, _DELETE_TASKS)
        if rows or tasks:
            cutoff = (now - self._limits.retention).isoformat()
            log.info("retention: deleted %d block rows of ended tasks and %d tasks ended "
                     "before %s", rows, tasks, cutoff)  # fmt: skip
        return rows, tasks

    def _sweep_local(self) -> int:
        """This replica's own leftovers (spool files of attempts that lost, ended or crashed),
        keeping those of committed blocks still waiting for their landing."""

        def keep(task_id: str, index: int, attempt: str) -> bool:
            found = self._repo.committed_blocks(task_id, index, 1)
            return bool(found) and found[0].attempt == attempt and found[0].receipt is None

        removed = self._store.sweep_local(self._limits.orphan_age.total_seconds(), keep)
        if removed:
            log.info("storage sweep: deleted %d of this replica's spool files", removed)
        return removed

    def _sweep_unlanded(self, now: datetime) -> int:
        """Blocks committed longer than the orphan age ago without a receipt: their lander
        died or gave up. Adopt the part if the store holds it, land it from the spool if this
        replica has it, else revert the block to missing so that the client sends it again."""
        reverted = 0
        for task_id, block in self._repo.unlanded_blocks(now - self._limits.orphan_age, 1000):
            assert block.attempt is not None
            try:
                receipt = self._store.land_block(task_id, block, again=True)
            except StagingMissing:
                receipt = None
            if receipt is not None:
                self._repo.record_receipt(task_id, block.index, block.attempt, receipt)
                log.info("task %s: block %d landed by the sweeper", task_id, block.index,
                         extra=about(task_id))  # fmt: skip
            elif self._repo.revert_unlanded(task_id, block.index, block.attempt):
                reverted += 1
                log.warning(
                    "task %s: block %d was committed but never stored; it is missing again",
                    task_id, block.index, extra=about(task_id),
                )  # fmt: skip
        return reverted

    # -- Merge -----------------------------------------------------------------------------

    def merge(
        self,
        task_id: str,
        caller: Caller,
        *,
        wait_seconds: float,
        sha256: str = "",
        size: int | None = None,
    ) -> Task:
        """Verify and publish the task's file; idempotent. Waits up to ``wait_seconds`` for a
        merge already running elsewhere (taking it over if its lease goes stale) before
        answering Busy.

        ``sha256`` is the whole-file hash to verify against when the task was declared
        without one (the client hashed while uploading); if both exist they must agree.
        ``size`` fixes the size of a task declared with its size deferred (required there);
        for any other task it must equal the known size.
        """
        caller.require(Permission.UPLOAD, "merge tasks")
        self._visible(task_id, caller)
        started = time.monotonic()
        try:
            return self._merge(task_id, wait_seconds=wait_seconds, sha256=sha256, size=size)
        finally:
            self._metrics.merge_finished(time.monotonic() - started)

    def _merge(self, task_id: str, *, wait_seconds: float, sha256: str, size: int | None) -> Task:
        task = self._load(task_id)
        expected = self._expected_sha256(task, sha256)
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            if size is not None and not task.size_deferred and size != task.size:
                raise InvalidArgument(
                    f"task {task.task_id} is {task.size} bytes, not {size}: this is not the same "
                    "file",
                    task_id=task.task_id,
                    reason=Reason.SIZE_MISMATCH,
                    field="size",
                    facts={"sizeBytes": task.size},
                )
            if task.state == TaskState.COMPLETED:
                return task
            if task.state == TaskState.FAILED:
                raise _task_failed(task)
            if task.state != TaskState.UPLOADING:
                raise not_uploading(
                    task.task_id,
                    task.state,
                    f"task {task.task_id} is {task.state}; only UPLOADING tasks merge",
                )
            if task.size_deferred:
                task = self._fix_size(task, size)
                continue
            missing = missing_ranges(task.block_count, self._repo.committed_indices(task.task_id))
            if missing:
                count = sum(r.end - r.start for r in missing)
                raise BlocksMissing(
                    f"task {task.task_id} cannot merge: {count} of {task.block_count} blocks "
                    f"missing (blocks {describe_ranges(missing)}); upload them first",
                    task_id=task.task_id,
                    missing=missing,
                    block_count=task.block_count,
                )
            token = secrets.token_hex(6)
            owner = f"{self._replica_id}:{token}"
            now = self._clock()
            if self._repo.acquire_merge_lease(
                task.task_id, owner, now, now + self._limits.merge_lease
            ):
                lease = _MergeLease(self._repo, task.task_id, owner, self._limits.merge_lease,
                                    self._clock)  # fmt: skip
                try:
                    return self._merge_owned(task, lease, f"merge.{token}", expected)
                finally:
                    lease.stop()
                    # A no-op once the merge finished; frees the task if it did not.
                    self._repo.release_merge_lease(task.task_id, owner)
            if time.monotonic() >= deadline:
                raise Busy(
                    f"task {task_id} is being merged by another call; retry shortly",
                    task_id=task.task_id,
                    reason=Reason.MERGE_IN_PROGRESS,
                )
            # The caller may have gone, or its deadline passed, while this waited.
            check_call()
            time.sleep(_MERGE_POLL_SECONDS)
            task = self._load(task_id)

    def _fix_size(self, task: Task, size: int | None) -> Task:
        """Fix a deferred size at Merge (the blocks must add up to it); the task as it is now."""
        if size is None:
            raise InvalidArgument(
                f"task {task.task_id} was declared without its size: Merge must give it",
                task_id=task.task_id,
                field="size",
            )
        if size > task.max_size:
            raise OutOfRange(
                f"size {size} exceeds task {task.task_id}'s max_size of {task.max_size} bytes",
                task_id=task.task_id,
                reason=Reason.FILE_TOO_LARGE,
                field="size",
                facts={"limitBytes": task.max_size},
            )
        count = block_count(size, task.block_size)
        missing = missing_ranges(count, self._repo.committed_indices(task.task_id))
        if missing:
            raise BlocksMissing(
                f"task {task.task_id} cannot merge {size} bytes: blocks "
                f"{describe_ranges(missing)} of {count} are missing; upload them first",
                task_id=task.task_id,
                missing=missing,
                block_count=count,
            )
        fix = self._repo.fix_size(task.task_id, size, self._clock())
        if fix.misfit is not None:
            index, length = fix.misfit
            raise InvalidArgument(
                f"task {task.task_id} cannot be {size} bytes: its committed block {index} is "
                f"{length} bytes long (blocks are {task.block_size} bytes, the last one ends at "
                "the size); the stream sent is not the one declared: cancel the task",
                task_id=task.task_id,
                reason=Reason.SIZE_MISMATCH,
                field="size",
                facts={"sizeBytes": size, "blockIndex": index, "blockLengthBytes": length},
            )
        if fix.fixed:
            log.info("task %s: size fixed at %d bytes (%d blocks)", task.task_id, size, count,
                     extra=about(task.task_id, task.principal))  # fmt: skip
        # Fixed by this call or by a concurrent Merge, or its state changed: read it again.
        return self._load(task.task_id)

    @staticmethod
    def _expected_sha256(task: Task, given: str) -> str | None:
        if not given:
            return task.sha256
        if not _SHA256_HEX.fullmatch(given):
            raise InvalidArgument("sha256 must be 64 hexadecimal digits (or empty)", field="sha256")
        given = given.lower()
        if task.sha256 is not None and task.sha256 != given:
            word = "completed with" if task.state == TaskState.COMPLETED else "declared"
            raise InvalidArgument(
                f"task {task.task_id} {word} sha256 {task.sha256}, not {given}; "
                "this is not the same file",
                task_id=task.task_id,
                reason=Reason.SHA256_CONFLICT,
                field="sha256",
            )
        return given

    def _merge_owned(self, task: Task, lease: _MergeLease, name: str, expected: str | None) -> Task:
        started = time.monotonic()
        task_id = task.task_id
        self._store.check_destination(task.store_path)
        # Fence: a former holder whose lease went stale (a crash, a long stall) publishes only
        # by renaming its own merge file; removing it means that holder can never publish.
        fenced = self._store.fence_merges(task_id, keep=name)
        if fenced:
            log.info("task %s: took over its merge; fenced off %d former merge file(s)",
                     task_id, fenced, extra=about(task_id, task.principal))  # fmt: skip
        published = False
        if self._store.has_staging(task_id):
            try:
                self._seal(task, lease)
                digest = self._hasher.finish(task, name)
            except StagingMissing as exc:
                raise IllegalState(
                    f"task {task_id} has lost the staged bytes of a committed block ({exc}); "
                    "on the filesystem run ferry fsck --repair, then upload the missing blocks "
                    "again",
                    task_id=task_id,
                    reason=Reason.STAGING_LOST,
                ) from exc
        elif expected is not None and self._store.destination_exists(task.store_path):
            # A layout-1 merge (before the upgrade) moved the shared file into place, then died
            # before recording it. Only a known hash can say that file is this task's.
            digest = self._hash(self._store.read_published(task.store_path))
            published = True
        else:
            raise IllegalState(
                f"task {task_id} has lost its staged bytes; upload it again",
                task_id=task_id,
                reason=Reason.STAGING_LOST,
            )
        if expected is not None and digest != expected:
            reason = f"whole-file SHA-256 mismatch: declared {expected}, received {digest}"
            if not self._repo.finish_merge(
                task_id,
                lease.owner,
                TaskState.FAILED,
                self._clock(),
                failure_reason=reason,
                notice=self._notice(task),
            ):
                return self._merge_taken_over(task_id)
            self._hasher.forget(task_id)
            self._store.discard(task_id)
            log.warning("task %s FAILED: %s", task_id, reason,
                        extra=about(task_id, task.principal))  # fmt: skip
            raise IntegrityFailure(
                f"task {task_id} failed: {reason}",
                task_id=task_id,
                facts={"expectedSha256": expected, "receivedSha256": digest},
            )
        if not lease.confirm():
            return self._merge_taken_over(task_id)
        self._fault("merge-before-publish")
        if not published:
            self._publish(task, name, digest)
        self._fault("merge-after-publish")
        if not self._repo.finish_merge(
            task_id,
            lease.owner,
            TaskState.COMPLETED,
            self._clock(),
            sha256=digest,
            notice=self._notice(task),
        ):
            return self._merge_taken_over(task_id)
        self._fault("merge-after-record")
        self._hasher.forget(task_id)
        self._store.discard(task_id)
        log.info(
            "task %s COMPLETED: %s published (%d bytes, sha256 %s) in %.3fs",
            task_id, shown(task.store_path), task.size, digest, time.monotonic() - started,
            extra=about(task_id, task.principal),
        )  # fmt: skip
        return self._load(task_id)

    def _seal(self, task: Task, lease: _MergeLease) -> None:
        """Have the store check and join the committed blocks (the object store: ListParts
        against the recorded ETags, then completion into the staging object). Bytes that are
        not as acknowledged fail the task: nothing is published."""
        task_id = task.task_id
        try:
            self._store.seal(task_id, self._repo.committed_blocks(task_id))
        except BlocksNotLanded as exc:
            raise Busy(
                f"task {task_id}: {exc}; their upload to the store is still running or was cut "
                "short (they are stored or become missing again within the orphan age); "
                "merge again shortly",
                task_id=task_id,
                reason=Reason.MERGE_IN_PROGRESS,
            ) from exc
        except IntegrityFailure as exc:
            if self._repo.finish_merge(
                task_id,
                lease.owner,
                TaskState.FAILED,
                self._clock(),
                failure_reason=exc.message,
                notice=self._notice(task),
            ):
                self._hasher.forget(task_id)
                self._store.discard(task_id)
                log.warning("task %s FAILED: %s", task_id, exc.message,
                            extra=about(task_id, task.principal))  # fmt: skip
            raise IntegrityFailure(
                f"task {task_id} failed: {exc.message}; nothing was published",
                task_id=task_id,
                reason=exc.reason,
                facts=exc.facts,
            ) from exc

    def _publish(self, task: Task, name: str, digest: str) -> None:
        try:
            self._store.publish(task.task_id, name, task.store_path, overwrite=task.overwrite)
        except DestinationExists as exc:
            # A former merger of this task may have published these very bytes and died
            # before recording it; anything else in the way is a conflict.
            if self._hash(self._store.read_published(task.store_path)) == digest:
                return
            raise Conflict(
                f"a file appeared at store_path {task.store_path!r} and overwrite is off; "
                "move it away and merge again",
                task_id=task.task_id,
                reason=Reason.DESTINATION_EXISTS,
            ) from exc
        except StagingMissing as exc:
            raise Busy(
                f"task {task.task_id}: another replica took this merge over; merge again",
                task_id=task.task_id,
                reason=Reason.MERGE_IN_PROGRESS,
            ) from exc

    def _merge_taken_over(self, task_id: str) -> Task:
        """This merge lost its lease: answer what the taker decided, never OK otherwise."""
        current = self._load(task_id)
        if current.state == TaskState.COMPLETED:
            return current
        if current.state == TaskState.FAILED:
            raise _task_failed(current)
        raise Busy(
            f"task {task_id}: this merge lost its lease to another; merge again",
            task_id=task_id,
            reason=Reason.MERGE_IN_PROGRESS,
        )

    @staticmethod
    def _hash(chunks: Iterable[bytes]) -> str:
        sha = hashlib.sha256()
        for chunk in chunks:
            sha.update(chunk)
        return sha.hexdigest()

    # -- UploadFile ------------------------------------------------------------------------

    def upload_file(
        self, spec: TaskSpec, data: bytes, crc32c: int | None, caller: Caller
    ) -> tuple[Task, bool]:
        """Declare, verify and publish a whole small file in one request; idempotent.

        Returns the completed task and whether the same bytes were already published (then
        nothing was written).
        """
        limit = self._limits.max_message_data
        if len(data) > limit:
            raise InvalidArgument(
                f"UploadFile takes at most {limit} bytes; upload larger files in blocks",
                reason=Reason.DATA_TOO_LARGE,
                field="data",
                facts={"limitBytes": limit},
            )
        if crc32c is None:
            raise InvalidArgument("crc32c is required: the CRC32C of data", field="crc32c")
        spec, store_path = self._authorize_declaration(spec, caller)
        received = google_crc32c.value(data)
        if received != crc32c:
            raise Corrupted(
                f"data does not match its CRC32C (declared {crc32c:08x}, received "
                f"{received:08x}): it was damaged in transit; send it again"
            )
        digest = hashlib.sha256(data).hexdigest()
        if spec.sha256 and spec.sha256.lower() != digest:
            raise IntegrityFailure(
                f"whole-file SHA-256 mismatch: declared {spec.sha256.lower()}, received "
                f"{digest}; nothing was published",
                facts={"expectedSha256": spec.sha256.lower(), "receivedSha256": digest},
            )
        self._store.check_destination(store_path)
        # Two attempts: a concurrent creator may win the store_path between our look and insert.
        for _ in range(2):
            active = self._repo.find_active(store_path)
            if active is not None and active.principal != spec.principal:
                raise _taken_by_another(store_path)
            if active is not None:
                if self._is_unfinished_upload_file(active, spec, len(data), digest):
                    return self._take_over_upload_file(active, data, digest), False
                raise Conflict(
                    f"store_path {store_path!r} is being uploaded by task {active.task_id} "
                    f"({active.state}); cancel it or choose another store_path",
                    task_id=active.task_id,
                    reason=Reason.STORE_PATH_TAKEN,
                )
            if not spec.overwrite and self._store.destination_exists(store_path):
                if self._hash(self._store.read_published(store_path)) != digest:
                    raise Conflict(
                        f"a different file already exists at store_path {store_path!r}; "
                        "ask for overwrite to replace it",
                        reason=Reason.DESTINATION_EXISTS,
                    )
                # The same bytes are already there: a retry whose reply was lost.
                previous = self._repo.latest_completed(store_path)
                # Another principal's task that published the same bytes is not returned:
                # the caller gets a record of its own.
                ours = previous is not None and previous.principal == spec.principal
                if previous is not None and ours and previous.sha256 == digest:
                    return previous, True
                return self._record_completed(spec, store_path, data, digest), True
            now = self._clock()
            new = self._new_upload_file_task(spec, store_path, data, digest, now)
            owner = f"{self._replica_id}:{secrets.token_hex(6)}"
            # The task is recorded, holding the store_path and the merge lease, before its bytes
            # can appear there: a failed record publishes nothing, and a crash after it leaves
            # a task that a retry with the same bytes finishes (_take_over_upload_file).
            try:
                self._repo.insert(new, lease=(owner, now + self._limits.merge_lease))
            except ActiveTaskExists:
                continue
            task = new.as_task(TaskState.UPLOADING, sha256=digest, committed_bytes=0)
            self._publish_upload_file(task, owner, data, digest)
            return self._load(task.task_id), False
        raise Busy(f"store_path {store_path!r} is being declared concurrently; retry")

    @staticmethod
    def _is_unfinished_upload_file(task: Task, spec: TaskSpec, size: int, digest: str) -> bool:
        """Whether ``task`` is an UploadFile of these very bytes, recorded but never finished
        (its server died or failed between recording and completing it)."""
        return (
            task.state == TaskState.UPLOADING
            and task.staging_layout == LAYOUT_WHOLE
            and task.sha256 == digest
            and task.size == size
            and task.principal == spec.principal
            and task.overwrite == spec.overwrite
        )

    def _take_over_upload_file(self, task: Task, data: bytes, digest: str) -> Task:
        """Finish an unfinished UploadFile of the same bytes: stage them again and publish."""
        owner = f"{self._replica_id}:{secrets.token_hex(6)}"
        now = self._clock()
        if not self._repo.acquire_merge_lease(
            task.task_id, owner, now, now + self._limits.merge_lease
        ):
            raise Busy(
                f"task {task.task_id} (this file) is being published by another call; "
                "retry shortly",
                task_id=task.task_id,
                reason=Reason.MERGE_IN_PROGRESS,
            )
        log.info("task %s: an unfinished UploadFile of the same bytes, finishing it",
                 task.task_id, extra=about(task.task_id, task.principal))  # fmt: skip
        self._publish_upload_file(task, owner, data, digest)
        return self._load(task.task_id)

    def _publish_upload_file(self, task: Task, owner: str, data: bytes, digest: str) -> None:
        """Stage, publish and complete the recorded UPLOADING ``task`` whose lease ``owner``
        holds; on failure the task stays recorded (lease released) for a retry to finish."""
        task_id = task.task_id
        try:
            # A crashed attempt may have left its staging behind.
            self._store.discard(task_id)
            name = self._store.write_whole(task_id, data)
            try:
                self._fault("upload-file-before-publish")
                self._publish(task, name, digest)
            except Conflict:
                reason = f"a different file appeared at store_path {task.store_path!r}"
                self._repo.finish_merge(
                    task_id,
                    owner,
                    TaskState.FAILED,
                    self._clock(),
                    failure_reason=reason,
                    notice=self._notice(task),
                )
                raise
            finally:
                self._store.discard(task_id)
            self._fault("upload-file-after-publish")
        except BaseException:
            # If releasing fails too, the original error stays attached as its context.
            self._repo.release_merge_lease(task_id, owner)
            raise
        _, blocks = self._upload_file_blocks(data)
        if not self._repo.complete_whole(
            task_id, owner, self._clock(), digest, blocks, notice=self._notice(task)
        ):
            self._merge_taken_over(task_id)
            return
        log.info(
            "task %s COMPLETED in one request: %s published (%d bytes, sha256 %s)",
            task_id, shown(task.store_path), len(data), digest,
            extra=about(task_id, task.principal),
        )  # fmt: skip

    def _upload_file_blocks(self, data: bytes) -> tuple[int, list[tuple[int, int, int]]]:
        """One block holding the whole file, as far as the server's bounds allow: the block
        size and the blocks as (index, length, crc32c)."""
        limits = self._limits
        aligned = -(-len(data) // limits.block_alignment) * limits.block_alignment
        block_size = min(max(aligned, limits.min_block_size), limits.max_block_size)
        blocks = [
            (index, len(block), google_crc32c.value(block))
            for index, block in enumerate(
                data[start : start + block_size] for start in range(0, len(data), block_size)
            )
        ]
        return block_size, blocks

    def _new_upload_file_task(
        self,
        spec: TaskSpec,
        store_path: str,
        data: bytes,
        digest: str,
        now: datetime,
    ) -> NewTask:
        block_size, blocks = self._upload_file_blocks(data)
        return NewTask(
            task_id=secrets.token_hex(16),
            principal=spec.principal,
            file_name=spec.file_name,
            size=len(data),
            sha256=digest,
            store_path=store_path,
            metadata=dict(spec.metadata),
            block_size=block_size,
            block_count=len(blocks),
            overwrite=spec.overwrite,
            now=now,
            expires_at=now + self._limits.task_ttl,
            staging_layout=LAYOUT_WHOLE,
            webhook_url=spec.webhook_url,
        )

    def _record_completed(self, spec: TaskSpec, store_path: str, data: bytes, digest: str) -> Task:
        """Record the COMPLETED task of bytes found already published (a lost reply)."""
        now = self._clock()
        new = replace(
            self._new_upload_file_task(spec, store_path, data, digest, now), expires_at=now
        )
        _, blocks = self._upload_file_blocks(data)
        self._repo.insert_completed(new, digest, blocks, notice=self._notice(new))
        log.info(
            "task %s COMPLETED in one request: %s found published (%d bytes, sha256 %s)",
            new.task_id, shown(store_path), len(data), digest,
            extra=about(new.task_id, new.principal),
        )  # fmt: skip
        return new.as_task(TaskState.COMPLETED, sha256=digest, committed_bytes=new.size)


class _MergeLease:
    """A merge lease held by this call, renewed in the background while the merge works.

    Renewal stops with the process (a crash, SIGSTOP): the lease then goes stale within its
    length and another replica takes the merge over.
    """

    def __init__(
        self,
        repository: TaskRepository,
        task_id: str,
        owner: str,
        length: timedelta,
        clock: Clock,
    ) -> None:
        self.owner = owner
        self._repo = repository
        self._task_id = task_id
        self._length = length
        self._clock = clock
        self._lost = threading.Event()
        self._stopped = threading.Event()
        self._renewed_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="ferry-merge-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> bool:
        if self._lost.is_set():
            return False
        started = time.monotonic()
        if self._repo.renew_merge_lease(self._task_id, self.owner, self._clock() + self._length):
            self._renewed_at = started
            return True
        self._lost.set()
        return False

    def _run(self) -> None:
        while not self._stopped.wait(self._length.total_seconds() / 3):
            try:
                if not self._renew():
                    log.warning("task %s: merge lease %s lost", self._task_id, self.owner,
                                extra=about(self._task_id))  # fmt: skip
                    return
            except Exception as exc:
                # The database may be briefly unreachable: confirm() decides before publishing.
                log.warning("task %s: cannot renew merge lease: %s", self._task_id, exc,
                            extra=about(self._task_id))  # fmt: skip

    def confirm(self) -> bool:
        """Whether this call still holds the lease, renewing it unless that was done within
        the last third of its length (then at least two thirds of it are left; and a holder
        stalled past it is fenced off anyway: this only finds out early)."""
        if self._lost.is_set():
            return False
        if time.monotonic() - self._renewed_at < self._length.total_seconds() / 3:
            return True
        return self._renew()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


@dataclass(slots=True)
class _Block:
    task_id: str
    index: int
    length: int
    received: int
    crc: int
    #: This stream's attempt (its private file); None when the block was committed before the
    #: stream began: its bytes are then only compared with the committed CRC32C.
    attempt: str | None
    writer: AttemptWriter | None
    committed_crc: int | None = field(default=None)
    #: The task's size is deferred: ``length`` is the most the block may hold, and the message
    #: carrying crc32c ends it.
    deferred: bool = False
    #: Whether the committed block (if any) had its receipt when the stream began.
    committed_landed: bool = field(default=False)


class BlockReceiver:
    """Receives the blocks of one UploadParts stream.

    Each block this stream sends is an attempt written to a file private to it; memory is one
    message. A block whose CRC32C checks is made durable and raced into SQL: the first attempt
    to commit a block wins and its file becomes the block's bytes. No stream waits for another
    and none can write over another's bytes.
    """

    def __init__(self, service: TransferService, caller: Caller) -> None:
        self._service = service
        self._caller = caller
        self._tasks: dict[str, Task] = {}
        self._block: _Block | None = None
        #: Principals this stream holds a stream slot of (see quotas.StreamSlots).
        self._principals: list[str] = []

    def receive(self, part: Part) -> BlockAck | None:
        """Take one message; return an acknowledgement when it completes a block."""
        limits = self._service.limits
        if len(part.data) > limits.max_message_data:
            raise InvalidArgument(
                f"a message carries {len(part.data)} data bytes; the limit is "
                f"{limits.max_message_data}",
                reason=Reason.DATA_TOO_LARGE,
                field="data",
                facts={"limitBytes": limits.max_message_data},
            )
        block = self._block
        if block is None or (block.task_id, block.index) != (part.task_id, part.block_index):
            if block is not None:
                raise InvalidArgument(
                    f"block {block.index} of task {block.task_id} stopped after {block.received} "
                    f"of {block.length} bytes: finish a block before starting another",
                    task_id=block.task_id,
                    reason=Reason.BLOCK_NOT_FINISHED,
                    field="block_index",
                    facts={
                        "blockIndex": block.index,
                        "receivedBytes": block.received,
                        "blockLengthBytes": block.length,
                    },
                )
            block = self._start(part)
        elif part.offset != block.received:
            raise InvalidArgument(
                f"block {block.index}: offset {part.offset} does not follow the "
                f"{block.received} bytes already received",
                task_id=block.task_id,
                reason=Reason.WRONG_OFFSET,
                field="offset",
                facts={
                    "blockIndex": block.index,
                    "expectedOffset": block.received,
                },
            )
        end = block.received + len(part.data)
        if end > block.length:
            raise OutOfRange(
                f"block {block.index} of task {block.task_id} is {block.length} bytes; "
                f"data reaches byte {end}",
                task_id=block.task_id,
                reason=Reason.DATA_PAST_BLOCK_END,
                field="data",
                facts={
                    "blockIndex": block.index,
                    "blockLengthBytes": block.length,
                },
            )
        if part.data:
            self._service._metrics.bytes_received(len(part.data))
            if block.writer is not None:
                block.writer.write(part.data)
            block.crc = google_crc32c.extend(block.crc, part.data)
            block.received = end
        if end < block.length and not (block.deferred and part.crc32c is not None):
            return None
        # A deferred size: the message carrying crc32c ends the block wherever it is.
        block.length = end
        return self._finish(block, part.crc32c)

    def _start(self, part: Part) -> _Block:
        service = self._service
        task = self._tasks.get(part.task_id)
        if task is None or task.size_deferred:
            # A deferred size may have been fixed since: its bounds are read again per block.
            task = service._visible(part.task_id, self._caller)
            if task.principal not in self._principals:
                try:
                    service.streams.acquire(task.principal)
                except QuotaExceeded as exc:
                    log.warning(
                        "UploadParts refused for principal %s: %s", shown(task.principal),
                        exc.message, extra=about(task.task_id, task.principal),
                    )  # fmt: skip
                    raise
                self._principals.append(task.principal)
            self._tasks[part.task_id] = task
        if not 0 <= part.block_index < task.block_count:
            raise OutOfRange(
                f"block index {part.block_index} is out of range: task {task.task_id} has "
                f"{task.block_count} blocks",
                task_id=task.task_id,
                reason=Reason.BLOCK_OUT_OF_RANGE,
                field="block_index",
                facts={
                    "blockIndex": part.block_index,
                    "blockCount": task.block_count,
                },
            )
        if part.offset != 0:
            raise InvalidArgument(
                f"block {part.block_index} must start at offset 0 on a stream, not {part.offset}",
                task_id=task.task_id,
                reason=Reason.WRONG_OFFSET,
                field="offset",
                facts={"blockIndex": part.block_index, "expectedOffset": 0},
            )
        probe = service._repo.probe_block(task.task_id, part.block_index)
        if probe is None:
            raise TaskNotFound(task.task_id)
        if probe.state != TaskState.UPLOADING:
            hint = ": resume it first" if probe.state == TaskState.PAUSED else ""
            raise not_uploading(
                task.task_id,
                probe.state,
                f"task {task.task_id} is {probe.state}; it takes no blocks{hint}",
            )
        attempt = writer = None
        length = task.block_length(part.block_index)
        if probe.committed_crc32c is None:
            service._check_reserve(length)
            attempt = secrets.token_hex(8)
            try:
                writer = service._store.open_attempt(
                    task.task_id, part.block_index, attempt, length
                )
            except StagingMissing as exc:
                raise IllegalState(
                    f"task {task.task_id} no longer takes blocks",
                    task_id=task.task_id,
                ) from exc
        self._block = _Block(
            task_id=task.task_id,
            index=part.block_index,
            length=length,
            deferred=task.size_deferred,
            received=0,
            crc=0,
            attempt=attempt,
            writer=writer,
            committed_crc=probe.committed_crc32c,
            committed_landed=probe.committed_landed,
        )
        return self._block

    def _finish(self, block: _Block, declared: int | None) -> BlockAck:
        self._block = None
        service = self._service
        promoted = False
        try:
            if declared is None:
                raise InvalidArgument(
                    f"the message completing block {block.index} must carry its crc32c",
                    task_id=block.task_id,
                    field="crc32c",
                    facts={"blockIndex": block.index},
                )
            if block.crc != declared:
                service._metrics.block_rejected("checksum_mismatch")
                return BlockAck(
                    block.task_id, block.index, BlockOutcome.CHECKSUM_MISMATCH, block.crc,
                    f"CRC32C mismatch on block {block.index}: declared {declared:08x}, "
                    f"received {block.crc:08x}; send the block again",
                )  # fmt: skip
            if block.writer is None or block.attempt is None:
                same = block.committed_crc == block.crc
                outcome = (
                    CommitOutcome.ALREADY_COMMITTED if same else CommitOutcome.COMMITTED_DIFFERENT
                )
                if same and service._store.lands_blocks and not block.committed_landed:
                    # Acknowledged means stored: not before the winner's receipt is recorded.
                    service._await_landing(block.task_id, block.index, _LANDING_WAIT_SECONDS)
            else:
                # Durable before it may win: bytes, fsync, then the SQL commit, then the ack.
                try:
                    block.writer.sync()
                except StagingMissing as exc:
                    # Canceled, expired or completed meanwhile: its staging is gone.
                    raise service._not_committed(block.task_id, block.index) from exc
                self._close_writer(block)
                service._fault("block-before-commit")
                outcome = service._commit(
                    self._tasks[block.task_id], block.index, block.length, block.crc,
                    block.attempt,
                )  # fmt: skip
                promoted = outcome is CommitOutcome.COMMITTED
                if promoted:
                    # Only once ``promoted`` is set: the file is the block's bytes now, and a
                    # failure from here on (a cut stream's CallEnded) must not discard it.
                    service._touch(block.task_id, service._clock())
                    # Promoted first: a landing that fails keeps the spool file, from which a
                    # retry of the block lands it (the row is committed, not acknowledged).
                    task = self._tasks[block.task_id]
                    service._land(
                        task, CommittedBlock(block.index, block.length, block.crc, block.attempt)
                    )
                    service._hasher.wait_until_caught_up(block.task_id)
            if outcome is CommitOutcome.COMMITTED_DIFFERENT:
                service._metrics.block_rejected("committed_different")
                return BlockAck(
                    block.task_id, block.index, BlockOutcome.COMMITTED_DIFFERENT, block.crc,
                    f"block {block.index} of task {block.task_id} is already committed with "
                    f"other bytes; these (CRC32C {block.crc:08x}) were discarded: the source "
                    "changed since the block was first sent, or the client is wrong",
                )  # fmt: skip
            if promoted:
                service._metrics.block_committed()
            else:
                service._metrics.block_rejected("duplicate")
            return BlockAck(block.task_id, block.index, BlockOutcome.COMMITTED, block.crc, "")
        finally:
            if not promoted:
                self._abandon(block)

    def _close_writer(self, block: _Block) -> None:
        writer, block.writer = block.writer, None
        if writer is not None:
            writer.close()

    def _abandon(self, block: _Block) -> None:
        """Drop an attempt that did not win: its bytes are nobody's."""
        self._close_writer(block)
        if block.attempt is not None:
            self._service._store.discard_attempt(block.task_id, block.index, block.attempt)

    def close(self) -> None:
        """End of stream: drop the block in progress (it stays missing)."""
        self._service._metrics.stream_closed()
        principals, self._principals = self._principals, []
        for principal in principals:
            self._service.streams.release(principal)
        block, self._block = self._block, None
        if block is not None:
            self._abandon(block)


def _taken_by_another(store_path: str) -> Conflict:
    """STORE_PATH_TAKEN by another principal's task: which task, and whose, is not said (the
    caller may write there, so it learns the path is busy, nothing more)."""
    return Conflict(
        f"store_path {store_path!r} is being uploaded by another principal; choose another "
        "store_path, or wait until that upload ends",
        reason=Reason.STORE_PATH_TAKEN,
    )


def _task_failed(task: Task) -> IntegrityFailure:
    return IntegrityFailure(
        f"task {task.task_id} failed: {task.failure_reason}",
        task_id=task.task_id,
        reason=Reason.TASK_FAILED,
    )


def _require_task_id(task_id: str) -> str:
    if not task_id:
        raise InvalidArgument("task_id is empty", field="task_id")
    if not is_task_id(task_id):
        # No task can have it; checked before SQL (PostgreSQL refuses NUL in text, for one).
        raise TaskNotFound(task_id)
    return task_id


def _page_start(token: str, block_count: int) -> int:
    """The block index a QueryMissingBlocks page token names (empty: 0); anything this server
    does not issue for a task of ``block_count`` blocks is INVALID_ARGUMENT."""
    if not token:
        return 0
    found = _PAGE_TOKEN.fullmatch(token)
    if found is None or int(found.group(1)) >= block_count:
        raise InvalidArgument(
            f"page_token {shown(token)} is not one this server issued for this task; pass "
            "the next_page_token of the previous answer, or none to start from the first block",
            field="page_token",
        )
    return int(found.group(1))


__all__ = [
    "ACTIVE_STATES",
    "BlockAck",
    "BlockOutcome",
    "BlockReceiver",
    "Limits",
    "MissingReport",
    "Part",
    "TaskSpec",
    "TransferService",
]
