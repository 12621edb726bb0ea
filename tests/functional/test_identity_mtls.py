"""mTLS client certificates mapped to principals: over a real TLS connection whose client
certificate gRPC verified, the certificate's SAN URI, SAN DNS name or subject CN is looked up
in the principals file's [[certificate]] entries; an unknown certificate is UNAUTHENTICATED,
and a bearer token, when sent, decides instead.

The first test builds a small TLS server with ``grpc.ssl_server_credentials`` around the
credential reading and the Gate alone (every identity kind at once); the last runs the real
server with its TLS flags.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ferry_client import FerryClient, PermissionDenied, TaskState, TlsOptions
from ferry_server.app import create_server
from ferry_server.config import Settings
from ferry_server.domain.errors import FerryError
from ferry_server.identity.gate import Gate
from ferry_server.identity.principals import PrincipalsFile
from ferry_server.identity.upload_tokens import UploadTokens
from ferry_server.transport.credentials import call_credentials

from tests.support.certificates import CertificateAuthority
from tests.support.certificates import Pair as CertPair
from tests.support.identity import Entry, write_principals

METHOD = "/test.Whoami/Ask"


@dataclass(frozen=True)
class Pair:
    key: bytes
    cert: bytes


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    subject: str, issuer: tuple[x509.Name, Any] | None, sans: list[x509.GeneralName], *, ca: bool
) -> tuple[Pair, x509.Name, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer if issuer is not None else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    pair = Pair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert.public_bytes(serialization.Encoding.PEM),
    )
    return pair, _name(subject), key


@dataclass(frozen=True)
class Pki:
    ca: bytes
    server: Pair
    ingest: Pair  # SAN URI spiffe://test/ingest
    legacy: Pair  # CN only
    stranger: Pair  # known to the CA, not to the principals file


@pytest.fixture(scope="module")
def pki() -> Pki:
    ca, ca_name, ca_key = _issue("test CA", None, [], ca=True)
    signer = (ca_name, ca_key)
    server, _, _ = _issue("ferry", signer, [x509.DNSName("localhost"),
                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], ca=False)  # fmt: skip
    spiffe = x509.UniformResourceIdentifier("spiffe://test/ingest")
    ingest, _, _ = _issue("ingest-client", signer, [spiffe], ca=False)
    legacy, _, _ = _issue("legacy-batch", signer, [], ca=False)
    stranger, _, _ = _issue("stranger", signer, [x509.DNSName("stranger.test")], ca=False)
    return Pki(ca.cert, server, ingest, legacy, stranger)


SERVICE = Entry("svc", ["read"], [])


@pytest.fixture
def address(pki: Pki, tmp_path: Path) -> Iterator[str]:
    principals = tmp_path / "principals.toml"
    write_principals(principals, [SERVICE], extra="""
[[certificate]]
identity = "spiffe://test/ingest"
principal = "ingest"
permissions = ["create", "upload"]
prefixes = ["ingest"]

[[certificate]]
identity = "legacy-batch"
principal = "legacy"
permissions = ["read"]
""")  # fmt: skip
    gate = Gate(principals=PrincipalsFile(principals), jwt=None,
                upload_tokens=UploadTokens(None, dt.datetime.now))  # type: ignore[arg-type]  # fmt: skip

    def ask(request: bytes, context: grpc.ServicerContext) -> bytes:
        try:
            caller = gate.authenticate(call_credentials(context, "Ask"))
        except FerryError as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)
        names = sorted(p.value for p in caller.permissions)
        return f"{caller.principal} {names} {caller.kind}".encode()

    handler = grpc.method_handlers_generic_handler(
        "test.Whoami", {"Ask": grpc.unary_unary_rpc_method_handler(ask)}
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=2), handlers=(handler,))
    credentials = grpc.ssl_server_credentials(
        [(pki.server.key, pki.server.cert)], root_certificates=pki.ca, require_client_auth=True
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)


def ask(address: str, pki: Pki, client: Pair, metadata: tuple[tuple[str, str], ...] = ()) -> str:
    credentials = grpc.ssl_channel_credentials(pki.ca, client.key, client.cert)
    with grpc.secure_channel(address, credentials) as channel:
        call = channel.unary_unary(METHOD)
        reply: bytes = call(b"", timeout=10, metadata=metadata)
        return reply.decode()


def test_client_certificates_map_to_principals(address: str, pki: Pki) -> None:
    assert ask(address, pki, pki.ingest).startswith("ingest ['create', 'upload'] client cert")
    assert ask(address, pki, pki.legacy).startswith("legacy ['read'] client certificate")
    with pytest.raises(grpc.RpcError) as info:
        ask(address, pki, pki.stranger)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "stranger.test" in (info.value.details() or "")
    # A bearer token decides over the certificate: a bad one is refused, a good one counts.
    with pytest.raises(grpc.RpcError) as bad:
        ask(address, pki, pki.ingest, (("authorization", "Bearer fst_wrong"),))
    assert bad.value.code() == grpc.StatusCode.UNAUTHENTICATED
    token = (("authorization", f"Bearer {SERVICE.token}"),)
    assert ask(address, pki, pki.stranger, token).startswith("svc ['read'] service token")


def test_ferry_serve_with_tls_flags_maps_client_certificates(tmp_path: Path) -> None:
    """The same mapping through the real server: ``--tls-cert/--tls-key/--tls-client-ca`` and a
    principals file, the grpc.aio transport reading ``auth_context()``."""
    ca = CertificateAuthority(tmp_path / "pki", "mtls")
    server_pair = ca.issue("server", common_name="ferry")
    ingest = ca.issue("ingest", common_name="ingest.client", client=True)
    stranger = ca.issue("stranger", common_name="stranger.client", client=True)
    principals = tmp_path / "principals.toml"
    principals.write_text(
        '[[certificate]]\nidentity = "ingest.client"\nprincipal = "ingest"\n'
        'permissions = ["create", "upload", "read"]\nprefixes = ["ingest"]\n'
    )
    settings = Settings(
        data_dir=tmp_path / "data",
        listen="127.0.0.1:0",
        tls_cert=server_pair.cert,
        tls_key=server_pair.key,
        tls_client_ca=ca.cert,
        principals_file=principals,
    )
    source = tmp_path / "a.bin"
    source.write_bytes(b"mutual" * 1000)
    server = create_server(settings)
    server.start()
    try:
        address = f"127.0.0.1:{server.port}"

        def client(pair: CertPair) -> FerryClient:
            tls = TlsOptions(ca.cert, cert_file=pair.cert, key_file=pair.key)
            return FerryClient(address, tls=tls, remember_uploads=False)

        with client(ingest) as known:
            result = known.upload(source, "ingest/a.bin")
            assert known.status(result.task_id).state == TaskState.COMPLETED
            with pytest.raises(PermissionDenied):
                known.declare("elsewhere/a.bin", 6000)
        with client(stranger) as unknown, pytest.raises(PermissionDenied) as refused:
            unknown.status(result.task_id)
        assert "stranger.client" in str(refused.value)
    finally:
        server.stop(grace=0)
