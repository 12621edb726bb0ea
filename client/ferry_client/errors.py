"""The client's exception hierarchy, the one table that maps gRPC status codes onto it, and
the reading of the server's machine-readable error details.

``grpc.RpcError`` never leaves the public API: ``transport`` converts every one of them with
:func:`from_rpc_error`. Each exception keeps the status code, the server's own message and,
when the server sent them (``grpc-status-details-bin``, see protos/ferry/v1/errors.proto), the
ErrorInfo reason, domain and metadata, the advised retry delay, the field violations and the
missing block ranges. Statuses from the gRPC runtime itself (deadline, unreachable server)
carry none of these: their ``reason`` is ``None``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from ferry_client.planning import BlockRange

log = logging.getLogger("ferry.client")

#: ``ErrorInfo.domain`` of Ferry's own reasons.
FERRY_DOMAIN = "ferry.v1"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One ``google.rpc.BadRequest`` field violation: the request field and what is wrong."""

    field: str
    description: str


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """What a status's ``google.rpc`` details say (all empty when it carried none)."""

    reason: str | None = None
    domain: str | None = None
    metadata: Mapping[str, str] | None = None
    retry_delay: float | None = None
    field_violations: tuple[FieldViolation, ...] = ()
    missing_ranges: tuple[BlockRange, ...] = ()
    resource_name: str | None = None


class FerryError(Exception):
    """Base of every error the Ferry client raises on purpose.

    ``code`` is the gRPC status code behind the error (``None`` for errors found by the client
    itself), ``message`` the server's message unchanged, and ``task_id`` the task concerned
    when the client knows it. From the server's error details, when it sent them:

    - ``reason``: the ``ferry.v1.ErrorReason`` name (e.g. ``"STORE_PATH_TAKEN"``), stable
      across versions: branch on it, not on the message; ``domain`` is then ``"ferry.v1"``.
    - ``metadata``: facts about the error, e.g. ``{"taskId": ..., "blockIndex": "3"}``.
    - ``retry_delay``: seconds the server advises waiting before a retry.
    - ``field_violations``: the request fields at fault (INVALID_ARGUMENT, OUT_OF_RANGE).
    - ``missing_ranges``: the blocks Merge found missing (BLOCKS_MISSING), half-open ranges.
    """

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        task_id: str | None = None,
        details: ErrorDetails | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.task_id = task_id
        self.details = details if details is not None else ErrorDetails()

    @property
    def reason(self) -> str | None:
        return self.details.reason

    @property
    def domain(self) -> str | None:
        return self.details.domain

    @property
    def metadata(self) -> Mapping[str, str]:
        return self.details.metadata or {}

    @property
    def retry_delay(self) -> float | None:
        return self.details.retry_delay

    @property
    def field_violations(self) -> tuple[FieldViolation, ...]:
        return self.details.field_violations

    @property
    def missing_ranges(self) -> tuple[BlockRange, ...]:
        return self.details.missing_ranges

    @property
    def ferry_reason(self) -> str | None:
        """``reason`` if it is one of Ferry's own (domain ``ferry.v1``), else ``None``."""
        return self.reason if self.domain == FERRY_DOMAIN else None

    def with_message(self, message: str) -> Self:
        """A copy of this error with another message (the same class, code and details)."""
        clone = copy.copy(self)
        clone.message = message
        clone.args = (message,)
        return clone

    def __str__(self) -> str:
        label = ": ".join(x for x in (self.code.name if self.code else None, self.reason) if x)
        return f"{self.message} ({label})" if label else self.message


class InvalidRequest(FerryError):
    """The server rejected the request itself: a bad store_path, size, block size, offset..."""


class NotFound(FerryError):
    """No task has this id (or it belongs to someone else)."""


class AlreadyExists(FerryError):
    """Another active task targets the store_path, or a file is already published there."""


class PermissionDenied(FerryError):
    """The caller is not allowed to do this."""


class PreconditionFailed(FerryError):
    """The task is not in a state that allows the request."""


class TaskPaused(PreconditionFailed):
    """The task was paused (possibly by another client); resume it and upload again."""


class TaskEnded(PreconditionFailed):
    """The task was canceled, expired or failed: it can never take blocks again.

    ``state`` names the terminal state (a :class:`ferry_client.TaskState` value).
    """

    def __init__(
        self,
        message: str,
        *,
        state: str,
        code: grpc.StatusCode | None = None,
        task_id: str | None = None,
        details: ErrorDetails | None = None,
    ) -> None:
        super().__init__(message, code=code, task_id=task_id, details=details)
        self.state = state


class IntegrityError(FerryError):
    """The bytes the server holds are not the declared file (whole-file SHA-256 mismatch)."""


class TransientError(FerryError):
    """A failure that may go away by itself (server restarting, connection lost, busy).

    The client retries these under its :class:`~ferry_client.RetryPolicy`; one reaches the
    caller only once the policy gives up, and then says how many attempts were made.
    """


class ChecksumMismatch(TransientError):
    """The server received a block whose CRC32C did not match: corrupted in transit."""


class ServerError(FerryError):
    """The server failed in a way it should not (INTERNAL, UNKNOWN, UNIMPLEMENTED...)."""


class QuotaExceeded(FerryError):
    """RESOURCE_EXHAUSTED with reason QUOTA_EXCEEDED: a limit of the caller's (active tasks,
    declared bytes, open streams) or of the server's disk is reached; ``details.metadata``
    names it (``limit``). Not retried: it changes when tasks complete or the operator acts."""


class SourceChanged(FerryError):
    """The local file changed while it was being uploaded; upload it again."""


class CannotConnect(FerryError):
    """The client never reached a Ferry server at its address: ``address`` names it and
    ``why`` says what was found there (no such host, an HTTP/1 server, a gRPC server without
    Ferry's service, TLS on one side only). Retrying will not help until something changes."""

    def __init__(self, address: str, why: str) -> None:
        super().__init__(f"cannot connect to a Ferry server at {address}: {why}")
        self.address = address
        self.why = why


class ServerUnreachable(CannotConnect, TransientError):
    """Nothing answered at the address (connection refused, no route, timed out, or a
    temporary DNS failure): the server may be down or starting, so retrying later may help."""


#: The one table from status code to exception class. Codes not listed are ServerError.
ERROR_BY_CODE: Mapping[grpc.StatusCode, type[FerryError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequest,
    grpc.StatusCode.OUT_OF_RANGE: InvalidRequest,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: PermissionDenied,
    grpc.StatusCode.FAILED_PRECONDITION: PreconditionFailed,
    grpc.StatusCode.DATA_LOSS: IntegrityError,
    grpc.StatusCode.UNAVAILABLE: TransientError,
    grpc.StatusCode.DEADLINE_EXCEEDED: TransientError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: TransientError,
    grpc.StatusCode.ABORTED: TransientError,
}


#: Reasons whose exception is not the code's (checked before :data:`ERROR_BY_CODE`).
ERROR_BY_REASON: Mapping[str, type[FerryError]] = {"QUOTA_EXCEEDED": QuotaExceeded}


def error_for(
    code: grpc.StatusCode,
    message: str,
    *,
    task_id: str | None = None,
    details: ErrorDetails | None = None,
) -> FerryError:
    """The exception for a status ``code`` carrying the server's ``message`` and ``details``."""
    cls = ERROR_BY_REASON.get(details.reason or "") if details is not None else None
    if cls is None:
        cls = ERROR_BY_CODE.get(code, ServerError)
    return cls(
        message or f"the server answered {code.name} without a message",
        code=code,
        task_id=task_id,
        details=details,
    )


def parse_details(status: Any) -> ErrorDetails:
    """The facts in a ``google.rpc.Status``'s details; unknown detail types are skipped."""
    found: dict[str, Any] = {}
    violations: list[FieldViolation] = []
    ranges: list[BlockRange] = []
    for packed in status.details:
        if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            found.update(reason=info.reason, domain=info.domain, metadata=dict(info.metadata))
        elif packed.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            packed.Unpack(retry)
            found["retry_delay"] = max(0.0, retry.retry_delay.ToTimedelta().total_seconds())
        elif packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            packed.Unpack(bad)
            violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
        elif packed.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            packed.Unpack(failure)
            ranges += [r for v in failure.violations if (r := _blocks_subject(v.type, v.subject))]
        elif packed.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            resource = error_details_pb2.ResourceInfo()
            packed.Unpack(resource)
            found["resource_name"] = resource.resource_name or None
    return ErrorDetails(field_violations=tuple(violations), missing_ranges=tuple(ranges), **found)


def _blocks_subject(kind: str, subject: str) -> BlockRange | None:
    """``blocks/FIRST-LAST`` (inclusive) as a half-open range, for a BLOCKS_MISSING violation."""
    if kind != "BLOCKS_MISSING" or not subject.startswith("blocks/"):
        return None
    first, _, last = subject.removeprefix("blocks/").partition("-")
    try:
        return BlockRange(int(first), int(last or first) + 1)
    except ValueError:
        return None


def details_from_call(call: grpc.Call) -> ErrorDetails:
    """The details in a failed call's ``grpc-status-details-bin`` trailer, if it has any."""
    try:
        status: status_pb2.Status | None = rpc_status.from_call(call)
    except (ValueError, DecodeError) as exc:
        # Details that disagree with the status, or bytes that do not parse: the status stands.
        log.debug("ignoring unreadable error details: %r", exc)
        return ErrorDetails()
    return parse_details(status) if status is not None else ErrorDetails()


#: Trailing metadata key in which the server names the task an error is about.
TASK_ID_METADATA = "ferry-task-id"


def _task_id_from(call: grpc.Call) -> str | None:
    for key, value in call.trailing_metadata() or ():
        if key == TASK_ID_METADATA:
            return value if isinstance(value, str) else value.decode()
    return None


def from_rpc_error(error: grpc.RpcError, *, task_id: str | None = None) -> FerryError:
    """Convert a ``grpc.RpcError`` (which is also a ``grpc.Call``) into a :class:`FerryError`."""
    if isinstance(error, grpc.Call):
        code = error.code()
        message = error.details() or ""
        if task_id is None:
            task_id = _task_id_from(error)
        details = details_from_call(error)
    else:
        code = grpc.StatusCode.UNKNOWN
        message = str(error)
        details = ErrorDetails()
    return error_for(code, message, task_id=task_id, details=details)
