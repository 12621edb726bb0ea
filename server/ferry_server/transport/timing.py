"""A gRPC server interceptor that times every RPC and reports its method and status code."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import grpc


class RpcObserver(Protocol):
    def rpc_finished(self, method: str, code: str, seconds: float) -> None: ...


def _code(context: grpc.ServicerContext, failed: bool) -> str:
    # abort() records its code on the context; an exception that is not an abort is UNKNOWN.
    code = context.code()  # type: ignore[attr-defined]
    if code is None:
        return "UNKNOWN" if failed else "OK"
    return str(code.name)


_FACTORIES: dict[str, Callable[..., grpc.RpcMethodHandler[Any, Any]]] = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}


class TimingInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps each method's behaviour; a streaming reply is timed until its last message."""

    def __init__(self, observer: RpcObserver) -> None:
        self._observer = observer

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        kind = ("stream" if handler.request_streaming else "unary") + (
            "_stream" if handler.response_streaming else "_unary"
        )
        timed = self._streaming if handler.response_streaming else self._unary
        return _FACTORIES[kind](
            timed(method, getattr(handler, kind)),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _unary(self, method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
        def timed(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.monotonic()
            failed = True
            try:
                reply = behaviour(request, context)
                failed = False
                return reply
            finally:
                self._observer.rpc_finished(
                    method, _code(context, failed), time.monotonic() - started
                )

        return timed

    def _streaming(self, method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
        def timed(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.monotonic()
            failed = True
            try:
                yield from behaviour(request, context)
                failed = False
            finally:
                self._observer.rpc_finished(
                    method, _code(context, failed), time.monotonic() - started
                )

        return timed
