"""JWT bearer tokens on a real server: claims map to the principal, permissions and prefixes;
a wrong audience, issuer or algorithm (``none``, HS256 keyed with the public key), an expired
token and an unknown key are refused; a rotated JWKS (file or URL) is picked up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from ferry.v1 import ferry_pb2 as pb
from ferry_server.app import FerryServer, create_server
from ferry_server.config import Settings
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support.identity import IdentityProvider, token_stub
from tests.support.protocol import create


@pytest.fixture
def idp() -> IdentityProvider:
    return IdentityProvider()


@pytest.fixture
def jwks_file(tmp_path: Path, idp: IdentityProvider) -> Path:
    path = tmp_path / "jwks.json"
    idp.write_jwks(path)
    return path


@pytest.fixture
def settings(settings: Settings, jwks_file: Path, idp: IdentityProvider) -> Settings:
    return settings.replace(
        jwt_jwks=str(jwks_file),
        jwt_issuer=idp.issuer,
        jwt_audience=idp.audience,
        jwt_algorithms=("RS256", "ES256"),
        jwt_leeway_seconds=0,
    )


def status_of(call: Callable[[], object]) -> tuple[grpc.StatusCode | None, str]:
    """OK, or the code and reason the call failed with."""
    try:
        call()
    except grpc.RpcError as exc:
        status = rpc_status.from_call(exc)  # type: ignore[arg-type]
        assert status is not None
        info = error_details_pb2.ErrorInfo()
        assert status.details[0].Unpack(info)
        return exc.code(), info.reason  # type: ignore[attr-defined]
    return grpc.StatusCode.OK, ""


def declare(server: FerryServer, token: str, store_path: str) -> tuple[grpc.StatusCode | None, str]:
    with token_stub(server.address, token) as stub:
        return status_of(lambda: create(stub, b"jwt" * 10, store_path))


UNAUTHENTICATED = (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
OK = (grpc.StatusCode.OK, "")


def test_jwt_claims_map_to_principal_permissions_and_prefixes(
    server: FerryServer, idp: IdentityProvider
) -> None:
    token = idp.token("svc-billing", prefixes=["billing"], kid="ec-1")
    assert declare(server, token, "billing/a.bin") == OK
    assert declare(server, token, "other/a.bin") == (
        grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")  # fmt: skip
    # Permissions as one space-separated string (the OAuth "scope" style); unknown ones ignored.
    reader = idp.token("svc-billing", permissions="read some-other-service:write")
    assert declare(server, reader, "billing/b.bin") == (
        grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")  # fmt: skip
    with token_stub(server.address, token) as stub:
        task = create(stub, b"x" * 5, "billing/c.bin")
    with token_stub(server.address, reader) as stub:
        # The same principal (sub) reads the task another of its tokens created.
        assert stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.task_id == task.task_id
    with token_stub(server.address, idp.token("svc-other")) as stub:
        assert status_of(lambda: stub.GetTask(pb.GetTaskRequest(task_id=task.task_id))) == (
            grpc.StatusCode.NOT_FOUND, "TASK_NOT_FOUND")  # fmt: skip


def _unsigned(payload: dict[str, object], header: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(payload)}."


def test_forged_and_mistaken_jwts_are_refused(server: FerryServer, idp: IdentityProvider) -> None:
    good = idp.token("mallory")
    payload = json.loads(base64.urlsafe_b64decode(good.split(".")[1] + "=="))
    _, rsa_key = idp.keys["rsa-1"]
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    other_idp = IdentityProvider()
    other_idp.add_key("rsa-9", "RS256")
    cases = {
        "wrong audience": idp.token("mallory", claims={"aud": "another-service"}),
        "wrong issuer": idp.token("mallory", claims={"iss": "https://evil.test"}),
        "alg none": _unsigned(payload, {"alg": "none", "kid": "rsa-1", "typ": "JWT"}),
        "HS256 keyed with the public key": _hs256(payload, public_pem),
        "unknown kid": other_idp.token("mallory", kid="rsa-9"),
        "signed by another key with a known kid": other_idp.token("mallory", kid="rsa-1"),
        "ES256 header on the RSA key": idp.token(
            "mallory", kid="rsa-1", alg="ES256", key=idp.keys["ec-1"][1]
        ),
        "no sub": idp.token("mallory", claims={"sub": None}),
        "garbage": "a.b.c",
    }
    for name, token in cases.items():
        assert declare(server, token, "m.bin") == UNAUTHENTICATED, name
    expired = idp.token("mallory", lifetime=-5)
    assert declare(server, expired, "m.bin") == (
        grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")  # fmt: skip
    assert declare(server, good, "m.bin") == OK


def _hs256(payload: dict[str, object], secret: bytes) -> str:
    header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    unsigned = _unsigned(payload, header)[:-1]
    signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
    return unsigned + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)


def test_jwks_file_rotation_is_picked_up(
    server: FerryServer, idp: IdentityProvider, jwks_file: Path
) -> None:
    old = idp.token("svc", kid="rsa-1")
    idp.add_key("rsa-2", "RS256")
    new = idp.token("svc", kid="rsa-2")
    assert declare(server, new, "a.bin") == UNAUTHENTICATED
    # Rotation: the new key published, then the old one withdrawn.
    idp.write_jwks(jwks_file, ["rsa-1", "rsa-2", "ec-1"])
    eventually(lambda: declare(server, new, "b.bin") == OK, "the new key accepted")
    idp.write_jwks(jwks_file, ["rsa-2"])
    eventually(lambda: declare(server, old, "c.bin") == UNAUTHENTICATED, "the old key refused")
    assert declare(server, new, "d.bin") == OK


class _Jwks:
    """A JWKS served over HTTP on loopback, counting its fetches."""

    def __init__(self, idp: IdentityProvider) -> None:
        self.document = json.dumps(idp.jwks()).encode()
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(jwks.document)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_url(idp: IdentityProvider) -> Iterator[_Jwks]:
    served = _Jwks(idp)
    try:
        yield served
    finally:
        served.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_jwks_url_is_fetched_again_for_an_unknown_kid_at_most_once_a_period(
    settings: Settings, idp: IdentityProvider, jwks_url: _Jwks
) -> None:
    server = create_server(settings.replace(jwt_jwks=jwks_url.url, jwks_refresh_seconds=3600))
    server.start()
    try:
        assert jwks_url.fetches == 1
        assert declare(server, idp.token("svc"), "a.bin") == OK
        idp.add_key("rsa-2", "RS256")
        jwks_url.document = json.dumps(idp.jwks()).encode()
        # Within the refresh period, made-up kids do not make the server fetch again.
        for kid in ("x1", "x2", "rsa-2"):
            assert declare(server, idp.token("svc", kid=kid), f"{kid}.bin") == UNAUTHENTICATED
        assert jwks_url.fetches == 1
        server.reload_credentials()  # SIGHUP
        assert declare(server, idp.token("svc", kid="rsa-2"), "b.bin") == OK
    finally:
        server.stop(0)
    eager = create_server(settings.replace(jwt_jwks=jwks_url.url, jwks_refresh_seconds=0))
    eager.start()
    try:
        idp.add_key("rsa-3", "RS256")
        jwks_url.document = json.dumps(idp.jwks()).encode()
        assert declare(eager, idp.token("svc", kid="rsa-3"), "c.bin") == OK
    finally:
        eager.stop(0)
