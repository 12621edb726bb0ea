"""The client's exception hierarchy, and the one table that maps gRPC status codes onto it.

``grpc.RpcError`` never leaves the public API: ``transport`` converts every one of them with
:func:`from_rpc_error`. Each exception keeps the status code and the server's own message.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc


class FerryError(Exception):
    """Base of every error the Ferry client raises on purpose.

    ``code`` is the gRPC status code behind the error (``None`` for errors found by the client
    itself), ``message`` the server's message unchanged, and ``task_id`` the task concerned
    when the client knows it.
    """

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        task_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.task_id = task_id

    def __str__(self) -> str:
        if self.code is None:
            return self.message
        return f"{self.message} ({self.code.name})"


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
    ) -> None:
        super().__init__(message, code=code, task_id=task_id)
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


class SourceChanged(FerryError):
    """The local file changed while it was being uploaded; upload it again."""


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


def error_for(code: grpc.StatusCode, message: str, *, task_id: str | None = None) -> FerryError:
    """The exception for a status ``code`` carrying the server's ``message``."""
    cls = ERROR_BY_CODE.get(code, ServerError)
    return cls(
        message or f"the server answered {code.name} without a message", code=code, task_id=task_id
    )


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
        details = error.details() or ""
        if task_id is None:
            task_id = _task_id_from(error)
    else:
        code = grpc.StatusCode.UNKNOWN
        details = str(error)
    return error_for(code, details, task_id=task_id)
