"""The client and the CLI with credentials, against a real server: the business backend
declares a task and hands its upload token to an uploader, which fills the task (library and
CLI); the token travels on retries; an expired token is not retried; the CLI never prints a
token."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry_client import FerryClient, PermissionDenied, TokenRefused
from ferry_client.cli import main
from ferry_server.app import FerryServer
from ferry_server.config import Settings

from tests.support.client_tools import LoseFirstReply
from tests.support.identity import Entry, write_principals

BACKEND = Entry("backend", ["create", "read", "control"], ["users"])


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "principals.toml"
    write_principals(path, [BACKEND])
    return settings.replace(principals_file=path)


@pytest.fixture
def backend(server: FerryServer, tmp_path: Path) -> Iterator[FerryClient]:
    with FerryClient(server.address, token=BACKEND.token, remember_uploads=False) as client:
        yield client


def test_backend_declares_and_the_uploader_fills_the_task_with_its_upload_token(
    server: FerryServer, backend: FerryClient, tmp_path: Path
) -> None:
    data = os.urandom(700 * 1024)
    source = tmp_path / "photo.raw"
    source.write_bytes(data)
    grant = backend.declare(
        "users/42/photo.raw", len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    assert grant.upload_token not in repr(grant)
    with FerryClient(server.address, token=grant.upload_token,
                     state_file=tmp_path / "state.json") as uploader:  # fmt: skip
        result = uploader.upload_to_task(source, grant.task.task_id)
        assert result.task_id == grant.task.task_id
        # The upload token declares nothing.
        with pytest.raises(PermissionDenied):
            uploader.upload(source, "users/42/other.raw")
        # Run again (a lost reply, a restarted uploader): the same result, nothing sent.
        again = uploader.upload_to_task(source, grant.task.task_id)
        assert again.task_id == result.task_id
    published = server.settings.resolved_storage_root / "users/42/photo.raw"
    assert published.read_bytes() == data
    assert backend.status(grant.task.task_id).state.value == "COMPLETED"


def test_every_attempt_carries_the_token_and_an_expired_one_is_not_retried(
    server: FerryServer, backend: FerryClient, tmp_path: Path
) -> None:
    grant = backend.declare("users/7/a.bin", 10)
    lose = LoseFirstReply("GetTask", pb.GetTaskResponse)
    try:
        with FerryClient(server.address, token=BACKEND.token, interceptors=[lose],
                         remember_uploads=False) as client:  # fmt: skip
            assert client.status(grant.task.task_id).task_id == grant.task.task_id
        assert lose.answered is not None  # the first reply was lost; the retry got through
    finally:
        lose.close()
    short = backend.issue_upload_token(grant.task.task_id, ttl=1)
    time.sleep(max(0.0, (short.expires_at - datetime.now(UTC)).total_seconds()) + 0.05)
    counted = Counting()
    late = FerryClient(server.address, token=short.upload_token, interceptors=[counted],
                       remember_uploads=False)  # fmt: skip
    with late, pytest.raises(PermissionDenied) as info:
        late.status(grant.task.task_id)
    assert info.value.ferry_reason == "TOKEN_EXPIRED"
    assert info.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert counted.calls == 1  # not retried


class Counting(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    def __init__(self) -> None:
        self.calls = 0

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self.calls += 1
        return continuation(details, request)


def test_a_token_is_not_sent_in_plaintext_to_another_host() -> None:
    with pytest.raises(TokenRefused, match="plaintext"):
        FerryClient("192.0.2.1:50051", token="fst_secret")


def test_cli_declare_and_upload_to_never_print_a_token(
    server: FerryServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = os.urandom(300 * 1024)
    source = tmp_path / "f.bin"
    source.write_bytes(data)
    backend_file = tmp_path / "backend.token"
    backend_file.write_text(BACKEND.token + "\n")
    upload_file = tmp_path / "upload.token"
    common = ["--server", server.address]
    assert main(["declare", "users/9/f.bin", "--size", str(len(data)),
                 "--sha256", hashlib.sha256(data).hexdigest(), "--token-file", str(backend_file),
                 "--token-out", str(upload_file), "--json", *common]) == 0  # fmt: skip
    declared = capsys.readouterr()
    task_id = json.loads(declared.out)["task"]["task_id"]
    token = upload_file.read_text().strip()
    assert upload_file.stat().st_mode & 0o777 == 0o600
    assert main(["upload-to", task_id, str(source), "--token-file", str(upload_file), "-q",
                 "--state-file", str(tmp_path / "s.json"), *common]) == 0  # fmt: skip
    uploaded = capsys.readouterr()
    # Without credentials: refused, and no token anywhere in what was printed.
    assert main(["status", task_id, *common]) == 1
    refused = capsys.readouterr()
    assert "UNAUTHENTICATED" in refused.err
    for output in (declared, uploaded, refused):
        for secret in (token, BACKEND.token):
            assert secret not in output.out + output.err
    assert (server.settings.resolved_storage_root / "users/9/f.bin").read_bytes() == data
