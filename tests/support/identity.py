"""Credentials for tests: principals files with fresh service tokens, stubs that send a token,
and an identity provider's signing keys with their JWKS and JWTs."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client.credentials import BearerInterceptor
from ferry_server.identity.principals import token_sha256


@dataclass(frozen=True)
class Entry:
    """One principal's service token and its principals-file entry."""

    principal: str
    permissions: Sequence[str]
    prefixes: Sequence[str]
    token: str = field(default_factory=lambda: "fst_" + secrets.token_urlsafe(32))

    def toml(self) -> str:
        return (
            "[[token]]\n"
            f"principal = {json.dumps(self.principal)}\n"
            f"sha256 = {json.dumps(token_sha256(self.token))}\n"
            f"permissions = {json.dumps(list(self.permissions))}\n"
            f"prefixes = {json.dumps(list(self.prefixes))}\n"
        )


def write_principals(path: Path, entries: Sequence[Entry], extra: str = "") -> None:
    """Write the file whole and atomically, as a configuration manager would."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(e.toml() for e in entries) + extra)
    tmp.replace(path)


@contextmanager
def token_stub(address: str, token: str | None) -> Iterator[rpc.FerryServiceStub]:
    """A stub whose every call carries ``token`` (none: no credentials)."""
    with grpc.insecure_channel(address) as channel:
        used = (
            channel if token is None else grpc.intercept_channel(channel, BearerInterceptor(token))
        )
        yield rpc.FerryServiceStub(used)


class IdentityProvider:
    """An identity provider's keys: an RSA and an EC key, each with a kid; writes the JWKS
    and signs JWTs."""

    def __init__(self, issuer: str = "https://idp.test", audience: str = "ferry") -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys: dict[str, tuple[str, Any]] = {}
        self.add_key("rsa-1", "RS256")
        self.add_key("ec-1", "ES256")

    def add_key(self, kid: str, alg: str) -> None:
        key: Any = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if alg.startswith(("RS", "PS"))
            else ec.generate_private_key(ec.SECP256R1())
        )
        self.keys[kid] = (alg, key)

    def jwks(self, kids: Sequence[str] | None = None) -> dict[str, Any]:
        chosen = self.keys if kids is None else {k: self.keys[k] for k in kids}
        keys = []
        for kid, (alg, key) in chosen.items():
            algorithm = jwt.get_algorithm_by_name(alg)
            public = json.loads(algorithm.to_jwk(key.public_key()))
            keys.append({**public, "kid": kid, "alg": alg, "use": "sig"})
        return {"keys": keys}

    def write_jwks(self, path: Path, kids: Sequence[str] | None = None) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.jwks(kids)))
        tmp.replace(path)

    def token(
        self,
        subject: str,
        *,
        kid: str = "rsa-1",
        permissions: Sequence[str] | str = ("create", "upload", "read", "control"),
        prefixes: Sequence[str] = ("",),
        claims: Mapping[str, Any] | None = None,
        lifetime: float = 300,
        alg: str | None = None,
        key: Any = None,
    ) -> str:
        # An unknown kid is signed with the first key: the server must still refuse it.
        key_alg, private = self.keys.get(kid, self.keys["rsa-1"])
        now = int(time.time())
        payload: dict[str, Any] = {
            "sub": subject,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + int(lifetime),
            "ferry_permissions": list(permissions)
            if not isinstance(permissions, str)
            else permissions,
            "ferry_prefixes": list(prefixes),
        }
        payload.update(claims or {})
        return jwt.encode(
            payload,
            key if key is not None else private,
            algorithm=alg or key_alg,
            headers={"kid": kid},
        )
