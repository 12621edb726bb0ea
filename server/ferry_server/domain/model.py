"""Task and block values, the task state machine, and block arithmetic."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


class TaskState(enum.StrEnum):
    UPLOADING = "UPLOADING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


#: Staging layouts, recorded on each task. 1: one shared ``<task>.part`` file written in place by
#: every stream (before issue 7; read-only after the upgrade). 2: a private file per block attempt,
#: promoted by the SQL commit that wins, assembled from promoted blocks only. 3: an UploadFile's
#: task, whose bytes come in its one request: staged as one ``whole`` file only while it is
#: published, and active only until then (a crash there leaves it for a retry to finish).
LAYOUT_SHARED_FILE = 1
LAYOUT_ATTEMPTS = 2
LAYOUT_WHOLE = 3

ACTIVE_STATES = frozenset({TaskState.UPLOADING, TaskState.PAUSED})
TERMINAL_STATES = frozenset(
    {TaskState.COMPLETED, TaskState.CANCELED, TaskState.EXPIRED, TaskState.FAILED}
)
#: States a caller may ask for through SetState.
SETTABLE_STATES = frozenset({TaskState.UPLOADING, TaskState.PAUSED, TaskState.CANCELED})

_TRANSITIONS: Mapping[TaskState, frozenset[TaskState]] = {
    TaskState.UPLOADING: frozenset(
        {TaskState.PAUSED, TaskState.COMPLETED, TaskState.CANCELED, TaskState.EXPIRED}
        | {TaskState.FAILED}
    ),
    TaskState.PAUSED: frozenset(
        {TaskState.UPLOADING, TaskState.CANCELED, TaskState.EXPIRED, TaskState.FAILED}
    ),
}


def can_transition(current: TaskState, target: TaskState) -> bool:
    """Whether ``current -> target`` is a legal change (staying put is handled by callers)."""
    return target in _TRANSITIONS.get(current, frozenset())


@dataclass(frozen=True, slots=True)
class BlockRange:
    """Half-open range of block indexes ``[start, end)``."""

    start: int
    end: int

    def __str__(self) -> str:
        return str(self.start) if self.end == self.start + 1 else f"{self.start}-{self.end - 1}"


@dataclass(frozen=True, slots=True)
class Task:
    """A task as the domain sees it; never an ORM row."""

    task_id: str
    principal: str
    file_name: str
    size: int
    #: Declared whole-file SHA-256 (lowercase hex), or the computed one once COMPLETED.
    sha256: str | None
    store_path: str
    metadata: Mapping[str, str]
    block_size: int
    block_count: int
    state: TaskState
    overwrite: bool
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    failure_reason: str | None
    committed_bytes: int
    staging_layout: int = LAYOUT_ATTEMPTS
    #: Retention: the task has ended and its per-block records are gone (committed_bytes stays).
    blocks_purged: bool = False
    #: The size is not known yet (a pipe): ``size`` is 0 until Merge fixes it, and
    #: ``block_count`` is the most blocks ``max_size`` allows.
    size_deferred: bool = False
    #: With ``size_deferred``: the most bytes the task may hold; 0 otherwise.
    max_size: int = 0
    #: Where its completion notice goes, chosen when it was declared ("" for none); None for a
    #: task recorded before that choice was (migration 0010): its principal's URL at its end.
    webhook_url: str | None = None

    @property
    def size_bound(self) -> int:
        """The end no byte of the task may pass: its size, or its max_size while deferred."""
        return self.max_size if self.size_deferred else self.size

    def block_length(self, index: int) -> int:
        """Block ``index``'s length; while the size is deferred, the longest it may be."""
        return block_length(self.size_bound, self.block_size, index)


def block_count(size: int, block_size: int) -> int:
    return -(-size // block_size)


def block_length(size: int, block_size: int, index: int) -> int:
    """Length of block ``index``: ``[index*B, min((index+1)*B, size))``."""
    start = index * block_size
    return min(block_size, size - start)


def missing_ranges(count: int, committed: Iterable[int]) -> list[BlockRange]:
    """The complement of ``committed`` within ``[0, count)`` as sorted half-open ranges."""
    ranges: list[BlockRange] = []
    cursor = 0
    for index in sorted(set(committed)):
        if index > cursor:
            ranges.append(BlockRange(cursor, index))
        cursor = max(cursor, index + 1)
    if cursor < count:
        ranges.append(BlockRange(cursor, count))
    return ranges


def describe_ranges(ranges: list[BlockRange], limit: int = 10) -> str:
    """Human-readable list of ranges, e.g. ``0-3, 7, 9-12 (+2 more ranges)``."""
    shown = ", ".join(str(r) for r in ranges[:limit])
    if len(ranges) > limit:
        shown += f" (+{len(ranges) - limit} more ranges)"
    return shown


def about(task_id: str, principal: str = "") -> dict[str, str]:
    """A log call's ``extra=``: the task (and principal, when known) the line is about, which
    JSON logs carry as fields."""
    return {"task_id": task_id, "principal": principal}
