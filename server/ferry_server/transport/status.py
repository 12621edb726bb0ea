"""Mapping domain errors to gRPC statuses: the one table from error class to status code, the
google.rpc error details each error carries, and one decorator per RPC shape.

Every status a handler returns carries a ``google.rpc.Status`` in the
``grpc-status-details-bin`` trailer (protos/ferry/v1/errors.proto documents the details).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from ferry_server.domain.calls import Call, calling
from ferry_server.domain.errors import (
    BlocksMissing,
    Busy,
    CallEnded,
    Conflict,
    Corrupted,
    FerryError,
    FileNotFound,
    IllegalState,
    IntegrityFailure,
    InvalidArgument,
    OutOfRange,
    Overloaded,
    QuotaExceeded,
    Reason,
    StorageFull,
    TaskNotFound,
    Unavailable,
)
from ferry_server.domain.model import about

log = logging.getLogger("ferry.rpc")

#: Trailing metadata key naming the task an error is about (see ferry.proto).
TASK_ID_METADATA = "ferry-task-id"
#: ``google.rpc.ErrorInfo.domain`` of every Ferry error: the proto package of ErrorReason.
ERROR_DOMAIN = "ferry.v1"
#: ``google.rpc.ResourceInfo.resource_type`` of a task.
TASK_RESOURCE_TYPE = "ferry.v1.Task"
#: Missing ranges listed in a PreconditionFailure at most; QueryMissingBlocks has the whole
#: list.
MAX_LISTED_RANGES = 32
#: Longest message sent, in UTF-8 bytes. The message travels three times (grpc-message, and
#: twice in the details), and a client drops a reply whose headers pass 8 KiB (gRPC's
#: default soft limit) as RESOURCE_EXHAUSTED: a message echoing a caller's long input (a
#: store_path, an unknown task id) would otherwise turn any error into that.
MAX_MESSAGE_BYTES = 512

STATUS_BY_ERROR: Mapping[type[FerryError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    TaskNotFound: grpc.StatusCode.NOT_FOUND,
    FileNotFound: grpc.StatusCode.NOT_FOUND,
    IllegalState: grpc.StatusCode.FAILED_PRECONDITION,
    Conflict: grpc.StatusCode.ALREADY_EXISTS,
    IntegrityFailure: grpc.StatusCode.DATA_LOSS,
    StorageFull: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Overloaded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    QuotaExceeded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Busy: grpc.StatusCode.ABORTED,
    Corrupted: grpc.StatusCode.ABORTED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
    CallEnded: grpc.StatusCode.DEADLINE_EXCEEDED,
}

_FIELD_ERROR_CODES = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE})
_INTERNAL_MESSAGE = "internal server error; the server log has details"


def status_for(error: FerryError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        code = STATUS_BY_ERROR.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL


def rich_status(error: FerryError) -> status_pb2.Status:
    """The ``google.rpc.Status`` for ``error``: its code, message and details."""
    code = status_for(error)
    message = bounded(error.message)
    reason = error.reason if code != grpc.StatusCode.INTERNAL else Reason.INTERNAL_ERROR
    details: list[Message] = [
        error_details_pb2.ErrorInfo(reason=reason.value, domain=ERROR_DOMAIN, metadata=error.facts)
    ]
    if code in _FIELD_ERROR_CODES:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error.field or "", description=message
        )
        details.append(error_details_pb2.BadRequest(field_violations=[violation]))
    if isinstance(error, BlocksMissing):
        details.append(_missing_blocks(error))
    if error.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(round(error.retry_after * 1000))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    if error.task_id and _is_header_value(error.task_id):
        details.append(
            error_details_pb2.ResourceInfo(
                resource_type=TASK_RESOURCE_TYPE, resource_name=error.task_id
            )
        )
    return _status(code, message, details)


def internal_status() -> status_pb2.Status:
    """The status for a bug: no detail of it leaves the server but the reason."""
    info = error_details_pb2.ErrorInfo(reason=Reason.INTERNAL_ERROR.value, domain=ERROR_DOMAIN)
    return _status(grpc.StatusCode.INTERNAL, _INTERNAL_MESSAGE, [info])


def _status(code: grpc.StatusCode, message: str, details: list[Message]) -> status_pb2.Status:
    packed = []
    for detail in details:
        wrapper = any_pb2.Any()
        wrapper.Pack(detail)
        packed.append(wrapper)
    number: int = code.value[0]
    return status_pb2.Status(code=number, message=message, details=packed)


def _missing_blocks(error: BlocksMissing) -> error_details_pb2.PreconditionFailure:
    violations = [
        error_details_pb2.PreconditionFailure.Violation(
            type=Reason.BLOCKS_MISSING.value,
            subject=f"blocks/{r.start}-{r.end - 1}",
            description="not committed",
        )
        for r in error.missing[:MAX_LISTED_RANGES]
    ]
    return error_details_pb2.PreconditionFailure(violations=violations)


def bounded(message: str, limit: int = MAX_MESSAGE_BYTES) -> str:
    """``message`` cut to at most about ``limit`` UTF-8 bytes in its middle, where an echoed
    input sits, keeping the start (what is wrong) and the end (what to do)."""
    encoded = message.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return message
    head = encoded[: limit * 3 // 5].decode("utf-8", "ignore")
    tail = encoded[-(limit // 3) :].decode("utf-8", "ignore")
    return f"{head} [...] {tail}"


def _is_header_value(value: str) -> bool:
    """Whether ``value`` may travel as an ASCII metadata value (printable, no spaces)."""
    return value.isascii() and value.isprintable() and " " not in value and bool(value)


#: The aio servicer context every handler gets.
Context = grpc.aio.ServicerContext[Any, Any]


async def _abort(context: Context, method: str, error: Exception) -> NoReturn:
    if isinstance(error, FerryError):
        status = rpc_status.to_status(rich_status(error))
        log.debug("%s -> %s %s: %s", method, status.code.name, error.reason, error.message,
                  extra=about(error.task_id or ""))  # fmt: skip
    else:
        log.exception("%s failed on a bug", method, exc_info=error)
        status = rpc_status.to_status(internal_status())
    trailers = tuple(status.trailing_metadata)
    if isinstance(error, FerryError) and error.task_id and _is_header_value(error.task_id):
        trailers += ((TASK_ID_METADATA, error.task_id),)
    await context.abort(status.code, status.details, trailers)
    raise AssertionError("unreachable: abort() raises")  # for type checkers: abort -> NoReturn


Req = TypeVar("Req")
Resp = TypeVar("Resp")
Servicer = TypeVar("Servicer")
Msg = TypeVar("Msg", bound=Message)


def parsing(
    request_type: type[Msg], handler: Callable[[Msg, Context], Awaitable[Resp]]
) -> Callable[[bytes, Context], Awaitable[Resp]]:
    """``handler`` taking its request as wire bytes and parsing them itself: bytes that are no
    ``request_type`` answer INVALID_ARGUMENT, where gRPC's own deserializer would answer
    INTERNAL and log a traceback."""
    name = request_type.DESCRIPTOR.full_name
    method = getattr(handler, "__name__", name)

    async def handle(raw: bytes, context: Context) -> Resp:
        try:
            request = request_type.FromString(raw)
        except DecodeError as exc:
            malformed = InvalidArgument(
                f"the request is not a valid {name}: {exc}", reason=Reason.MALFORMED_MESSAGE
            )
            await _abort(context, method, malformed)
        return await handler(request, context)

    return handle


def _call_for(method: str, context: Context) -> Call:
    remaining = context.time_remaining()
    return Call(method, None if remaining is None else time.monotonic() + remaining)


def unary_rpc(
    method: Callable[[Servicer, Req, Context], Awaitable[Resp]],
) -> Callable[[Servicer, Req, Context], Awaitable[Resp]]:
    """Run a unary-unary handler as a :class:`Call` (its deadline and cancellation reach the
    blocking work), turning domain errors and bugs into gRPC statuses."""

    @functools.wraps(method)
    async def handler(self: Servicer, request: Req, context: Context) -> Resp:
        with calling(_call_for(method.__name__, context)) as call:
            try:
                return await method(self, request, context)
            except asyncio.CancelledError:
                # The caller went away or its deadline passed: the blocking work stops at its
                # next checkpoint.
                call.cancel()
                raise
            except Exception as exc:
                await _abort(context, method.__name__, exc)

    return handler


def stream_rpc(
    method: Callable[[Servicer, AsyncIterator[Req], Context], Awaitable[None]],
) -> Callable[[Servicer, AsyncIterator[Req], Context], Awaitable[None]]:
    """Run a stream-stream handler (written with ``context.read``/``context.write``) as a
    :class:`Call`, turning domain errors and bugs into gRPC statuses."""

    @functools.wraps(method)
    async def handler(self: Servicer, requests: AsyncIterator[Req], context: Context) -> None:
        with calling(_call_for(method.__name__, context)) as call:
            try:
                await method(self, requests, context)
            except asyncio.CancelledError:
                call.cancel()
                log.debug("%s: the client cancelled the stream", method.__name__)
                raise
            except Exception as exc:
                await _abort(context, method.__name__, exc)

    return handler


def server_stream_rpc(
    method: Callable[[Servicer, Req, Context], AsyncIterator[Resp]],
) -> Callable[[Servicer, Req, Context], Awaitable[None]]:
    """Run a unary-stream handler (an async generator) as a :class:`Call`, sending what it
    yields, turning domain errors and bugs into gRPC statuses (also those raised after the
    first message)."""

    @functools.wraps(method)
    async def handler(self: Servicer, request: Req, context: Context) -> None:
        with calling(_call_for(method.__name__, context)) as call:
            try:
                async for reply in method(self, request, context):
                    await context.write(reply)
            except asyncio.CancelledError:
                call.cancel()
                raise
            except Exception as exc:
                await _abort(context, method.__name__, exc)

    return handler
