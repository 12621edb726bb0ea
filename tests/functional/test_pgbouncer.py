"""Ferry behind a real PgBouncer in transaction mode (``--db-transaction-pooling``): every
transaction may land on another server connection, so Ferry must use no server-side prepared
statement and no per-connection setting. Two replicas through it: an upload, a resume after a
cut stream, and a concurrent Merge on both, each ending with the published bytes equal to the
source. Without the setting, the startup option carrying the statement timeout is refused."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import FerryClient
from ferry_server.domain.errors import Unavailable
from ferry_server.persistence.database import (
    DatabaseTimeouts,
    create_database_engine,
    migrate,
)
from ferry_server.persistence.repository import SqlTaskRepository
from sqlalchemy import text

from tests.support.databases import OwnPostgresDatabase, own_postgres_database
from tests.support.pgbouncer import PgBouncer, running_pgbouncer
from tests.support.processes import ServerProcess
from tests.support.protocol import KiB, create, merge, missing_set, upload


@pytest.fixture(scope="module")
def bouncer() -> Iterator[PgBouncer]:
    with running_pgbouncer() as running:
        yield running


@pytest.fixture
def database(bouncer: PgBouncer) -> Iterator[OwnPostgresDatabase]:
    with own_postgres_database() as own:
        yield own


def test_each_transaction_gets_the_statement_timeout_and_nothing_is_prepared(
    bouncer: PgBouncer, database: OwnPostgresDatabase
) -> None:
    url = database.url_via(bouncer.address)
    engine = create_database_engine(
        url,
        fsync=True,
        pool_size=2,
        timeouts=DatabaseTimeouts(statement=3),
        transaction_pooling=True,
    )
    try:
        migrate(engine)
        repository = SqlTaskRepository(engine)
        for _ in range(20):  # psycopg would prepare from the 5th use of one statement
            assert repository.get("0" * 32) is None
        with engine.begin() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "3s"
            prepared = connection.execute(text("SELECT count(*) FROM pg_prepared_statements"))
            assert prepared.scalar() == 0
    finally:
        engine.dispose()


def test_without_the_setting_pgbouncer_refuses_the_startup_option(
    bouncer: PgBouncer, database: OwnPostgresDatabase
) -> None:
    engine = create_database_engine(
        database.url_via(bouncer.address), fsync=True, pool_size=1, timeouts=DatabaseTimeouts()
    )
    try:
        with pytest.raises(Unavailable) as excinfo:
            SqlTaskRepository(engine).get("0" * 32)
        assert "options" in excinfo.value.message
    finally:
        engine.dispose()


@pytest.fixture
def replicas(
    tmp_path: Path, bouncer: PgBouncer, database: OwnPostgresDatabase
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    url = database.url_via(bouncer.address)
    # Few connections a replica: 4 threads and a pool of 4 + 2 (at least threads + 2).
    extra = [
        "--db-transaction-pooling",
        "--blocking-threads", "4",
        "--db-pool-size", "4",
        "--db-max-overflow", "2",
    ]  # fmt: skip
    data_dir = tmp_path / "shared-data"
    a = ServerProcess(data_dir, database_url=url, extra_args=extra, name="replica-a")
    b = ServerProcess(data_dir, database_url=url, extra_args=extra, name="replica-b")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda p: p.start(), [a, b]))
    try:
        yield a, b
    finally:
        a.kill()
        b.kill()
    logs = a.log_path.read_text() + b.log_path.read_text()
    assert "Traceback" not in logs
    assert "prepared statement" not in logs


def test_upload_resume_and_concurrent_merge_through_pgbouncer(
    replicas: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    a, b = replicas
    published = tmp_path / "shared-data" / "files"
    # An upload with the client, through replica A.
    whole = os.urandom(3 * 1024 * KiB + 17)
    source = tmp_path / "whole.bin"
    source.write_bytes(whole)
    with FerryClient(a.address, state_file=tmp_path / "state.json") as client:
        result = client.upload(source, "bounced/whole.bin", block_size=256 * KiB)
    assert (published / "bounced/whole.bin").read_bytes() == whole
    assert result.sha256 == hashlib.sha256(whole).hexdigest()
    with grpc.insecure_channel(a.address) as ca, grpc.insecure_channel(b.address) as cb:
        stub_a, stub_b = rpc.FerryServiceStub(ca), rpc.FerryServiceStub(cb)
        # A resume: blocks through A, a stream cut mid-block, the rest through B.
        data = os.urandom(24 * 256 * KiB)
        task = create(stub_a, data, "bounced/resumed.bin", block_size=256 * KiB)
        upload(stub_a, task, data, range(0, 12))
        head = data[12 * 256 * KiB : 12 * 256 * KiB + 1000]
        cut = pb.UploadPartsRequest(task_id=task.task_id, block_index=12, offset=0, data=head)
        list(stub_a.UploadParts(iter([cut])))  # the stream ends mid-block: nothing committed
        assert missing_set(stub_b, task.task_id) == set(range(12, 24))
        upload(stub_b, task, data, range(13, 24, 2))
        upload(stub_a, task, data, range(12, 24, 2))
        # A concurrent Merge on both replicas: published once, the same answer on both.
        barrier = threading.Barrier(2)

        def merge_on(stub: rpc.FerryServiceStub) -> pb.Task:
            barrier.wait()
            return merge(stub, task.task_id)

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(merge_on, [stub_a, stub_b]))
    assert results[0] == results[1]
    assert results[0].state == pb.TASK_STATE_COMPLETED
    assert results[0].sha256 == hashlib.sha256(data).hexdigest()
    assert (published / "bounced/resumed.bin").read_bytes() == data
    logs = [p.log_path.read_text() for p in replicas]
    assert sum(log.count(f"task {task.task_id} COMPLETED") for log in logs) == 1
