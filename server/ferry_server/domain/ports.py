"""The ports through which the domain reaches persistence (SQL) and storage (bytes on disk).

Each is a small ``typing.Protocol``; implementations live in ``ferry_server.persistence`` and
``ferry_server.storage``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ferry_server.domain.identity import Caller
from ferry_server.domain.model import LAYOUT_ATTEMPTS, BlockRange, Task, TaskState
from ferry_server.domain.notifications import NoticeRequest, NotificationStatus


@dataclass(frozen=True, slots=True)
class Credentials:
    """What one call presents to prove who it is, as plain values from the transport."""

    #: The ``authorization`` metadata value (``Bearer ...``), None when absent.
    authorization: str | None
    #: Identities of the verified client certificate (SAN URIs, SAN DNS names, subject CN),
    #: empty without mTLS.
    certificate_identities: tuple[str, ...]
    #: The RPC's name (e.g. ``CreateTask``), for the refusal log.
    method: str
    #: The peer's address, for the refusal log's rate limit.
    peer: str


class Authenticator(Protocol):
    """Turns a call's credentials into its :class:`Caller`."""

    @property
    def configured(self) -> bool:
        """Whether any credential is configured. If not, :meth:`authenticate` answers the
        anonymous caller at once, without blocking work (no SQL, no files)."""
        ...

    def authenticate(self, credentials: Credentials) -> Caller:
        """The caller, or raise Unauthenticated (no or bad credentials)."""
        ...


@dataclass(frozen=True, slots=True)
class UploadTokenGrant:
    """What an upload token (stored as its SHA-256) lets its bearer reach."""

    task_id: str
    principal: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewTask:
    """Everything needed to insert a task."""

    task_id: str
    principal: str
    file_name: str
    size: int
    sha256: str | None
    store_path: str
    metadata: Mapping[str, str]
    block_size: int
    block_count: int
    overwrite: bool
    now: datetime
    expires_at: datetime
    staging_layout: int = LAYOUT_ATTEMPTS
    #: The size is declared at Merge (see ``Task.size_deferred``); ``size`` is 0 meanwhile.
    size_deferred: bool = False
    max_size: int = 0
    #: Where the task's completion notice goes ("" for none).
    webhook_url: str = ""

    def as_task(self, state: TaskState, *, sha256: str | None, committed_bytes: int) -> Task:
        """The task exactly as inserted: reading it back would only cost a query."""
        return Task(
            task_id=self.task_id, principal=self.principal, file_name=self.file_name,
            size=self.size, sha256=sha256, store_path=self.store_path,
            metadata=self.metadata, block_size=self.block_size, block_count=self.block_count,
            state=state, overwrite=self.overwrite, created_at=self.now, updated_at=self.now,
            expires_at=self.expires_at, failure_reason=None, committed_bytes=committed_bytes,
            staging_layout=self.staging_layout, size_deferred=self.size_deferred,
            max_size=self.max_size, webhook_url=self.webhook_url,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Expirable:
    """An active task past its deadline: what expiring it (and telling of it) needs, read in
    the one query that finds it."""

    task_id: str
    state: TaskState
    principal: str
    #: As ``Task.webhook_url``.
    webhook_url: str | None


@dataclass(frozen=True, slots=True)
class Usage:
    """What active tasks hold when a task is admitted (see ``insert_admitted``)."""

    #: The principal's active (UPLOADING or PAUSED) tasks.
    principal_tasks: int
    #: The bytes those tasks declare.
    principal_bytes: int
    #: Every principal's active tasks: (task id, declared size).
    active_sizes: Sequence[tuple[str, int]]


class ActiveTaskExists(Exception):
    """Persistence refused a task because another active one has the same store_path."""


class CommitOutcome(enum.Enum):
    #: This attempt's row was inserted: its file is now the block's promoted bytes.
    COMMITTED = "committed"
    #: Another attempt won earlier with the same CRC32C: a duplicate.
    ALREADY_COMMITTED = "already committed"
    #: Another attempt won earlier with a different CRC32C: these bytes are not the block's.
    COMMITTED_DIFFERENT = "already committed with other bytes"
    NOT_UPLOADING = "task not uploading"
    GONE = "task gone"


@dataclass(frozen=True, slots=True)
class BlockCommit:
    task_id: str
    index: int
    length: int
    crc32c: int
    #: The attempt whose private file holds the bytes; recorded on the row if it wins.
    attempt: str
    now: datetime


@dataclass(frozen=True, slots=True)
class CommittedBlock:
    """A promoted block: where its bytes are (``attempt`` None: the layout-1 shared file)."""

    index: int
    length: int
    crc32c: int
    attempt: str | None
    #: What the byte store answered when it landed the block (BlockStore.land_block: the
    #: object store's part ETag); None when the store needs none, or has not landed it yet.
    receipt: str | None = None


@dataclass(frozen=True, slots=True)
class SizeFix:
    """What fixing a deferred size found: ``fixed``, or the first committed block that does not
    fit the size (``misfit``: its index and length), or neither when the task was no longer an
    UPLOADING task with its size deferred (someone else fixed it, or its state changed)."""

    fixed: bool
    misfit: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class BlockProbe:
    """What a stream needs to know before it starts receiving a block."""

    state: TaskState
    #: The committed block's CRC32C, None if the block is not committed.
    committed_crc32c: int | None
    #: Whether the committed block has its receipt recorded (see BlockStore.lands_blocks).
    committed_landed: bool = False


class TaskRepository(Protocol):
    """Task and block records; every change one transaction, state changes compare-and-set."""

    def insert(self, task: NewTask, *, lease: tuple[str, datetime] | None = None) -> None:
        """Insert an UPLOADING task, its merge lease held by ``lease`` (owner, until) if given;
        raise ActiveTaskExists if an active task has its store_path."""

    def insert_admitted(self, task: NewTask, admit: Callable[[Usage], None]) -> None:
        """Insert a task as ``insert`` does once ``admit`` accepted the usage it adds to; the
        usage is read under a lock that admissions on every replica take in turn, so that two
        cannot both pass a limit. ``admit`` raises to refuse (nothing is inserted)."""

    def claim_stream(
        self,
        replica: str,
        principal: str,
        count: int,
        admit: Callable[[int], None],
        *,
        now: datetime,
        until: datetime,
    ) -> None:
        """Under the principal's stream lock: pass ``admit`` the principal's open streams on
        every replica (unexpired rows) with this replica's taken as ``count``; unless it
        raises, record ``count`` for this replica until ``until``."""

    def replace_stream_counts(
        self, replica: str, counts: Mapping[str, int], *, now: datetime, until: datetime
    ) -> None:
        """Make ``counts`` this replica's stream counts until ``until``, and delete every
        replica's rows expired by ``now``."""

    def committed_bytes_of_active(self) -> Mapping[str, int]:
        """Bytes committed so far of each active task (a scan of their block rows: costly)."""

    def insert_completed(
        self,
        task: NewTask,
        sha256: str,
        blocks: Sequence[tuple[int, int, int]],
        *,
        notice: NoticeRequest | None = None,
    ) -> None:
        """Record a file published in one request: a COMPLETED task and its blocks, given as
        (index, length, crc32c)."""

    def complete_whole(
        self,
        task_id: str,
        owner: str,
        now: datetime,
        sha256: str,
        blocks: Sequence[tuple[int, int, int]],
        *,
        notice: NoticeRequest | None = None,
    ) -> bool:
        """In one transaction: move the UPLOADING task whose merge lease ``owner`` holds to
        COMPLETED with ``sha256`` and exactly ``blocks`` (index, length, crc32c) committed,
        releasing the lease, and record ``notice``; False if ``owner`` no longer holds it."""

    def get(
        self, task_id: str, *, committed_bytes: bool = True, count_up_to: int | None = None
    ) -> Task | None:
        """The task, or None; without ``committed_bytes`` its ``committed_bytes`` is 0 and
        nothing is counted. With ``count_up_to``, committed bytes are counted only for a task
        of at most that many blocks (0 for a larger one, unless its count was frozen when it
        ended): counting a huge task's blocks costs a look at each of them."""

    def get_many(self, task_ids: Sequence[str]) -> Mapping[str, Task]:
        """The tasks of ``task_ids`` that exist, by id."""

    def ping(self) -> None:
        """Return when the database answers; raise Unavailable when it does not."""

    def latest_completed(self, store_path: str) -> Task | None:
        """The most recently completed task for ``store_path``, if any."""

    def find_active(self, store_path: str) -> Task | None:
        """The UPLOADING or PAUSED task for ``store_path``, if any."""

    def committed_indices(self, task_id: str) -> Sequence[int]: ...

    def missing_between(
        self, task_id: str, start: int, end: int, block_count: int, limit: int
    ) -> tuple[list[BlockRange], int | None]:
        """The gaps between committed blocks in ``[start, end)``, at most ``limit`` of them,
        in order; a gap reaching ``end`` is extended to the next committed block (or
        ``block_count``). With them, where the listing continues: the start of the first gap
        left out, else the first index past the last gap when that is below ``block_count``
        and the scan stopped at ``end``; ``None``: nothing is missing from there on."""

    def committed_blocks(
        self, task_id: str, start: int = 0, limit: int | None = None
    ) -> Sequence[CommittedBlock]:
        """The task's promoted blocks from index ``start`` on, in index order (at most
        ``limit`` of them; ``None``: all)."""

    def probe_block(self, task_id: str, index: int) -> BlockProbe | None:
        """State of the task and block ``index``'s committed CRC32C; None if no such task."""

    def commit_block(self, commit: BlockCommit) -> CommitOutcome:
        """In one transaction, ordered against state changes: if the task is UPLOADING, insert
        the block's row unless one exists (first insert wins); never writes the task row."""

    def record_receipt(self, task_id: str, index: int, attempt: str, receipt: str) -> bool:
        """Record where the store landed block ``index`` promoted from ``attempt`` (a receipt
        recorded first stays); False if that row is no longer there (reverted)."""

    def has_receipts(self) -> bool:
        """Whether any block row records a receipt (the database serves an object store)."""

    def unlanded_blocks(
        self, committed_before: datetime, limit: int
    ) -> Sequence[tuple[str, CommittedBlock]]:
        """Blocks of active tasks committed before ``committed_before`` still without a
        receipt, as (task id, block)."""

    def revert_unlanded(self, task_id: str, index: int, attempt: str) -> bool:
        """Forget block ``index`` if ``attempt`` still holds it without a receipt (the block
        becomes missing again); whether it was forgotten."""

    def touch(self, task_id: str, now: datetime, expires_at: datetime) -> None:
        """Push an UPLOADING task's deadline (activity seen); no-op for other states."""

    def uncommit_blocks(self, task_id: str, indices: Sequence[int]) -> int:
        """Forget blocks whose bytes are lost (fsck), so the client sends them again."""

    def task_states(self, task_ids: Sequence[str]) -> Mapping[str, TaskState]:
        """The state of each known task among ``task_ids``."""

    def active_task_ids(self) -> list[str]:
        """Every UPLOADING or PAUSED task's id (for ferry fsck)."""

    def acquire_named_lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take or renew a cluster-wide lease (e.g. the storage sweeper's) if free, stale or
        already ``owner``'s."""

    def fix_size(self, task_id: str, size: int, now: datetime) -> SizeFix:
        """In one transaction: if the task is UPLOADING with its size deferred and no merge
        lease, set its size and block count, provided every committed block fits the size
        (each below the last exactly block_size long, the last ending at ``size``, none past
        it); otherwise change nothing."""

    def change_state(
        self,
        task_id: str,
        expected: TaskState,
        new: TaskState,
        now: datetime,
        *,
        expires_at: datetime | None = None,
        failure_reason: str | None = None,
        notice: NoticeRequest | None = None,
    ) -> bool:
        """Set ``new`` if the task is in ``expected`` and no merge lease is live.

        Return whether the change was made.
        """

    def acquire_merge_lease(self, task_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take the task's merge lease if it is UPLOADING and the lease is free or stale."""

    def renew_merge_lease(self, task_id: str, owner: str, until: datetime) -> bool:
        """Extend ``owner``'s lease on an UPLOADING task; False if it is no longer the holder."""

    def release_merge_lease(self, task_id: str, owner: str) -> None: ...

    def finish_merge(
        self,
        task_id: str,
        owner: str,
        state: TaskState,
        now: datetime,
        *,
        sha256: str | None = None,
        failure_reason: str | None = None,
        notice: NoticeRequest | None = None,
    ) -> bool:
        """Move a task whose lease ``owner`` holds to COMPLETED or FAILED, releasing the lease."""

    def insert_upload_token(
        self, token_sha256: str, task_id: str, principal: str, now: datetime, expires_at: datetime
    ) -> None:
        """Record an upload token (its SHA-256 only) for a task."""

    def find_upload_token(self, token_sha256: str) -> UploadTokenGrant | None:
        """The grant of the token with this SHA-256, None if there is none."""

    def purge_upload_tokens(self, expired_before: datetime) -> int:
        """Delete tokens that expired before ``expired_before``; return how many."""

    def expirable(self, now: datetime, limit: int) -> Sequence[Expirable]:
        """Active tasks whose deadline has passed, with what expiring them needs."""

    def notification_status(self, task_id: str) -> NotificationStatus | None:
        """The task's latest completion notice, if one was recorded."""

    def outbox_depth(self) -> int:
        """Notices not yet delivered nor given up on."""

    def purge_ended_blocks(self, tasks: int, rows: int) -> int:
        """Delete up to ``rows`` block rows of each of up to ``tasks`` ended tasks (oldest
        first), freezing each one's committed bytes first; return how many rows went."""

    def delete_ended(self, ended_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` ended, purged tasks that ended before ``ended_before``."""


class PublishedFile(Protocol):
    """An opened published file: one version, readable until closed."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int, chunk: int) -> Iterator[bytes]:
        """``length`` bytes from ``offset`` in chunks of at most ``chunk``; closes the file
        when done or abandoned."""

    def close(self) -> None: ...


class AttemptWriter(Protocol):
    """Writes one block attempt's private file, sequentially; owned by one stream."""

    def write(self, data: bytes) -> None: ...

    def sync(self) -> None:
        """Make what was written durable (no-op when fsync is off)."""

    def close(self) -> None: ...


class AssemblyWriter(Protocol):
    """One process's assembly file of a task: promoted blocks copied in order."""

    @property
    def name(self) -> str: ...

    def write(self, offset: int, data: bytes) -> None: ...

    def sync(self) -> None: ...

    def rename(self, name: str) -> None:
        """Give the file another name in the task's staging (the merge lease holder's)."""

    def close(self) -> None: ...


class StagingMissing(Exception):
    """The staging file is gone (the task was canceled, expired or failed meanwhile)."""


class BlockElsewhere(StagingMissing):
    """A committed block's bytes are not readable on this replica yet (another replica
    spooled them; they become readable from the store once the task is sealed)."""


class BlocksNotLanded(Exception):
    """Committed blocks whose bytes the store does not hold yet (their upload is running, or
    its committer died before recording the receipt)."""

    def __init__(self, indices: Sequence[int]) -> None:
        super().__init__(f"blocks {', '.join(map(str, indices[:20]))} are not stored yet")
        self.indices = list(indices)


class DestinationExists(Exception):
    """Publishing would replace an existing file and overwrite was not asked for."""


@dataclass(frozen=True, slots=True)
class StagingEntry:
    """What the store holds for one task: its attempt files (index, attempt, age in seconds)
    and other files (assemblies, a layout-1 shared file)."""

    task_id: str
    #: Seconds since the task's staging was created or last changed.
    age: float
    attempts: Sequence[tuple[int, str, float]]
    has_shared_file: bool


class BlockStore(Protocol):
    """Bytes on disk: per-task staging (attempt files, assemblies) and published files."""

    @property
    def lands_blocks(self) -> bool:
        """Whether a committed block must still be landed (``land_block``) and its receipt
        recorded before it is acknowledged: the object store, where an attempt is spooled
        locally and only the winner of the commit becomes a part. False for the filesystem,
        where the promoted attempt file already is the block."""

    def create(self, task_id: str) -> None:
        """Create the task's (empty) staging: nothing of its size is allocated."""

    def free_bytes(self) -> int:
        """Bytes free for Ferry on the staging filesystem now."""

    def write_whole(self, task_id: str, data: bytes) -> str:
        """Stage a whole small file durably; return the name to publish."""

    def open_attempt(
        self, task_id: str, index: int, attempt: str, length: int = 0
    ) -> AttemptWriter:
        """Create the private file of a new block attempt of ``length`` bytes; raise
        StagingMissing if the task's staging is gone, StorageFull if it cannot be held."""

    def discard_attempt(self, task_id: str, index: int, attempt: str) -> None: ...

    def land_block(self, task_id: str, block: CommittedBlock, *, again: bool = False) -> str | None:
        """Store a block whose attempt won its commit where Merge will find it; the receipt to
        record (the part's ETag), or None when the store needs none. The committer calls it
        once; ``again``: a retry, which first looks whether an earlier landing arrived (the
        object store never uploads a part number twice). StagingMissing if this replica does
        not hold the attempt's bytes."""

    def release_block(self, task_id: str, block: CommittedBlock) -> None:
        """This replica's assembly (hash) covers a landed block: a store keeping a local copy
        only for it may drop that copy now."""

    def seal(self, task_id: str, blocks: Sequence[CommittedBlock]) -> None:
        """Before Merge's final hash: make the committed ``blocks`` (all of them, with their
        receipts) readable as the task's staged whole, checked against what the store holds
        (the object store: ListParts against the recorded ETags, then completion); raise
        IntegrityFailure when the store does not hold them as recorded, and BlocksNotLanded
        for blocks without a receipt that the store cannot vouch for. Idempotent."""

    def sweep_local(self, older_than: float, keep: Callable[[str, int, str], bool]) -> int:
        """Remove this replica's own leftovers (spool files) not written for ``older_than``
        seconds that ``keep(task_id, index, attempt)`` does not claim; how many."""

    def read_block(self, task_id: str, block: CommittedBlock, offset: int) -> Iterator[bytes]:
        """A promoted block's bytes in chunks (``offset``: the block's place in the file, for
        the layout-1 shared file); raise StagingMissing if they are gone."""

    def block_exists(self, task_id: str, block: CommittedBlock, offset: int) -> bool:
        """Whether a promoted block's bytes are all there (``offset`` as for read_block)."""

    def open_assembly(self, task_id: str, name: str) -> AssemblyWriter:
        """Create (truncate) this process's assembly file ``name``; raise StagingMissing."""

    def discard_assemblies(self, task_id: str) -> None:
        """Delete every assembly of the task (fsck un-committed blocks they hold)."""

    def fence_merges(self, task_id: str, keep: str) -> int:
        """Remove every merge file of the task except ``keep`` (a former lease holder's), so
        that a stalled former holder can no longer publish; return how many."""

    def has_staging(self, task_id: str) -> bool: ...

    def discard(self, task_id: str) -> None:
        """Delete everything staged for the task."""

    def staged_tasks(self, after: str, limit: int) -> Sequence[StagingEntry]:
        """Up to ``limit`` tasks with staging, in task id order, after ``after``."""

    def check_destination(self, store_path: str) -> None:
        """Raise InvalidArgument if ``store_path`` escapes the root or cannot be a file."""

    def destination_exists(self, store_path: str) -> bool: ...

    def read_published(self, store_path: str) -> Iterator[bytes]:
        """A published file's bytes in chunks (used to recover a merge cut short)."""

    def open_published(self, store_path: str) -> PublishedFile:
        """The file published at ``store_path``, opened (one version of it, whatever replaces
        it meanwhile); raise FileNotFound when there is none."""

    def publish(self, task_id: str, name: str, store_path: str, *, overwrite: bool) -> None:
        """Move the task's staged file ``name`` (durable already) to ``store_path`` atomically.

        Raise StagingMissing if ``name`` is gone (fenced), DestinationExists if a file is there
        and ``overwrite`` is false.
        """


class Metrics(Protocol):
    """What the domain reports for operators (counters, gauges, durations); an implementation
    decides where it goes. Calls must be cheap and must not raise."""

    def bytes_received(self, count: int) -> None: ...

    def block_committed(self) -> None: ...

    def block_rejected(self, reason: str) -> None:
        """A completed block was not committed; ``reason`` is a short snake_case word."""

    def stream_opened(self) -> None: ...

    def stream_closed(self) -> None: ...

    def merge_finished(self, seconds: float) -> None:
        """A Merge call that ran a merge (or waited for one) ended, however it ended."""

    def notice_attempted(self, delivered: bool) -> None:
        """A completion notice was POSTed: taken by its receiver, or not."""

    def outbox_depth(self, pending: int) -> None:
        """How many completion notices wait for delivery."""


class NoMetrics:
    """Metrics that go nowhere: the default when none are configured."""

    def bytes_received(self, count: int) -> None:
        pass

    def block_committed(self) -> None:
        pass

    def block_rejected(self, reason: str) -> None:
        pass

    def stream_opened(self) -> None:
        pass

    def stream_closed(self) -> None:
        pass

    def notice_attempted(self, delivered: bool) -> None:
        pass

    def outbox_depth(self, pending: int) -> None:
        pass

    def merge_finished(self, seconds: float) -> None:
        pass
