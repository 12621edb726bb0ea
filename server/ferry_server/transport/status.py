"""Mapping domain errors to gRPC status codes: the one table, and one decorator per RPC shape."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import NoReturn, TypeVar

import grpc

from ferry_server.domain.errors import (
    Busy,
    Conflict,
    Corrupted,
    FerryError,
    IllegalState,
    IntegrityFailure,
    InvalidArgument,
    OutOfRange,
    StorageFull,
    TaskNotFound,
)

log = logging.getLogger("ferry.rpc")

#: Trailing metadata key naming the task an error is about (see ferry.proto).
TASK_ID_METADATA = "ferry-task-id"

STATUS_BY_ERROR: Mapping[type[FerryError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    TaskNotFound: grpc.StatusCode.NOT_FOUND,
    IllegalState: grpc.StatusCode.FAILED_PRECONDITION,
    Conflict: grpc.StatusCode.ALREADY_EXISTS,
    IntegrityFailure: grpc.StatusCode.DATA_LOSS,
    StorageFull: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Busy: grpc.StatusCode.ABORTED,
    Corrupted: grpc.StatusCode.ABORTED,
}


def status_for(error: FerryError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        code = STATUS_BY_ERROR.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL


def _abort(context: grpc.ServicerContext, method: str, error: Exception) -> NoReturn:
    if isinstance(error, FerryError):
        code = status_for(error)
        log.debug("%s -> %s: %s", method, code.name, error.message)
        if error.task_id:
            context.set_trailing_metadata(((TASK_ID_METADATA, error.task_id),))
        context.abort(code, error.message)
    log.exception("%s failed on a bug", method, exc_info=error)
    context.abort(grpc.StatusCode.INTERNAL, "internal server error; the server log has details")


Req = TypeVar("Req")
Resp = TypeVar("Resp")
Servicer = TypeVar("Servicer")


def unary_rpc(
    method: Callable[[Servicer, Req, grpc.ServicerContext], Resp],
) -> Callable[[Servicer, Req, grpc.ServicerContext], Resp]:
    """Run a unary-unary handler, turning domain errors and bugs into gRPC statuses."""

    @functools.wraps(method)
    def handler(self: Servicer, request: Req, context: grpc.ServicerContext) -> Resp:
        try:
            return method(self, request, context)
        except Exception as exc:
            _abort(context, method.__name__, exc)

    return handler


def stream_rpc(
    method: Callable[[Servicer, Iterator[Req], grpc.ServicerContext], Iterator[Resp]],
) -> Callable[[Servicer, Iterator[Req], grpc.ServicerContext], Iterator[Resp]]:
    """Run a stream-stream handler, turning domain errors and bugs into gRPC statuses."""

    @functools.wraps(method)
    def handler(
        self: Servicer, requests: Iterator[Req], context: grpc.ServicerContext
    ) -> Iterator[Resp]:
        try:
            yield from method(self, requests, context)
        except grpc.RpcError:
            # The request iterator raises this when the client went away: nobody to answer.
            log.debug("%s: the client cancelled the stream", method.__name__)
        except Exception as exc:
            _abort(context, method.__name__, exc)

    return handler
