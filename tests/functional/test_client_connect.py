"""An address that was never a reachable Ferry server fails at once, in one line naming the
address and the reason, with the documented exit code: a closed port (75: later may help), an
HTTP/1.1 server, a gRPC server without Ferry's service, a TLS server spoken to in plaintext
(1: something else is there). Real listeners on loopback, the library and the ``ferry``
command."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ferry_client import CannotConnect, FerryClient, ServerUnreachable, TransientError
from ferry_client.reachability import split_target

from tests.support.client_tools import make_file, run_ferry
from tests.support.listeners import (
    closed_port,
    grpc_server_without_ferry,
    http1_server,
    tls_server,
)

EXIT_ERROR = 1
EXIT_TEMPFAIL = 75


@contextlib.contextmanager
def _closed(_: Path) -> Iterator[str]:
    yield closed_port()


@contextlib.contextmanager
def _http1(_: Path) -> Iterator[str]:
    with http1_server() as address:
        yield address


@contextlib.contextmanager
def _grpc(_: Path) -> Iterator[str]:
    with grpc_server_without_ferry() as address:
        yield address


#: (what listens, the reason the message must give, whether retrying later may help)
CASES: list[tuple[Callable[[Path], contextlib.AbstractContextManager[str]], str, bool]] = [
    (_closed, "connection refused", True),
    (_http1, "not a gRPC server: it answered in HTTP/1", False),
    (_grpc, "a gRPC server that is not Ferry (UNIMPLEMENTED for ferry.v1.FerryService/", False),
    (tls_server, "the server speaks TLS but this client connected in plaintext", False),
]
IDS = ["closed-port", "http1", "grpc-not-ferry", "tls"]


@pytest.mark.parametrize(("listener", "reason", "later"), CASES, ids=IDS)
def test_library_names_the_address_and_the_reason(
    tmp_path: Path,
    listener: Callable[[Path], contextlib.AbstractContextManager[str]],
    reason: str,
    later: bool,
) -> None:
    source = make_file(tmp_path / "src.bin", 2 * 1024 * 1024)
    with (
        listener(tmp_path) as address,
        FerryClient(address, state_file=tmp_path / "state.json") as client,
        pytest.raises(CannotConnect) as caught,
    ):
        client.upload(source, "x.bin")
    error = caught.value
    assert error.address == address
    assert error.message.startswith(f"cannot connect to a Ferry server at {address}: ")
    assert reason in error.why
    assert isinstance(error, ServerUnreachable) is later
    assert isinstance(error, TransientError) is later
    # Nothing was started: no task, so nothing remembered.
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize(("listener", "reason", "later"), CASES, ids=IDS)
@pytest.mark.parametrize("command", ["upload", "status"])
def test_command_fails_in_one_line_with_the_documented_exit_code(
    tmp_path: Path,
    listener: Callable[[Path], contextlib.AbstractContextManager[str]],
    reason: str,
    later: bool,
    command: str,
) -> None:
    # Larger than 1 MiB: it goes in blocks, hashed while the task is declared.
    source = make_file(tmp_path / "src.bin", 2 * 1024 * 1024)
    with listener(tmp_path) as address:
        args = (
            [str(source), "x.bin", "--state-file", str(tmp_path / "s.json")]
            if command == "upload"
            else ["0" * 32]
        )
        completed = run_ferry([command, *args, "--server", address])
    assert completed.returncode == (EXIT_TEMPFAIL if later else EXIT_ERROR)
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(f"ferry: error: cannot connect to a Ferry server at {address}: ")
    assert reason in lines[0]
    assert completed.stdout == ""


def test_a_name_that_does_not_resolve_is_named(tmp_path: Path) -> None:
    source = make_file(tmp_path / "src.bin", 10)
    with (
        FerryClient("no-such-host.invalid:50051", remember_uploads=False) as client,
        pytest.raises(CannotConnect) as caught,
    ):
        client.upload(source, "x.bin")
    assert "cannot resolve 'no-such-host.invalid'" in caught.value.why


@pytest.mark.parametrize(
    ("target", "parsed"),
    [
        ("127.0.0.1:5", ("127.0.0.1", 5)),
        ("dns:///ferry.example:7", ("ferry.example", 7)),
        ("[::1]:9", ("::1", 9)),
        ("ferry.example", ("ferry.example", 443)),
        ("unix:/tmp/sock", None),
        ("::1", None),
    ],
)
def test_split_target(target: str, parsed: tuple[str, int] | None) -> None:
    assert split_target(target) == parsed
