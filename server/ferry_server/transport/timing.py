"""A gRPC aio server interceptor that times every RPC and reports its method and status code."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import grpc


class RpcObserver(Protocol):
    def rpc_finished(self, method: str, code: str, seconds: float) -> None: ...


def _code(context: grpc.aio.ServicerContext[Any, Any], failed: bool) -> str:
    # abort() records its code on the context; an exception that is not an abort is UNKNOWN.
    code = context.code()
    if code is None:
        return "UNKNOWN" if failed else "OK"
    if isinstance(code, int):  # the aio context may report the number
        return _NAMES.get(code, str(code))
    return str(code.name)


_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


_FACTORIES: dict[str, Callable[..., grpc.RpcMethodHandler[Any, Any]]] = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}


class TimingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps each method's behaviour; a streaming reply is timed until its last message.

    Streaming behaviours come in two styles (an async generator, or a coroutine writing with
    ``context.write``, as grpc.health's Watch); the wrapper is always the latter.
    """

    def __init__(self, observer: RpcObserver) -> None:
        self._observer = observer

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler: grpc.RpcMethodHandler[Any, Any] | None = await continuation(handler_call_details)
        if handler is None:  # an unknown method: gRPC answers UNIMPLEMENTED itself
            return handler  # type: ignore[return-value]  # grpc-stubs omit the None
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
        async def timed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = time.monotonic()
            failed = True
            try:
                reply = await behaviour(request, context)
                failed = False
                return reply
            finally:
                self._observer.rpc_finished(
                    method, _code(context, failed), time.monotonic() - started
                )

        return timed

    def _streaming(self, method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
        async def timed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
            started = time.monotonic()
            failed = True
            try:
                result = behaviour(request, context)
                if inspect.isasyncgen(result):
                    async for reply in result:
                        await context.write(reply)
                else:
                    await result
                failed = False
            finally:
                self._observer.rpc_finished(
                    method, _code(context, failed), time.monotonic() - started
                )

        return timed
