"""A call's credentials as plain values for the domain's Authenticator: the ``authorization``
metadata and the identities of the client certificate gRPC verified (SAN URIs and DNS names,
then the subject CN)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import grpc

from ferry_server.domain.errors import Unauthenticated
from ferry_server.domain.ports import Credentials

AUTHORIZATION = "authorization"


def call_credentials(context: grpc.aio.ServicerContext[Any, Any], method: str) -> Credentials:
    """What the call presents; Unauthenticated when it sends ``authorization`` twice (which of
    the two would count is not for the server to guess)."""
    values = [
        value
        for key, value in context.invocation_metadata() or ()
        if key == AUTHORIZATION and isinstance(value, str)
    ]
    if len(values) > 1:
        raise Unauthenticated("the call sends the authorization metadata more than once")
    return Credentials(
        authorization=values[0] if values else None,
        # grpc-stubs says bytes; each value is a list of bytes.
        certificate_identities=certificate_identities(cast(Any, context.auth_context())),
        method=method,
        peer=context.peer(),
    )


def certificate_identities(auth: Mapping[str, Iterable[bytes]]) -> tuple[str, ...]:
    """The identities of the peer's certificate, present only on a TLS connection whose client
    certificate the server required and verified against its client CA."""
    if list(auth.get("transport_security_type", ())) != [b"ssl"]:
        return ()
    names = [*auth.get("x509_subject_alternative_name", ()), *auth.get("x509_common_name", ())]
    return tuple(dict.fromkeys(n.decode("utf-8", "replace") for n in names))
