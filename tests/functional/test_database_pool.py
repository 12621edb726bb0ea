"""A replica's database pool: its size and overflow are settings, and a call that finds every
connection busy for the pool timeout is refused as OVERLOADED (RESOURCE_EXHAUSTED, retryable),
never INTERNAL, while the database itself stays usable."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import create_server
from ferry_server.config import Settings
from ferry_server.domain.errors import Overloaded
from ferry_server.persistence.database import PoolLimits, create_database_engine, migrate
from ferry_server.persistence.repository import SqlTaskRepository
from google.rpc import error_details_pb2, status_pb2

from tests.support.databases import PG_DSN, fresh_postgres_schema

UNKNOWN_TASK = "0" * 32


def _url(database_url: str | None, tmp_path: Path) -> str:
    return database_url or f"sqlite:///{tmp_path / 'pool.db'}"


def test_a_call_finding_every_pooled_connection_busy_is_overloaded(
    database_url: str | None, tmp_path: Path
) -> None:
    url = _url(database_url, tmp_path)
    engine = create_database_engine(url, fsync=False, pool_size=PoolLimits(1, 0, 0.2))
    try:
        migrate(engine)
        repository = SqlTaskRepository(engine)
        # A Connection holds its pooled DBAPI connection from the moment it is opened.
        with engine.connect(), pytest.raises(Overloaded) as excinfo:
            repository.get(UNKNOWN_TASK)
        assert "--db-pool-size" in excinfo.value.message
        # The connection returned: the same repository answers again.
        assert repository.get(UNKNOWN_TASK) is None
    finally:
        engine.dispose()


def test_overflow_connections_serve_beyond_the_pool_size(
    database_url: str | None, tmp_path: Path
) -> None:
    url = _url(database_url, tmp_path)
    engine = create_database_engine(url, fsync=False, pool_size=PoolLimits(1, 2, 0.2))
    try:
        migrate(engine)
        repository = SqlTaskRepository(engine)
        with engine.connect(), engine.connect():
            assert repository.get(UNKNOWN_TASK) is None  # the second overflow connection
            with engine.connect(), pytest.raises(Overloaded):
                repository.get(UNKNOWN_TASK)
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_schema() as url:
        yield url


def _someone_waits_for(locker: psycopg.Connection[object]) -> bool:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
            (locker.info.backend_pid,),
        ).fetchone()
    return row is not None and row[0] > 0


def test_an_rpc_queued_behind_a_busy_pool_gets_resource_exhausted_overloaded(
    tmp_path: Path, postgres_url: str
) -> None:
    """One pooled connection, held by a call blocked on a table lock taken from outside: a
    second call waits the pool timeout and is told OVERLOADED with a RetryInfo."""
    settings = Settings(
        data_dir=tmp_path / "data",
        listen="127.0.0.1:0",
        database_url=postgres_url,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_seconds=0.3,
        db_statement_timeout_seconds=20,
        db_call_timeout_seconds=30,
        health_interval_seconds=3600,
    )
    server = create_server(settings)
    server.start()
    schema = postgres_url.rsplit("%3D", 1)[-1]
    try:
        with (
            grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel,
            psycopg.connect(PG_DSN) as locker,
        ):
            stub = rpc.FerryServiceStub(channel)
            locker.execute(f'LOCK TABLE "{schema}".ferry_tasks IN ACCESS EXCLUSIVE MODE')
            first: list[grpc.RpcError | pb.Task] = []

            def blocked_call() -> None:
                try:
                    first.append(stub.GetTask(pb.GetTaskRequest(task_id=UNKNOWN_TASK)))
                except grpc.RpcError as exc:
                    first.append(exc)

            holder = threading.Thread(target=blocked_call)
            holder.start()
            deadline = time.monotonic() + 30
            while not _someone_waits_for(locker):
                assert time.monotonic() < deadline, "the first call never reached the lock"
                time.sleep(0.01)
            with pytest.raises(grpc.RpcError) as excinfo:
                stub.GetTask(pb.GetTaskRequest(task_id=UNKNOWN_TASK), timeout=20)
            locker.rollback()
            holder.join(timeout=30)
        error = excinfo.value
        assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        status = status_pb2.Status.FromString(
            dict(error.trailing_metadata())["grpc-status-details-bin"]  # type: ignore[arg-type]
        )
        info = error_details_pb2.ErrorInfo()
        retry = error_details_pb2.RetryInfo()
        kinds = {d.type_url.rsplit("/", 1)[-1] for d in status.details}
        for detail in status.details:
            if detail.Is(info.DESCRIPTOR):
                detail.Unpack(info)
        assert info.reason == "OVERLOADED"
        assert retry.DESCRIPTOR.full_name in kinds
        # The call that held the connection finished normally once the lock went.
        assert isinstance(first[0], grpc.RpcError)
        assert first[0].code() is grpc.StatusCode.NOT_FOUND
    finally:
        server.stop(grace=0)
