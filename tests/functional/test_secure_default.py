"""Secure by default: without TLS and authentication a server listens on loopback only; a
non-loopback address is refused in one line naming the flags, unless ``--allow-insecure`` is
given or TLS and mutual TLS are configured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ferry_client import FerryClient, NotFound, TlsOptions
from ferry_server.app import StartupError, _is_loopback, create_server
from ferry_server.config import Settings

from tests.support.certificates import CertificateAuthority

EXIT_USAGE = 2


def _settings(tmp_path: Path, listen: str, **changes: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", listen=listen).replace(**changes)


@pytest.mark.parametrize("listen", ["0.0.0.0:0", "[::]:0"])
def test_a_wildcard_address_without_credentials_is_refused(tmp_path: Path, listen: str) -> None:
    with pytest.raises(StartupError) as caught:
        create_server(_settings(tmp_path, listen))
    message = str(caught.value)
    for flag in ("--tls-cert", "--tls-client-ca", "--allow-insecure"):
        assert flag in message
    # Refused before anything was made on disk.
    assert not (tmp_path / "data").exists()


def test_tls_without_authentication_is_refused_naming_what_is_missing(tmp_path: Path) -> None:
    pair = CertificateAuthority(tmp_path / "pki", "s").issue("server", common_name="s")
    with pytest.raises(StartupError) as caught:
        create_server(_settings(tmp_path, "0.0.0.0:0", tls_cert=pair.cert, tls_key=pair.key))
    assert "without authentication (--tls-client-ca)" in str(caught.value)
    assert "TLS (--tls-cert" not in str(caught.value)


def test_ferry_serve_refuses_in_one_line(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "ferry_server", "--listen", "0.0.0.0:0",
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == EXIT_USAGE
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("ferry serve: refusing to listen on 0.0.0.0:0")
    assert "--allow-insecure" in lines[0]


def _reachable(address: str, tls: TlsOptions | None = None) -> None:
    with (
        FerryClient(address, tls=tls, remember_uploads=False) as client,
        pytest.raises(NotFound),
    ):
        client.status("0" * 32)


def test_allow_insecure_starts_on_a_wildcard_address(tmp_path: Path) -> None:
    server = create_server(_settings(tmp_path, "0.0.0.0:0", allow_insecure=True))
    server.start()
    try:
        _reachable(f"127.0.0.1:{server.port}")
    finally:
        server.stop(grace=0)


def test_tls_with_client_certificates_starts_on_a_wildcard_address(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "pki", "s")
    pair = ca.issue("server", common_name="s")
    client = ca.issue("client", common_name="c", client=True)
    settings = _settings(
        tmp_path, "0.0.0.0:0", tls_cert=pair.cert, tls_key=pair.key, tls_client_ca=ca.cert
    )
    server = create_server(settings)
    server.start()
    try:
        _reachable(
            f"127.0.0.1:{server.port}",
            TlsOptions(ca.cert, cert_file=client.cert, key_file=client.key),
        )
    finally:
        server.stop(grace=0)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("no-such-host.invalid", False),
    ],
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback
