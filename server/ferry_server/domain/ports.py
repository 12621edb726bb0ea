"""The ports through which the domain reaches persistence (SQL) and storage (bytes on disk).

Each is a small ``typing.Protocol``; implementations live in ``ferry_server.persistence`` and
``ferry_server.storage``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ferry_server.domain.model import Task, TaskState


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

    def as_task(self, state: TaskState, *, sha256: str | None, committed_bytes: int) -> Task:
        """The task exactly as inserted: reading it back would only cost a query."""
        return Task(
            task_id=self.task_id, principal=self.principal, file_name=self.file_name,
            size=self.size, sha256=sha256, store_path=self.store_path,
            metadata=self.metadata, block_size=self.block_size, block_count=self.block_count,
            state=state, overwrite=self.overwrite, created_at=self.now, updated_at=self.now,
            expires_at=self.expires_at, failure_reason=None, committed_bytes=committed_bytes,
        )  # fmt: skip


class ActiveTaskExists(Exception):
    """Persistence refused a task because another active one has the same store_path."""


class CommitOutcome(enum.Enum):
    COMMITTED = "committed"
    ALREADY_COMMITTED = "already committed"
    NOT_UPLOADING = "task not uploading"
    GONE = "task gone"


@dataclass(frozen=True, slots=True)
class BlockCommit:
    task_id: str
    index: int
    length: int
    crc32c: int
    now: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class BlockProbe:
    """What a stream needs to know before it starts receiving a block."""

    state: TaskState
    committed: bool


class TaskRepository(Protocol):
    """Task and block records; every change one transaction, state changes compare-and-set."""

    def insert(self, task: NewTask) -> None:
        """Insert a task; raise ActiveTaskExists if an active task has its store_path."""

    def insert_completed(
        self, task: NewTask, sha256: str, blocks: Sequence[tuple[int, int, int]]
    ) -> None:
        """Record a file published in one request: a COMPLETED task and its blocks, given as
        (index, length, crc32c)."""

    def get(self, task_id: str) -> Task | None: ...

    def latest_completed(self, store_path: str) -> Task | None:
        """The most recently completed task for ``store_path``, if any."""

    def find_active(self, store_path: str) -> Task | None:
        """The UPLOADING or PAUSED task for ``store_path``, if any."""

    def committed_indices(self, task_id: str) -> Sequence[int]: ...

    def probe_block(self, task_id: str, index: int) -> BlockProbe | None:
        """State of the task and whether block ``index`` is committed; None if no such task."""

    def commit_block(self, commit: BlockCommit) -> CommitOutcome:
        """Record a block if the task is UPLOADING; a second commit of it is a no-op."""

    def change_state(
        self,
        task_id: str,
        expected: TaskState,
        new: TaskState,
        now: datetime,
        *,
        expires_at: datetime | None = None,
        failure_reason: str | None = None,
    ) -> bool:
        """Set ``new`` if the task is in ``expected`` and no merge lease is live.

        Return whether the change was made.
        """

    def acquire_merge_lease(self, task_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take the task's merge lease if it is UPLOADING and the lease is free or stale."""

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
    ) -> bool:
        """Move a task whose lease ``owner`` holds to COMPLETED or FAILED, releasing the lease."""

    def expirable(self, now: datetime, limit: int) -> Sequence[tuple[str, TaskState]]:
        """Active tasks whose deadline has passed, with their state."""


class StagingWriter(Protocol):
    """Writes one task's staging file; owned by one stream."""

    def write(self, offset: int, data: bytes) -> None: ...

    def sync(self) -> None:
        """Make what was written durable (no-op when fsync is off)."""

    def close(self) -> None: ...


class StagingMissing(Exception):
    """The staging file is gone (the task was canceled, expired or failed meanwhile)."""


class DestinationExists(Exception):
    """Publishing would replace an existing file and overwrite was not asked for."""


class BlockStore(Protocol):
    """Bytes on disk: staging files per task and files published under the storage root."""

    def create(self, task_id: str, size: int) -> None:
        """Create and preallocate the staging file; raise StorageFull if the disk lacks space."""

    def write_whole(self, task_id: str, data: bytes) -> None:
        """Create the staging file holding exactly ``data``, durably."""

    def open_writer(self, task_id: str) -> StagingWriter:
        """Open the staging file for writing; raise StagingMissing if it does not exist."""

    def read(self, task_id: str, start: int, end: int) -> Iterator[bytes]:
        """The staging file's bytes ``[start, end)`` in chunks; raise StagingMissing."""

    def has_staging(self, task_id: str) -> bool: ...

    def discard(self, task_id: str) -> None:
        """Delete the staging file if it exists."""

    def check_destination(self, store_path: str) -> None:
        """Raise InvalidArgument if ``store_path`` escapes the root or cannot be a file."""

    def destination_exists(self, store_path: str) -> bool: ...

    def read_published(self, store_path: str) -> Iterator[bytes]:
        """A published file's bytes in chunks (used to recover a merge cut short)."""

    def publish(self, task_id: str, store_path: str, *, overwrite: bool) -> None:
        """Make the staging file durable and move it to ``store_path`` atomically.

        Raise DestinationExists if a file is there and ``overwrite`` is false.
        """
