"""Fixtures for every suite: real servers on loopback ports over real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer, create_server
from ferry_server.config import KiB, Settings

from tests.support.databases import fresh_postgres_schema


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
        max_workers=16,
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
