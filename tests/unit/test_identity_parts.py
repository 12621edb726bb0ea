"""The parts of identity that need no server: the principals file's format and ``ferry token``,
the refusal log's rate limit, prefixes, settings, and the client's plaintext-token rule."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from ferry_client.credentials import TokenRefused, is_loopback_target, with_token
from ferry_server.cli import token_main
from ferry_server.config import Settings, SettingsError
from ferry_server.domain.errors import PermissionDenied
from ferry_server.domain.identity import Caller, CredentialKind, Permission
from ferry_server.identity.principals import (
    PrincipalsFile,
    PrincipalsFileError,
    parse_principals,
    token_sha256,
)
from ferry_server.identity.refusals import RefusalLog, peer_host


def test_ferry_token_prints_an_entry_the_server_accepts_and_the_token_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert token_main(["billing", "-p", "create", "-p", "upload", "--prefix", "billing/in"]) == 0
    out = capsys.readouterr().out
    token = out.splitlines()[0].rsplit(" ", 1)[1]
    assert token.startswith("fst_") and len(token) > 40
    entry = out.split("\n", 2)[2]
    assert token not in entry
    parsed = parse_principals(entry, "out")
    caller = parsed.tokens[token_sha256(token)]
    assert caller.principal == "billing"
    assert caller.permissions == {Permission.CREATE, Permission.UPLOAD}
    assert caller.prefixes == ("billing/in",)
    # With --token-out the token goes to a private file and never to stdout.
    target = tmp_path / "billing.token"
    assert token_main(["billing", "--token-out", str(target)]) == 0
    written = target.read_text().strip()
    assert written not in capsys.readouterr().out
    assert target.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[token]]\nprincipal='a'\nsha256='abc'\n", "64 hexadecimal"),
        ("[[token]]\nsha256='" + "a" * 64 + "'\n", "principal"),
        ("[[token]]\nprincipal='a'\nsha256='" + "a" * 64 + "'\npermissions=['fly']\n", "fly"),
        ("[[token]]\nprincipal='a'\nsha256='" + "a" * 64 + "'\nprefix=['x']\n", "unknown key"),
        ("[[tokens]]\nprincipal='a'\n", "unknown table"),
        ("[[token]\n", "TOML"),
    ],
)
def test_malformed_principals_files_say_where(text: str, problem: str) -> None:
    with pytest.raises(PrincipalsFileError, match=problem):
        parse_principals(text, "p.toml")


def test_a_principals_file_that_cannot_be_read_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(PrincipalsFileError, match="cannot read"):
        PrincipalsFile(tmp_path / "missing.toml")


def test_refusals_from_one_peer_are_rate_limited_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    refusals = RefusalLog(interval=10, clock=lambda: now[0], logger=logging.getLogger("t.auth"))
    caplog.set_level(logging.WARNING, logger="t.auth")
    for _ in range(50):
        refusals.refused(peer="ipv4:10.0.0.7:5000", principal="p", method="GetTask",
                         reason="UNAUTHENTICATED", message="m")  # fmt: skip
    refusals.refused(peer="ipv4:10.0.0.8:5000", principal="q", method="GetTask",
                     reason="UNAUTHENTICATED", message="m")  # fmt: skip
    assert len(caplog.records) == 2
    now[0] = 10.5
    refusals.refused(peer="ipv4:10.0.0.7:6000", principal="p", method="GetTask",
                     reason="UNAUTHENTICATED", message="m")  # fmt: skip
    assert len(caplog.records) == 3
    assert "49 more refusal(s)" in caplog.records[-1].getMessage()
    assert peer_host("ipv6:[::1]:5000") == "ipv6:[::1]"


def test_prefixes_are_directories() -> None:
    caller = Caller("a", frozenset({Permission.CREATE}), ("in/", "x/y"), kind=CredentialKind.JWT)
    caller.require_path("in/f")
    caller.require_path("x/y/z/f")
    for outside in ("inx/f", "x/yz", "f", "x/f"):
        with pytest.raises(PermissionDenied):
            caller.require_path(outside)
    with pytest.raises(PermissionDenied):
        Caller("a", frozenset({Permission.CREATE}), ()).require_path("f")


def test_settings_refuse_symmetric_algorithms_and_an_open_issuer() -> None:
    with pytest.raises(SettingsError, match="HS"):
        Settings(jwt_algorithms=("HS256",))
    with pytest.raises(SettingsError, match="none"):
        Settings(jwt_algorithms=("none",))
    with pytest.raises(SettingsError, match="jwt_issuer"):
        Settings(jwt_jwks="jwks.json", jwt_audience="ferry")


def test_a_token_goes_in_plaintext_only_to_loopback() -> None:
    for target in ("127.0.0.1:5", "localhost:5", "[::1]:5", "127.1.2.3:5", "unix:/run/f.sock"):
        assert is_loopback_target(target), target
        with_token(target, "fst_x", None, allow_plaintext=False)
    for target in ("10.0.0.1:5", "ferry.example:443", "[2001:db8::1]:5", "localhost.evil:5"):
        assert not is_loopback_target(target), target
        with pytest.raises(TokenRefused, match="plaintext"):
            with_token(target, "fst_x", None, allow_plaintext=False)
        with_token(target, "fst_x", None, allow_plaintext=True)
    with pytest.raises(TokenRefused):
        with_token("127.0.0.1:5", "two words", None, allow_plaintext=False)
