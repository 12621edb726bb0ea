"""The SeaweedFS test component itself: it stops with everything it started, it retries when a
port was taken between choosing and binding, it says why it could not start, and in CI a store
that cannot start fails the run instead of skipping."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from _pytest.outcomes import Failed, Skipped

import tests.support.seaweedfs as seaweed
from tests.support.components import unavailable
from tests.support.seaweedfs import GRPC_OFFSET, SeaweedFS, SeaweedUnavailable


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_stop_ends_weed_and_frees_its_ports_and_sockets(tmp_path: Path) -> None:
    store = SeaweedFS(tmp_path)
    endpoint = store.start()
    pid = store.pid()
    assert pid is not None
    port = int(endpoint.url.rsplit(":", 1)[1])
    assert _listening(port)
    assert Path(f"/tmp/seaweedfs-s3-grpc-{port + GRPC_OFFSET}.sock").exists()

    store.stop()

    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing of its group is left
    assert not _listening(port)
    assert not Path(f"/tmp/seaweedfs-s3-grpc-{port + GRPC_OFFSET}.sock").exists()
    store.stop()  # idempotent


def _fake_weed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, message: str) -> Path:
    """A stand-in binary that fails the way weed does, counting its runs."""
    runs = tmp_path / "runs"
    script = tmp_path / "weed"
    script.write_text(f"#!/bin/sh\necho run >> {runs}\necho '{message}'\nexit 1\n")
    script.chmod(0o755)
    monkeypatch.setattr(seaweed, "weed_binary", lambda: script)
    return runs


def test_a_port_taken_meanwhile_is_retried_on_other_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _fake_weed(tmp_path, monkeypatch, "listen tcp 127.0.0.1:1: bind: address already in use")
    with pytest.raises(SeaweedUnavailable, match="could not bind its ports 3 times"):
        SeaweedFS(tmp_path / "store").start(attempts=3)
    assert runs.read_text().count("run") == 3


def test_a_weed_that_exits_is_reported_with_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _fake_weed(tmp_path, monkeypatch, "F1122 some fatal start-up error")
    with pytest.raises(SeaweedUnavailable, match=r"exited with 1.*some fatal start-up error"):
        SeaweedFS(tmp_path / "store").start()
    assert runs.read_text().count("run") == 1


def test_an_unavailable_component_skips_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped):
        unavailable("SeaweedFS could not start")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed, match="CI is set"):
        unavailable("SeaweedFS could not start")
