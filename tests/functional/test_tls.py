"""TLS and mutual TLS on real servers with certificates the test makes: round trips through the
library and the ``ferry`` command, certificates replaced while the server runs, and every
mismatch (either side plaintext, an unknown CA, a wrong host name, a missing or foreign client
certificate) failing at once with a message that says it is TLS and what to change."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ferry_client import CannotConnect, FerryClient, NotFound, ServerUnreachable, TlsOptions
from ferry_server.app import FerryServer, create_server
from ferry_server.config import KiB, Settings

from tests.support.certificates import CertificateAuthority, Pair
from tests.support.client_tools import make_file, published, run_ferry, wait_until

EXIT_ERROR = 1
#: Larger than one UploadFile request: it travels as a task, UploadParts streams and Merge.
FILE_SIZE = 1536 * KiB


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path / "pki", "server")


@pytest.fixture
def server_pair(ca: CertificateAuthority) -> Pair:
    return ca.issue("server", common_name="ferry test server")


def _start(settings: Settings) -> FerryServer:
    server = create_server(settings)
    server.start()
    return server


@pytest.fixture
def tls_server(settings: Settings, server_pair: Pair) -> Iterator[FerryServer]:
    server = _start(settings.replace(tls_cert=server_pair.cert, tls_key=server_pair.key))
    try:
        yield server
    finally:
        server.stop(grace=0)


def _sqlite_settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        listen="127.0.0.1:0",
        min_block_size=64 * KiB,
        default_block_size=256 * KiB,
        blocking_threads=8,
    ).replace(**changes)


def _upload(tmp_path: Path, server: FerryServer, target: str, tls: TlsOptions | None) -> None:
    source = make_file(tmp_path / "src.bin", FILE_SIZE)
    with FerryClient(target, tls=tls, remember_uploads=False) as client:
        result = client.upload(source, "tls/file.bin")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert result.sha256 == digest
    stored = published(server.settings.data_dir, "tls/file.bin").read_bytes()
    assert hashlib.sha256(stored).hexdigest() == digest


def _reach(target: str, tls: TlsOptions) -> None:
    """A call over a new connection reaches Ferry (which knows no such task)."""
    with (
        FerryClient(target, tls=tls, remember_uploads=False) as client,
        pytest.raises(NotFound),
    ):
        client.status("0" * 32)


def _refusal(target: str, tls: TlsOptions | None, tmp_path: Path) -> CannotConnect:
    source = make_file(tmp_path / "refused.bin", 10)
    with (
        FerryClient(target, tls=tls, remember_uploads=False, connect_timeout=20) as client,
        pytest.raises(CannotConnect) as caught,
    ):
        client.upload(source, "refused.bin")
    # Not "no connection within 20s": the first contact diagnosed it, and nothing retries it.
    assert not isinstance(caught.value, ServerUnreachable), caught.value
    return caught.value


def test_tls_round_trip(tmp_path: Path, tls_server: FerryServer, ca: CertificateAuthority) -> None:
    _upload(tmp_path, tls_server, tls_server.address, TlsOptions(ca_file=ca.cert))


def test_mutual_tls_round_trip_and_refusals(
    tmp_path: Path, settings: Settings, ca: CertificateAuthority, server_pair: Pair
) -> None:
    clients = CertificateAuthority(tmp_path / "clients", "clients")
    stranger = CertificateAuthority(tmp_path / "stranger", "stranger")
    good = clients.issue("uploader", common_name="uploader", client=True)
    foreign = stranger.issue("intruder", common_name="intruder", client=True)
    server = _start(
        settings.replace(
            tls_cert=server_pair.cert, tls_key=server_pair.key, tls_client_ca=clients.cert
        )
    )
    try:
        target = server.address
        _upload(
            tmp_path, server, target, TlsOptions(ca.cert, cert_file=good.cert, key_file=good.key)
        )
        missing = _refusal(target, TlsOptions(ca_file=ca.cert), tmp_path)
        assert "TLS: the server requires a client certificate" in missing.why
        assert "--tls-cert" in missing.why
        refused = _refusal(
            target, TlsOptions(ca.cert, cert_file=foreign.cert, key_file=foreign.key), tmp_path
        )
        assert "TLS: the server refused the client certificate" in refused.why
    finally:
        server.stop(grace=0)


def test_plaintext_client_against_tls_server(tmp_path: Path, server_pair: Pair) -> None:
    server = _start(_sqlite_settings(tmp_path, tls_cert=server_pair.cert, tls_key=server_pair.key))
    try:
        error = _refusal(server.address, None, tmp_path)
        assert "the server speaks TLS but this client connected in plaintext" in error.why
        assert "--tls-ca" in error.why
        completed = run_ferry(["status", "0" * 32, "--server", server.address])
    finally:
        server.stop(grace=0)
    assert completed.returncode == EXIT_ERROR
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert "the server speaks TLS but this client connected in plaintext" in lines[0]


def test_tls_client_against_plaintext_server(tmp_path: Path, ca: CertificateAuthority) -> None:
    server = _start(_sqlite_settings(tmp_path))
    try:
        error = _refusal(server.address, TlsOptions(ca_file=ca.cert), tmp_path)
        assert "the client uses TLS but the server does not speak it" in error.why
        completed = run_ferry(
            ["status", "0" * 32, "--server", server.address, "--tls-ca", str(ca.cert)]
        )
    finally:
        server.stop(grace=0)
    assert completed.returncode == EXIT_ERROR
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert "the client uses TLS but the server does not speak it" in lines[0]


def test_unknown_ca_and_wrong_host_name(tmp_path: Path, ca: CertificateAuthority) -> None:
    elsewhere = ca.issue("elsewhere", common_name="elsewhere", dns=("ferry.example",), ips=())
    other = CertificateAuthority(tmp_path / "other", "other")
    server = _start(_sqlite_settings(tmp_path, tls_cert=elsewhere.cert, tls_key=elsewhere.key))
    try:
        untrusted = _refusal(server.address, TlsOptions(ca_file=other.cert), tmp_path)
        assert "TLS: the server's certificate is not trusted" in untrusted.why
        assert "--tls-ca" in untrusted.why
        wrong_name = _refusal(server.address, TlsOptions(ca_file=ca.cert), tmp_path)
        assert "TLS: the server's certificate does not name '127.0.0.1'" in wrong_name.why
    finally:
        server.stop(grace=0)


def test_command_uploads_over_tls_with_a_grpcs_address(
    tmp_path: Path, ca: CertificateAuthority, server_pair: Pair
) -> None:
    server = _start(_sqlite_settings(tmp_path, tls_cert=server_pair.cert, tls_key=server_pair.key))
    source = make_file(tmp_path / "src.bin", FILE_SIZE)
    try:
        completed = run_ferry(
            ["upload", str(source), "cli/file.bin", "--quiet", "--json",
             "--state-file", str(tmp_path / "state.json"),
             "--server", f"grpcs://{server.address}"],
            env={"FERRY_TLS_CA": str(ca.cert)},
        )  # fmt: skip
    finally:
        server.stop(grace=0)
    assert completed.returncode == 0, completed.stderr
    stored = published(server.settings.data_dir, "cli/file.bin").read_bytes()
    assert stored == source.read_bytes()


def test_replaced_certificates_are_used_without_a_restart(
    tmp_path: Path, ca: CertificateAuthority, server_pair: Pair
) -> None:
    server = _start(_sqlite_settings(tmp_path, tls_cert=server_pair.cert, tls_key=server_pair.key))
    renewed = CertificateAuthority(tmp_path / "renewed", "renewed")
    try:
        _upload(tmp_path, server, server.address, TlsOptions(ca_file=ca.cert))
        new = renewed.issue("new", common_name="renewed server")
        server_pair.cert.write_bytes(new.cert.read_bytes())
        server_pair.key.write_bytes(new.key.read_bytes())
        # A new connection meets the new certificate: the old CA no longer vouches for it.
        _reach(server.address, TlsOptions(ca_file=renewed.cert))
        stale = _refusal(server.address, TlsOptions(ca_file=ca.cert), tmp_path)
        assert "TLS: the server's certificate is not trusted" in stale.why
        # Half a renewal (a certificate whose key is not there yet) is not taken.
        third = CertificateAuthority(tmp_path / "third", "third").issue("t", common_name="t")
        server_pair.cert.write_bytes(third.cert.read_bytes())
        _reach(server.address, TlsOptions(ca_file=renewed.cert))
    finally:
        server.stop(grace=0)


def _same_stamp_rewrite(path: Path, content: bytes) -> None:
    """Put ``content`` in ``path`` keeping its inode, size and mtime: a change that only a
    reload request (SIGHUP) can reveal. PEM allows trailing blank lines: the shorter side is
    padded."""
    stat = path.stat()
    assert len(content) <= stat.st_size, "the old file was padded to leave room"
    padded = content + b"\n" * (stat.st_size - len(content))
    with path.open("r+b") as out:
        out.write(padded)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_ino, path.stat().st_size, path.stat().st_mtime_ns) == (
        stat.st_ino, stat.st_size, stat.st_mtime_ns
    )  # fmt: skip


def test_sighup_makes_ferry_serve_read_the_certificates_again(
    tmp_path: Path, ca: CertificateAuthority
) -> None:
    # Padded: the renewed files must fit in the old ones' size.
    first = ca.issue("first", common_name="first")
    for pem in (first.cert, first.key):
        pem.write_bytes(pem.read_bytes() + b"\n" * 64)
    renewed = CertificateAuthority(tmp_path / "renewed", "renewed")
    second = renewed.issue("second", common_name="second")
    port_file = tmp_path / "port"
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ferry_server", "--listen", "127.0.0.1:0",
         "--data-dir", str(tmp_path / "data"), "--port-file", str(port_file),
         "--tls-cert", str(first.cert), "--tls-key", str(first.key)],
        stdout=log, stderr=log,
    )  # fmt: skip
    try:
        wait_until(lambda: port_file.exists() or proc.poll() is not None, "ferry serve started")
        address = f"127.0.0.1:{port_file.read_text().strip()}"
        _reach(address, TlsOptions(ca_file=ca.cert))
        _same_stamp_rewrite(first.key, second.key.read_bytes())
        _same_stamp_rewrite(first.cert, second.cert.read_bytes())
        proc.send_signal(signal.SIGHUP)

        def renewed_served() -> bool:
            try:
                _reach(address, TlsOptions(ca_file=renewed.cert))
            except CannotConnect:
                return False
            return True

        wait_until(renewed_served, "the certificates read again after SIGHUP")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    assert "SIGHUP received: reloading TLS certificates" in (tmp_path / "serve.log").read_text()
