"""Download (issue 11): ReadFile streams a published file with its generation and per-message
CRC32C; the client and ``ferry download`` resume after cuts, never splice two versions, and
verify the SHA-256 before the file appears."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import FerryClient
from ferry_client.errors import IntegrityError, NotFound
from ferry_server.app import FerryServer

from tests.support.client_tools import QUICK_RETRY, run_ferry
from tests.support.protocol import KiB, create, merge, reason_of, upload
from tests.support.proxy import FaultyProxy

BLOCK = 64 * KiB
MiB = 1024 * KiB


def publish(stub: rpc.FerryServiceStub, store_path: str, data: bytes) -> pb.Task:
    task = create(stub, data, store_path, block_size=BLOCK, overwrite=True)
    upload(stub, task, data)
    return merge(stub, task.task_id)


def read_all(stub: rpc.FerryServiceStub, **fields: object) -> list[pb.ReadFileResponse]:
    return list(stub.ReadFile(pb.ReadFileRequest(**fields)))  # type: ignore[arg-type]


def refusal(stub: rpc.FerryServiceStub, **fields: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        read_all(stub, **fields)
    return refused.value


def test_read_file_streams_the_generation_and_checked_messages(
    stub: rpc.FerryServiceStub,
) -> None:
    data = os.urandom(3 * MiB + 123)
    task = publish(stub, "reads/file.bin", data)

    whole = read_all(stub, store_path="reads/file.bin")
    middle = read_all(stub, task_id=task.task_id, offset=MiB + 5, length=MiB + 10)

    assert whole[0].generation == pb.Generation(task_id=task.task_id, sha256=task.sha256,
                                                size=len(data))  # fmt: skip
    assert all(not m.HasField("generation") for m in whole[1:]), "the first message only"
    assert b"".join(m.data for m in whole) == data
    assert all(google_crc32c.value(m.data) == m.crc32c for m in whole)
    assert [m.offset for m in whole] == [sum(len(x.data) for x in whole[:i])
                                         for i in range(len(whole))]  # fmt: skip
    assert b"".join(m.data for m in middle) == data[MiB + 5 : 2 * MiB + 15]
    assert middle[0].offset == MiB + 5


def test_an_empty_file_is_one_message_with_its_generation(stub: rpc.FerryServiceStub) -> None:
    task = publish(stub, "reads/empty.bin", b"")

    [only] = read_all(stub, store_path="reads/empty.bin")

    assert only.generation.task_id == task.task_id
    assert only.generation.size == 0
    assert only.data == b""


def test_bad_reads_get_the_documented_codes(stub: rpc.FerryServiceStub) -> None:
    data = os.urandom(BLOCK)
    publish(stub, "reads/known.bin", data)
    pending = create(stub, data, "reads/pending.bin", block_size=BLOCK)

    cases = [
        ({"store_path": "reads/nothing.bin"}, grpc.StatusCode.NOT_FOUND, "FILE_NOT_FOUND"),
        ({"task_id": "f" * 32}, grpc.StatusCode.NOT_FOUND, "TASK_NOT_FOUND"),
        ({}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD"),
        ({"store_path": "reads/known.bin", "task_id": pending.task_id},
         grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD"),
        ({"store_path": "../etc/passwd"}, grpc.StatusCode.INVALID_ARGUMENT,
         "INVALID_STORE_PATH"),
        ({"store_path": "reads/known.bin", "offset": BLOCK + 1}, grpc.StatusCode.OUT_OF_RANGE,
         "INVALID_FIELD"),
        ({"task_id": pending.task_id}, grpc.StatusCode.FAILED_PRECONDITION,
         "ILLEGAL_TRANSITION"),
        ({"store_path": "reads/known.bin", "if_generation": pending.task_id},
         grpc.StatusCode.FAILED_PRECONDITION, "GENERATION_CHANGED"),
        ({"store_path": "reads"}, grpc.StatusCode.NOT_FOUND, "FILE_NOT_FOUND"),
    ]  # fmt: skip
    for fields, code, reason in cases:
        error = refusal(stub, **fields)
        assert error.code() == code, (fields, error)
        assert f"reason: {reason}" in str(error) or reason == reason_of(error), (fields, error)


def test_a_file_changed_outside_ferry_is_data_loss(
    server: FerryServer, stub: rpc.FerryServiceStub
) -> None:
    publish(stub, "reads/tampered.bin", os.urandom(2 * BLOCK))
    target = server.settings.resolved_storage_root / "reads/tampered.bin"
    with target.open("r+b") as f:
        f.truncate(BLOCK)

    assert refusal(stub, store_path="reads/tampered.bin").code() == grpc.StatusCode.DATA_LOSS


def test_download_survives_cut_connections_and_verifies(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    data = os.urandom(6 * MiB + 7)
    publish(stub, "reads/big.bin", data)
    dest = tmp_path / "big.bin"
    with (
        FaultyProxy(server.address, cut_down_after=1500 * KiB, cuts=3) as proxy,
        FerryClient(proxy.address, remember_uploads=False, retry=QUICK_RETRY) as client,
    ):
        result = client.download("reads/big.bin", dest)

    assert proxy.cuts_done == 3
    assert dest.read_bytes() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    assert not dest.with_name("big.bin.ferry-part").exists()


class _Interrupt(Exception):
    pass


def _interrupted_download(client: FerryClient, store_path: str, dest: Path) -> None:
    def stop(done: int, _total: int) -> None:
        if done >= 2 * MiB:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        client.download(store_path, dest, progress=stop)


def test_a_later_download_resumes_the_part_file(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    data = os.urandom(5 * MiB)
    publish(stub, "reads/resumed.bin", data)
    dest = tmp_path / "resumed.bin"
    with FerryClient(server.address, remember_uploads=False) as client:
        _interrupted_download(client, "reads/resumed.bin", dest)
        assert not dest.exists()

        result = client.download("reads/resumed.bin", dest)

    assert result.reused_bytes >= 2 * MiB
    assert result.restarts == 0
    assert dest.read_bytes() == data


def test_a_file_replaced_between_reads_is_never_spliced(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    old, new = os.urandom(5 * MiB), os.urandom(5 * MiB)
    publish(stub, "reads/replaced.bin", old)
    dest = tmp_path / "replaced.bin"
    with FerryClient(server.address, remember_uploads=False) as client:
        _interrupted_download(client, "reads/replaced.bin", dest)
        replacement = publish(stub, "reads/replaced.bin", new)

        result = client.download("reads/replaced.bin", dest)

    assert result.restarts == 1
    assert result.reused_bytes == 0
    assert result.task_id == replacement.task_id
    assert dest.read_bytes() == new


def test_a_corrupted_part_file_is_caught_by_the_hash(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    data = os.urandom(5 * MiB)
    publish(stub, "reads/corrupt.bin", data)
    dest = tmp_path / "corrupt.bin"
    with FerryClient(server.address, remember_uploads=False) as client:
        _interrupted_download(client, "reads/corrupt.bin", dest)
        part = dest.with_name("corrupt.bin.ferry-part")
        with part.open("r+b") as f:
            f.write(b"\x00" * 16)

        with pytest.raises(IntegrityError, match="hash"):
            client.download("reads/corrupt.bin", dest)
        assert not dest.exists() and not part.exists()

        assert client.download("reads/corrupt.bin", dest).sha256 == hashlib.sha256(data).hexdigest()


def test_ferry_download_on_the_command_line(
    server: FerryServer, stub: rpc.FerryServiceStub, tmp_path: Path
) -> None:
    data = os.urandom(2 * MiB + 1)
    publish(stub, "reads/cli/video.mp4", data)

    done = run_ferry(["download", "reads/cli/video.mp4", str(tmp_path), "--server",
                      server.address, "--quiet"])  # fmt: skip
    missing = run_ferry(["download", "reads/cli/none.mp4", str(tmp_path), "--server",
                         server.address, "--quiet"])  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "video.mp4").read_bytes() == data
    assert "sha256" in done.stdout and "verified" in done.stdout
    assert missing.returncode == 1
    assert "no file is published at" in missing.stderr


def test_the_client_raises_not_found_for_a_missing_file(
    server: FerryServer, tmp_path: Path
) -> None:
    with (
        FerryClient(server.address, remember_uploads=False) as client,
        pytest.raises(NotFound, match="no file is published"),
    ):
        client.download("reads/never.bin", tmp_path / "never.bin")
    assert not (tmp_path / "never.bin").exists()
