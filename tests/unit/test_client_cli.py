"""The ``ferry`` command's parsing: sizes, metadata, defaults from the environment, and the
hand-over of ``ferry serve`` to the server's command line."""

from __future__ import annotations

import argparse
import sys

import pytest
from ferry_client import DEFAULT_TARGET
from ferry_client.cli import EXIT_USAGE, build_parser, main, parse_meta, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [("65536", 65536), ("64K", 65536), ("64KiB", 65536), ("8M", 8 << 20), ("1g", 1 << 30)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "K", "1.5M", "-1", "8X"])
def test_parse_size_rejects_nonsense(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


def test_parse_meta_keeps_equals_signs_in_the_value() -> None:
    assert parse_meta("k=a=b") == ("k", "a=b")
    assert parse_meta("k=") == ("k", "")
    for bad in ("novalue", "=v"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_meta(bad)


def test_server_defaults_from_environment_then_builtin() -> None:
    from_env = build_parser({"FERRY_SERVER": "ferry.example:7"}).parse_args(["status", "t"])
    builtin = build_parser({}).parse_args(["status", "t"])
    flag = build_parser({"FERRY_SERVER": "a:1"}).parse_args(["status", "t", "--server", "b:2"])
    assert (from_env.server, builtin.server, flag.server) == (
        "ferry.example:7",
        DEFAULT_TARGET,
        "b:2",
    )


def test_upload_options() -> None:
    ns = build_parser({}).parse_args(
        ["upload", "f", "d/f", "--parallelism", "4", "--block-size", "256K", "--meta", "a=1",
         "--meta", "b=2", "--overwrite", "--json"]
    )  # fmt: skip
    assert (ns.file, ns.store_path, ns.parallelism, ns.block_size) == ("f", "d/f", 4, 256 << 10)
    assert ns.meta == [("a", "1"), ("b", "2")]
    assert ns.overwrite and ns.json


def test_parallelism_must_be_positive() -> None:
    with pytest.raises(SystemExit):
        build_parser({}).parse_args(["upload", "f", "d", "--parallelism", "0"])


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_USAGE
    assert "usage: ferry" in capsys.readouterr().err


def test_serve_is_handed_to_the_server_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: ferry serve")


def test_serve_without_the_server_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As where only the client is installed: the server's modules cannot be imported.
    monkeypatch.setitem(sys.modules, "ferry_server.cli", None)
    assert main(["serve"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'ferry[server]'" in err


def test_tls_flags_and_environment() -> None:
    ns = build_parser({"FERRY_TLS_CA": "ca.pem"}).parse_args(
        ["status", "t", "--tls-cert", "c.pem", "--tls-key", "k.pem"]
    )
    assert (ns.tls, ns.tls_ca, ns.tls_cert, ns.tls_key) == (False, "ca.pem", "c.pem", "k.pem")
    assert build_parser({"FERRY_TLS": "1"}).parse_args(["status", "t"]).tls
    assert not build_parser({}).parse_args(["status", "t"]).tls


def test_a_client_certificate_without_its_key_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["status", "0" * 32, "--tls-cert", "c.pem"]) == EXIT_USAGE
    assert "--tls-cert and --tls-key go together" in capsys.readouterr().err


def test_stdin_and_stall_options() -> None:
    ns = build_parser({"FERRY_STALL_TIMEOUT": "15"}).parse_args(
        ["upload", "-", "backups/db.dump", "--max-size", "200G"]
    )
    assert (ns.sources, ns.store_path, ns.max_size) == (["-"], "backups/db.dump", 200 << 30)
    assert ns.stall_timeout == 15.0
    assert build_parser({}).parse_args(["upload", "f", "d"]).stall_timeout == 60.0
    with pytest.raises(SystemExit):
        build_parser({}).parse_args(["upload", "f", "d", "--stall-timeout", "-1"])


@pytest.mark.parametrize(
    "args",
    [
        ["upload", "-", "backups/", "--server", "127.0.0.1:9"],
        ["upload", "-", "f", "backups/", "--server", "127.0.0.1:9"],
        ["upload", "f", "d", "--max-size", "1M", "--server", "127.0.0.1:9"],
    ],
)
def test_stdin_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == EXIT_USAGE
    assert "ferry" in capsys.readouterr().err
