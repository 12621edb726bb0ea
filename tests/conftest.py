"""Fixtures for every suite: real servers on loopback ports over real SQLite and PostgreSQL, and
a bystander task that hostile requests must leave as it was."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer, create_server
from ferry_server.config import KiB, Settings

from tests.support.databases import fresh_postgres_schema
from tests.support.protocol import create, merge, missing, upload
from tests.support.seaweedfs import S3Endpoint, SeaweedFS, running_seaweedfs


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """Each functional test runs twice: SQLite in its data dir, and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    # Small blocks so that multi-block files stay small in tests.
    return Settings(
        data_dir=tmp_path / "data",
        listen="127.0.0.1:0",
        database_url=database_url,
        min_block_size=64 * KiB,
        default_block_size=256 * KiB,
        max_block_size=4096 * KiB,
        max_file_size=64 * 1024 * KiB,
        blocking_threads=16,
    )


@pytest.fixture
def server(settings: Settings) -> Iterator[FerryServer]:
    ferry = create_server(settings)
    ferry.start()
    try:
        yield ferry
    finally:
        ferry.stop(grace=0)


@pytest.fixture
def channel(server: FerryServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as ch:
        yield ch


@pytest.fixture
def stub(channel: grpc.Channel) -> rpc.FerryServiceStub:
    return rpc.FerryServiceStub(channel)


@dataclass
class Bystander:
    """A task with blocks 0 and 2 of 4 committed, which a test must leave exactly so."""

    task: pb.Task
    data: bytes


@pytest.fixture
def bystander(server: FerryServer, stub: rpc.FerryServiceStub) -> Iterator[Bystander]:
    data = os.urandom(4 * 64 * KiB)
    task = create(stub, data, "bystander/file.bin", block_size=64 * KiB)
    upload(stub, task, data, [0, 2])
    yield Bystander(task, data)
    # Nothing the test did touched it: same blocks, and it still completes correctly.
    assert missing(stub, task.task_id) == [(1, 2), (3, 4)]
    upload(stub, task, data, [1, 3])
    done = merge(stub, task.task_id)
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    path = server.settings.resolved_storage_root / "bystander/file.bin"
    assert path.read_bytes() == data


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One real SeaweedFS (S3 API) for the whole run, started on first use, stopped at the end.

    Without it the tests that need it skip, or fail when CI is set.
    """
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as store:
        yield store


@pytest.fixture(scope="session")
def s3_endpoint(seaweedfs: SeaweedFS) -> S3Endpoint:
    """The running SeaweedFS's S3 endpoint and bucket."""
    assert seaweedfs.endpoint is not None
    return seaweedfs.endpoint
