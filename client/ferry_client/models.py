"""The public value types the client returns (task state, task, upload result), and their
conversion from the wire messages, so no protobuf type reaches the caller."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ferry.v1 import ferry_pb2 as pb


class TaskState(enum.StrEnum):
    """A task's life-cycle state (``ferry.v1.TaskState`` without the prefix)."""

    UNSPECIFIED = "UNSPECIFIED"
    UPLOADING = "UPLOADING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        """COMPLETED, CANCELED, EXPIRED and FAILED never change again."""
        return self in _TERMINAL

    @classmethod
    def from_pb(cls, value: int) -> TaskState:
        name = pb.TaskState.Name(value)  # type: ignore[arg-type]
        return cls(name.removeprefix("TASK_STATE_"))

    def to_pb(self) -> pb.TaskState.ValueType:
        return pb.TaskState.Value(f"TASK_STATE_{self.value}")


_TERMINAL = frozenset(
    {TaskState.COMPLETED, TaskState.CANCELED, TaskState.EXPIRED, TaskState.FAILED}
)


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task as the server reports it."""

    task_id: str
    file_name: str
    size: int
    #: Declared SHA-256, or the computed one once COMPLETED; empty if neither.
    sha256: str
    store_path: str
    metadata: Mapping[str, str]
    block_size: int
    block_count: int
    state: TaskState
    committed_bytes: int
    overwrite: bool
    create_time: datetime | None
    update_time: datetime | None
    expire_time: datetime | None
    failure_reason: str
    #: Where the server POSTs the task's completion notice ("" for none).
    webhook_url: str = ""

    @classmethod
    def from_pb(cls, task: pb.Task) -> TaskInfo:
        def when(field: str) -> datetime | None:
            if not task.HasField(field):  # type: ignore[arg-type]
                return None
            stamp = getattr(task, field)
            value: datetime = stamp.ToDatetime(tzinfo=UTC)
            return value

        return cls(
            task_id=task.task_id,
            file_name=task.file_name,
            size=task.size,
            sha256=task.sha256,
            store_path=task.store_path,
            metadata=dict(task.metadata),
            block_size=task.block_size,
            block_count=task.block_count,
            state=TaskState.from_pb(task.state),
            committed_bytes=task.committed_bytes,
            overwrite=task.overwrite,
            create_time=when("create_time"),
            update_time=when("update_time"),
            expire_time=when("expire_time"),
            failure_reason=task.failure_reason,
            webhook_url=task.webhook_url,
        )

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (times as ISO 8601)."""
        return {
            "task_id": self.task_id,
            "file_name": self.file_name,
            "size": self.size,
            "sha256": self.sha256,
            "store_path": self.store_path,
            "metadata": dict(self.metadata),
            "block_size": self.block_size,
            "block_count": self.block_count,
            "state": self.state.value,
            "committed_bytes": self.committed_bytes,
            "overwrite": self.overwrite,
            "create_time": _iso(self.create_time),
            "update_time": _iso(self.update_time),
            "expire_time": _iso(self.expire_time),
            "failure_reason": self.failure_reason,
            "webhook_url": self.webhook_url,
        }


@dataclass(frozen=True, slots=True)
class UploadResult:
    """A published file, and what it took this call to get it there.

    ``bytes_sent`` counts every data byte this call handed to UploadParts or UploadFile,
    including blocks sent again after a lost connection or a checksum rejection;
    ``bytes_resent`` is the part of it beyond what was missing when the call started.

    A file sent whole in one UploadFile request counts as one block per attempt (none if it is
    empty, as an empty file has no blocks), whatever ``block_size`` and ``block_count`` the
    server recorded for its task.
    """

    task_id: str
    store_path: str
    size: int
    sha256: str
    metadata: Mapping[str, str]
    block_size: int
    block_count: int
    #: The task already existed (this call continued an earlier upload). For a file sent
    #: whole: the same bytes were already published at ``store_path`` (by an earlier call,
    #: or by this call's own attempt whose reply was lost) and the server wrote nothing;
    #: ``task_id`` is the task that published them.
    resumed: bool
    #: Bytes read to hash the file in this call: 0 when the hash came from the state file
    #: (a restarted upload whose first run had finished hashing).
    hashed_bytes: int
    #: Bytes the server already held when this call started streaming.
    committed_at_start: int
    bytes_sent: int
    blocks_sent: int
    #: Blocks the server rejected for their CRC32C (each was sent again).
    checksum_mismatches: int
    #: Failed attempts that were retried.
    retries: int
    elapsed_seconds: float

    @property
    def bytes_resent(self) -> int:
        return self.bytes_sent - (self.size - self.committed_at_start)

    def to_json(self) -> dict[str, object]:
        return {
            "task_id": self.task_id,
            "store_path": self.store_path,
            "size": self.size,
            "sha256": self.sha256,
            "metadata": dict(self.metadata),
            "block_size": self.block_size,
            "block_count": self.block_count,
            "resumed": self.resumed,
            "hashed_bytes": self.hashed_bytes,
            "committed_at_start": self.committed_at_start,
            "bytes_sent": self.bytes_sent,
            "bytes_resent": self.bytes_resent,
            "blocks_sent": self.blocks_sent,
            "checksum_mismatches": self.checksum_mismatches,
            "retries": self.retries,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True)
class Grant:
    """A task created for someone else to upload, and the upload token to hand them."""

    task: TaskInfo
    #: Secret: lets its bearer upload, query and merge this one task until ``expires_at``.
    upload_token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StateStats:
    """How many tasks are in one state, and the sizes they declare."""

    state: TaskState
    tasks: int
    declared_bytes: int


@dataclass(frozen=True, slots=True)
class TaskStats:
    """Counts of a principal's tasks (GetStats)."""

    #: One entry per state that has tasks.
    states: tuple[StateStats, ...]
    #: Bytes in committed blocks of UPLOADING and PAUSED tasks.
    staged_bytes: int
    #: Sizes of COMPLETED tasks.
    published_bytes: int

    @classmethod
    def from_pb(cls, reply: pb.GetStatsResponse) -> TaskStats:
        return cls(
            states=tuple(
                StateStats(TaskState.from_pb(s.state), s.tasks, s.declared_bytes)
                for s in reply.states
            ),
            staged_bytes=reply.staged_bytes,
            published_bytes=reply.published_bytes,
        )

    def count(self, state: TaskState) -> int:
        """Tasks in ``state`` (0 when none)."""
        return next((s.tasks for s in self.states if s.state == state), 0)

    def to_json(self) -> dict[str, object]:
        return {
            "states": {
                s.state.value: {"tasks": s.tasks, "declared_bytes": s.declared_bytes}
                for s in self.states
            },
            "staged_bytes": self.staged_bytes,
            "published_bytes": self.published_bytes,
        }
