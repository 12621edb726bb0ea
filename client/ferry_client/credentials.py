"""Sending a bearer token (a service token, a JWT or a task's upload token) on every call of a
channel, retries included: as gRPC call credentials over TLS, as plain ``authorization``
metadata over plaintext, and then only to a loopback address unless the caller insists."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc

AUTHORIZATION = "authorization"


class TokenRefused(ValueError):
    """A token would travel where it should not (plaintext to another host), or is empty."""


def read_token_file(path: str | Path) -> str:
    """The token in ``path``: its first line, without surrounding whitespace."""
    text = Path(path).read_text(encoding="utf-8").strip()
    token = text.splitlines()[0].strip() if text else ""
    if not token:
        raise TokenRefused(f"the token file {path} is empty")
    return token


def is_loopback_target(target: str) -> bool:
    """Whether a gRPC target names this machine (localhost, 127.0.0.0/8, ::1, a Unix socket)."""
    if target.startswith(("unix:", "unix-abstract:")):
        return True
    host = target.removeprefix("dns:///").removeprefix("ipv4:").removeprefix("ipv6:")
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def with_token(
    target: str,
    token: str,
    credentials: grpc.ChannelCredentials | None,
    *,
    allow_plaintext: bool,
) -> tuple[grpc.ChannelCredentials | None, tuple[Any, ...]]:
    """The channel credentials and interceptors that send ``token`` on every call. Over TLS:
    composite credentials with gRPC's access-token call credentials (gRPC itself refuses to
    send call credentials over plaintext). Over plaintext: an interceptor adding the metadata,
    only to a loopback ``target`` unless ``allow_plaintext``."""
    token = token.strip()
    if not token or any(c.isspace() for c in token):
        raise TokenRefused("the token is empty or contains whitespace")
    if credentials is not None:
        call = grpc.access_token_call_credentials(token)
        return grpc.composite_channel_credentials(credentials, call), ()
    if not allow_plaintext and not is_loopback_target(target):
        raise TokenRefused(
            f"refusing to send a token in plaintext to {target}: anyone on the path could "
            "read it; use TLS, or allow plaintext explicitly (insecure_token=True, "
            "--insecure-token)"
        )
    return None, (BearerInterceptor(token),)


class _Details(grpc.ClientCallDetails):
    def __init__(
        self, base: grpc.ClientCallDetails, metadata: tuple[tuple[str, str | bytes], ...]
    ) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


class BearerInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamStreamClientInterceptor,  # type: ignore[type-arg]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[type-arg]
):
    """Adds ``authorization: Bearer TOKEN`` to every call (the token is never logged)."""

    def __init__(self, token: str) -> None:
        self._value = f"Bearer {token}"

    def __repr__(self) -> str:
        return "BearerInterceptor(<token>)"

    def _details(self, details: grpc.ClientCallDetails) -> _Details:
        kept = tuple((k, v) for k, v in (details.metadata or ()) if k != AUTHORIZATION)
        return _Details(details, (*kept, (AUTHORIZATION, self._value)))

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(
        self,
        continuation: Callable[..., Any],
        details: grpc.ClientCallDetails,
        requests: Iterator[Any],
    ) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(
        self,
        continuation: Callable[..., Any],
        details: grpc.ClientCallDetails,
        requests: Iterator[Any],
    ) -> Any:
        return continuation(self._details(details), requests)
