"""The SQLite database's disk full: RESOURCE_EXHAUSTED (the documented "free space and retry"),
nothing half-recorded, and service back once space is freed, without a restart.

The database lives on a small tmpfs the test mounts, which needs root (the test is skipped with
the reason otherwise); staging and published files stay on the ordinary disk, so it is the SQL
write that meets the full disk.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import create_server
from ferry_server.config import KiB, Settings

from tests.support.protocol import create, merge, missing_set, upload

BLOCK = 64 * KiB
#: Enough declarations to need new database pages however much room SQLite kept in hand.
MAX_ATTEMPTS = 2000


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted for this test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem holding ``directory`` has no room left."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        chunk = b"\0" * (64 * KiB)
        while True:
            try:
                out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                if len(chunk) == 1:
                    return filler
                chunk = chunk[: len(chunk) // 2]


def test_a_full_database_disk_is_resource_exhausted_and_nothing_is_half_recorded(
    small_disk: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = Settings(
        data_dir=tmp_path / "data",
        listen="127.0.0.1:0",
        database_url=f"sqlite:///{small_disk / 'ferry.db'}",
        min_block_size=BLOCK,
        default_block_size=BLOCK,
    )
    server = create_server(settings)
    server.start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            data = os.urandom(2 * BLOCK)
            task = create(stub, data, "kept.bin", block_size=BLOCK)
            upload(stub, task, data, [0])
            filler = fill(small_disk)

            refused_path = None
            created = [task.task_id]
            for attempt in range(MAX_ATTEMPTS):
                path = f"full/{attempt}.bin"
                try:
                    reply = stub.CreateTask(
                        pb.CreateTaskRequest(file_name="f", store_path=path, size=1)
                    )
                    created.append(reply.task.task_id)
                except grpc.RpcError as exc:
                    assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc.details()  # type: ignore[attr-defined]
                    assert "disk is full" in exc.details()  # type: ignore[attr-defined]
                    refused_path = path
                    break
            assert refused_path is not None, "the full disk never stopped a declaration"
            # A block arriving now is not acknowledged: it stays missing.
            with pytest.raises(grpc.RpcError) as caught:
                upload(stub, task, data, [1])
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
            assert missing_set(stub, task.task_id) == {1}

            filler.unlink()
            # Nothing of the refused declaration was recorded: its store_path is free.
            again = stub.CreateTask(
                pb.CreateTaskRequest(file_name="f", store_path=refused_path, size=1)
            )
            assert not again.resumed
            created.append(again.task.task_id)
            staged = {p.name for p in settings.staging_dir.iterdir()}
            assert staged == set(created)
            upload(stub, task, data, [1])
            assert merge(stub, task.task_id).sha256 == hashlib.sha256(data).hexdigest()
        loud = [r for r in caplog.records if r.levelno > logging.WARNING or r.exc_info]
        assert not loud, [r.getMessage() for r in loud]
    finally:
        server.stop(0)


def test_a_small_file_meeting_a_full_database_disk_is_not_published(
    small_disk: Path, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        listen="127.0.0.1:0",
        database_url=f"sqlite:///{small_disk / 'ferry.db'}",
    )
    server = create_server(settings)
    server.start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            # Let SQLite's files grow first, so that the full disk meets a write, not a read.
            for index in range(50):
                create(stub, b"x", f"warm/{index}.bin")
            fill(small_disk)
            code = grpc.StatusCode.OK
            for attempt in range(MAX_ATTEMPTS):
                small = f"small file {attempt}".encode()
                try:
                    stub.UploadFile(
                        pb.UploadFileRequest(
                            file_name="s",
                            store_path=f"small/{attempt}.bin",
                            data=small,
                            crc32c=google_crc32c.value(small),
                        )
                    )
                except grpc.RpcError as exc:
                    code = exc.code()  # type: ignore[attr-defined]
                    break
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert not (settings.resolved_storage_root / f"small/{attempt}.bin").exists()
    finally:
        server.stop(0)
