"""Domain errors: each kind of failure a request can meet, with a message a person can act on
and the facts a program needs (a stable reason, the field at fault, the task, a retry delay).

The transport maps each class to one gRPC status code and each error to its details in a
single table; the domain never mentions gRPC. :class:`Reason` values are the names of
``ferry.v1.ErrorReason`` (protos/ferry/v1/errors.proto), which documents each one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import ClassVar

from ferry_server.domain.inputs import shown
from ferry_server.domain.model import BlockRange


class Reason(enum.StrEnum):
    """Why a request failed, for programs: the ErrorInfo reason, stable across versions."""

    TASK_NOT_FOUND = "TASK_NOT_FOUND"
    INVALID_FIELD = "INVALID_FIELD"
    INVALID_STORE_PATH = "INVALID_STORE_PATH"
    INVALID_BLOCK_SIZE = "INVALID_BLOCK_SIZE"
    DATA_TOO_LARGE = "DATA_TOO_LARGE"
    SHA256_CONFLICT = "SHA256_CONFLICT"
    WRONG_OFFSET = "WRONG_OFFSET"
    BLOCK_NOT_FINISHED = "BLOCK_NOT_FINISHED"
    MALFORMED_MESSAGE = "MALFORMED_MESSAGE"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    BLOCK_OUT_OF_RANGE = "BLOCK_OUT_OF_RANGE"
    DATA_PAST_BLOCK_END = "DATA_PAST_BLOCK_END"
    STORE_PATH_TAKEN = "STORE_PATH_TAKEN"
    DESTINATION_EXISTS = "DESTINATION_EXISTS"
    BLOCKS_MISSING = "BLOCKS_MISSING"
    TASK_PAUSED = "TASK_PAUSED"
    TASK_NOT_UPLOADING = "TASK_NOT_UPLOADING"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"
    TASK_MERGING = "TASK_MERGING"
    STAGING_LOST = "STAGING_LOST"
    HASH_MISMATCH = "HASH_MISMATCH"
    TASK_FAILED = "TASK_FAILED"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    BUSY = "BUSY"
    MERGE_IN_PROGRESS = "MERGE_IN_PROGRESS"
    DISK_FULL = "DISK_FULL"
    OVERLOADED = "OVERLOADED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    SHUTTING_DOWN = "SHUTTING_DOWN"
    STREAM_IDLE = "STREAM_IDLE"
    DEADLINE_PASSED = "DEADLINE_PASSED"
    FILE_NOT_FOUND = "FILE_NOT_FOUND"
    GENERATION_CHANGED = "GENERATION_CHANGED"
    SIZE_MISMATCH = "SIZE_MISMATCH"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    WEBHOOK_URL_REFUSED = "WEBHOOK_URL_REFUSED"


#: How long a caller should wait before retrying work someone else is doing right now (the
#: other stream's block, the other call's merge): about one block's time on a slow link.
BUSY_RETRY_SECONDS = 1.0
#: How long before retrying after the disk was full: space comes back on an operator's scale.
DISK_FULL_RETRY_SECONDS = 30.0
#: How long a client should wait before opening another stream when a replica is at its
#: stream limit: long enough for some of the open ones to finish or go idle.
OVERLOADED_RETRY_SECONDS = 2.0
#: How long before retrying when the database is out of reach: failing over or restarting a
#: database takes seconds.
UNAVAILABLE_RETRY_SECONDS = 1.0


class FerryError(Exception):
    """Base of every error the domain raises on purpose.

    Attributes beyond the message, all optional:
        reason: why, for programs (the class's default unless given).
        task_id: the existing task the error is about, which the caller may see (never an
            unknown id a caller sent).
        field: the request field at fault, for INVALID_ARGUMENT and OUT_OF_RANGE.
        facts: further facts for programs (e.g. ``{"blockIndex": "3"}``), lowerCamelCase keys;
            ``taskId`` is added from ``task_id``.
        retry_after: seconds the caller should wait before retrying, when that helps.
    """

    reason: Reason = Reason.INTERNAL_ERROR
    #: Default of ``retry_after`` for the class.
    default_retry_after: ClassVar[float | None] = None

    def __init__(
        self,
        message: str,
        *,
        task_id: str | None = None,
        reason: Reason | None = None,
        field: str | None = None,
        facts: Mapping[str, object] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.task_id = task_id
        if reason is not None:
            self.reason = reason
        self.field = field
        self.facts: dict[str, str] = {k: str(v) for k, v in (facts or {}).items()}
        if task_id is not None:
            self.facts.setdefault("taskId", task_id)
        self.retry_after = retry_after if retry_after is not None else self.default_retry_after


class InvalidArgument(FerryError):
    """The request is malformed: a field is missing, badly formed or not allowed."""

    reason = Reason.INVALID_FIELD


class InvalidStorePath(InvalidArgument):
    """store_path is refused (syntax, or where it resolves)."""

    reason = Reason.INVALID_STORE_PATH

    def __init__(self, message: str, *, task_id: str | None = None) -> None:
        super().__init__(message, task_id=task_id, field="store_path")


class OutOfRange(FerryError):
    """A number in the request lies outside its allowed range (block index, size, data end)."""

    reason = Reason.FILE_TOO_LARGE


class TaskNotFound(FerryError):
    """No task has the given id. The id is in the message, never in ``task_id``: the caller
    sent it, and nothing says it names a task they may see."""

    reason = Reason.TASK_NOT_FOUND

    def __init__(self, task_id: str) -> None:
        # Shown escaped and cut short: the caller sent it, whatever it holds.
        super().__init__(f"no task with id {shown(task_id)}")


class FileNotFound(FerryError):
    """Nothing is published at the store_path asked for."""

    reason = Reason.FILE_NOT_FOUND


class IllegalState(FerryError):
    """The task is not in a state that allows the request (paused, terminal, blocks missing)."""

    reason = Reason.TASK_NOT_UPLOADING


class BlocksMissing(IllegalState):
    """Merge found blocks not committed; ``missing`` lists them as half-open ranges."""

    reason = Reason.BLOCKS_MISSING

    def __init__(
        self, message: str, *, task_id: str, missing: Sequence[BlockRange], block_count: int
    ) -> None:
        super().__init__(
            message,
            task_id=task_id,
            facts={
                "missingBlocks": sum(r.end - r.start for r in missing),
                "missingRanges": len(missing),
                "blockCount": block_count,
            },
        )
        self.missing = tuple(missing)


class Conflict(FerryError):
    """Something already exists in the way: another active task or a published file."""

    reason = Reason.DESTINATION_EXISTS


class IntegrityFailure(FerryError):
    """The data arrived but is not the declared file (whole-file SHA-256 mismatch)."""

    reason = Reason.HASH_MISMATCH


class StorageFull(FerryError):
    """Not enough disk space for the request; may succeed once space is freed."""

    reason = Reason.DISK_FULL
    default_retry_after = DISK_FULL_RETRY_SECONDS


class Corrupted(FerryError):
    """Bytes arrived damaged (their CRC32C does not match); sending them again may succeed."""

    reason = Reason.CHECKSUM_MISMATCH


class Busy(FerryError):
    """Someone else is working on the same thing right now; retrying later may succeed."""

    reason = Reason.BUSY
    default_retry_after = BUSY_RETRY_SECONDS


class Overloaded(FerryError):
    """The server is at its limit of concurrent work; retrying later may succeed.

    Two causes: a replica holding its limit of open upload streams (``--max-streams``), and
    every connection of a replica's database pool staying in use for the pool timeout
    (``--db-pool-timeout``): the database is fine, this replica is at its limit.
    """

    reason = Reason.OVERLOADED
    default_retry_after = OVERLOADED_RETRY_SECONDS


class QuotaExceeded(FerryError):
    """The caller's quota is used up; retrying will not help until it changes.

    Reserved for the quotas to come: nothing raises it yet.
    """

    reason = Reason.QUOTA_EXCEEDED


class Unauthenticated(FerryError):
    """The call carries no credentials the server accepts (missing, unknown, malformed, badly
    signed, for another audience or issuer), or a token that expired (TOKEN_EXPIRED)."""

    reason = Reason.UNAUTHENTICATED


class PermissionDenied(FerryError):
    """The caller is known but may not do this: a permission it lacks, or a store_path
    outside its prefixes."""

    reason = Reason.PERMISSION_DENIED


def not_uploading(task_id: str, state: str, message: str) -> IllegalState:
    """The error for a task that takes no blocks because of its ``state``: paused (the caller
    may resume it) or anything else."""
    reason = Reason.TASK_PAUSED if state == "PAUSED" else Reason.TASK_NOT_UPLOADING
    return IllegalState(message, task_id=task_id, reason=reason, facts={"state": state})


class Unavailable(FerryError):
    """Something Ferry depends on (its database) refuses, is unreachable or too slow right now,
    or this replica is shutting down; nothing was changed, and retrying may succeed."""

    reason = Reason.DATABASE_UNAVAILABLE
    default_retry_after = UNAVAILABLE_RETRY_SECONDS


#: How long before retrying after the object store did not answer: a restart or a network
#: blip, on an operator's or the network's scale.
STORE_RETRY_SECONDS = 5.0


class StoreUnavailable(Unavailable):
    """The object store did not answer (after the S3 client's own retries), was throttling,
    or refused Ferry's credentials; retrying later may succeed (UNAVAILABLE with a retry
    delay). The storage backend raises it from the one place that translates the S3 client's
    errors (``storage/objectstore.py``)."""

    reason = Reason.STORE_UNAVAILABLE
    default_retry_after = STORE_RETRY_SECONDS


class StreamIdle(Unavailable):
    """An upload stream sent nothing for the idle timeout while the server owed it no
    acknowledgement; it was ended and its partial block dropped. Reconnecting continues."""

    reason = Reason.STREAM_IDLE
    default_retry_after = 0.0


class CallEnded(FerryError):
    """The call's deadline passed, or its caller cancelled it, before its work was done: the
    work stopped before recording anything more (DEADLINE_EXCEEDED)."""

    reason = Reason.DEADLINE_PASSED
