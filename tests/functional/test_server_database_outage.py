"""PostgreSQL going away, stalling and coming back: RPCs answer UNAVAILABLE (retryable) before
their callers' generous deadlines, each failure is one WARNING line without a traceback, service
resumes when the database returns without a restart, and nothing acknowledged is lost.

Each test has a database of its own (CREATE DATABASE), which it closes to connections
(``ALLOW_CONNECTIONS false`` and ending its sessions) or reaches through a TCP relay that stops
forwarding. Database timeouts are set low so that the tests stay short; the calls' own deadlines
are far longer, so an answer of UNAVAILABLE (rather than DEADLINE_EXCEEDED) shows the bound
held.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import FerryClient, RetryPolicy, TransientError
from ferry_server.app import FerryServer, create_server
from ferry_server.config import KiB, Settings
from ferry_server.domain.errors import Unavailable
from ferry_server.persistence.database import (
    DatabaseTimeouts,
    create_database_engine,
    database_trouble_as_domain_errors,
)

from tests.support.client_tools import (
    LIVENESS_TIMEOUT,
    QUICK_RETRY,
    BackgroundCall,
    Gate,
    make_file,
    published,
    sha256_of,
    wait_until,
)
from tests.support.databases import OwnPostgresDatabase, own_postgres_database
from tests.support.protocol import create, merge, missing_set, upload
from tests.support.proxy import FaultyProxy

pytestmark = pytest.mark.postgres

#: Far longer than any database bound below: the server must answer well within it.
CALL_DEADLINE = 60.0
BLOCK = 64 * KiB


def outage_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        listen="127.0.0.1:0",
        database_url=database_url,
        min_block_size=BLOCK,
        default_block_size=BLOCK,
        blocking_threads=16,
        db_connect_timeout_seconds=2,
        db_statement_timeout_seconds=2,
        db_call_timeout_seconds=3,
        db_tcp_user_timeout_seconds=2,
        db_keepalive_seconds=1,
    )


@pytest.fixture
def database() -> Iterator[OwnPostgresDatabase]:
    with own_postgres_database() as db:
        yield db


def started(settings: Settings) -> FerryServer:
    server = create_server(settings)
    server.start()
    return server


def code_of(call: object) -> grpc.StatusCode:
    try:
        call()  # type: ignore[operator]
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[attr-defined, no-any-return]
    return grpc.StatusCode.OK


EVERY_RPC = ("GetTask", "QueryMissingBlocks", "CreateTask", "SetState", "UploadFile", "UploadParts")


def every_rpc(stub: rpc.FerryServiceStub, task: pb.Task, data: bytes) -> dict[str, object]:
    """One call of each RPC that needs the database, each with the generous deadline."""
    small = b"small file"
    return {
        "GetTask": lambda: stub.GetTask(
            pb.GetTaskRequest(task_id=task.task_id), timeout=CALL_DEADLINE
        ),
        "QueryMissingBlocks": lambda: stub.QueryMissingBlocks(
            pb.QueryMissingBlocksRequest(task_id=task.task_id), timeout=CALL_DEADLINE
        ),
        "CreateTask": lambda: stub.CreateTask(
            pb.CreateTaskRequest(file_name="o", store_path="other.bin", size=10),
            timeout=CALL_DEADLINE,
        ),
        "SetState": lambda: stub.SetState(
            pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_PAUSED),
            timeout=CALL_DEADLINE,
        ),
        "UploadFile": lambda: stub.UploadFile(
            pb.UploadFileRequest(
                file_name="s",
                store_path="small.bin",
                data=small,
                crc32c=google_crc32c.value(small),
            ),
            timeout=CALL_DEADLINE,
        ),
        "UploadParts": lambda: upload(stub, task, data, [1]),
    }


def assert_one_warning_line_each(records: list[logging.LogRecord]) -> None:
    ferry = [r for r in records if r.name.startswith("ferry")]
    assert [r for r in ferry if r.levelno == logging.WARNING], "no WARNING was logged"
    loud = [r for r in ferry if r.levelno > logging.WARNING or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]
    assert all("\n" not in r.getMessage() for r in ferry)


def through_an_outage(
    server: FerryServer,
    records: list[logging.LogRecord],
    *,
    begin: Callable[[], None],
    end: Callable[[], None],
    rpcs: Sequence[str],
) -> None:
    """Commit block 0 of a task, ``begin`` the outage, check that each of ``rpcs`` answers
    UNAVAILABLE (before its generous deadline) with one WARNING line, ``end`` it, and check that
    service resumes at once and that block 0 is still there."""
    with grpc.insecure_channel(server.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        data = os.urandom(4 * BLOCK)
        task = create(stub, data, "outage.bin", block_size=BLOCK)
        upload(stub, task, data, [0])

        begin()
        calls = every_rpc(stub, task, data)
        for name in rpcs:
            assert code_of(calls[name]) == grpc.StatusCode.UNAVAILABLE, name
        assert_one_warning_line_each(records)

        end()
        # No restart: the lost connections were discarded, and fresh ones serve at once.
        state = stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.state
        assert state == pb.TASK_STATE_UPLOADING
        # Block 0 was acknowledged before the outage: still committed, never sent again.
        assert 0 not in missing_set(stub, task.task_id)
        upload(stub, task, data, sorted(missing_set(stub, task.task_id)))
        done = merge(stub, task.task_id)
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert (server.settings.resolved_storage_root / "outage.bin").read_bytes() == data


def test_a_database_refusing_connections_is_unavailable_and_service_resumes(
    database: OwnPostgresDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = started(outage_settings(tmp_path, database.url))
    try:
        through_an_outage(
            server,
            caplog.records,
            begin=database.refuse,
            end=database.allow,
            rpcs=list(EVERY_RPC),
        )
    finally:
        server.stop(0)


def test_a_stalled_database_link_is_unavailable_within_the_bounds_and_service_resumes(
    database: OwnPostgresDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    host = database.url.split("@", 1)[1].split("/", 1)[0]
    with FaultyProxy(host, max_connections=64) as relay:
        server = started(outage_settings(tmp_path, database.url_via(relay.address)))
        try:
            # Three calls: each waits out a bound (the call's, then connecting's).
            through_an_outage(
                server,
                caplog.records,
                begin=relay.stall,
                end=relay.resume,
                rpcs=["GetTask", "UploadParts", "CreateTask"],
            )
        finally:
            server.stop(0)


def test_an_upload_under_way_survives_an_outage_with_identical_bytes(
    database: OwnPostgresDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = started(outage_settings(tmp_path, database.url))
    try:
        source = make_file(tmp_path / "src.bin", 2 * 1024 * KiB + 5)
        gate = Gate(threshold=source.stat().st_size // 3)
        with FerryClient(
            server.address, state_file=tmp_path / "state.json", retry=QUICK_RETRY
        ) as client:
            call = BackgroundCall(
                lambda: client.upload(source, "survivor.bin", block_size=BLOCK, progress=gate)
            )
            gate.wait_reached()
            database.refuse()
            gate.release()
            # The client meets the outage (the server says so in its log) before it ends.
            wait_until(
                lambda: any(
                    r.levelno == logging.WARNING and r.name.startswith("ferry")
                    for r in caplog.records
                ),
                "the server to meet the outage",
            )
            database.allow()
            result = call.result(LIVENESS_TIMEOUT)
        assert result.retries >= 1
        assert sha256_of(published(tmp_path / "data", "survivor.bin")) == sha256_of(source)
    finally:
        server.stop(0)


def test_the_client_library_sees_unavailable_as_transient(
    database: OwnPostgresDatabase, tmp_path: Path
) -> None:
    server = started(outage_settings(tmp_path, database.url))
    try:
        with grpc.insecure_channel(server.address) as channel:
            task = create(rpc.FerryServiceStub(channel), b"x" * 10, "t.bin")
        database.refuse()
        brief = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, max_attempts=3)
        with (
            FerryClient(server.address, state_file=tmp_path / "s.json", retry=brief) as client,
            pytest.raises(TransientError) as caught,
        ):
            client.status(task.task_id)
        # TransientError is what `ferry` exits 75 (EX_TEMPFAIL) for.
        assert caught.value.code == grpc.StatusCode.UNAVAILABLE
        assert caught.value.reason == "DATABASE_UNAVAILABLE"
        database.allow()
    finally:
        server.stop(0)


def test_a_database_without_ferrys_tables_is_unavailable_with_a_clear_message(
    database: OwnPostgresDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = outage_settings(tmp_path, database.url)
    server = started(settings)
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            task = create(stub, b"x" * 10, "t.bin")
            database.drop_tables()
            with pytest.raises(grpc.RpcError) as caught:
                stub.GetTask(pb.GetTaskRequest(task_id=task.task_id), timeout=CALL_DEADLINE)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
            assert "no Ferry tables" in caught.value.details()  # type: ignore[attr-defined]
            assert_one_warning_line_each(caplog.records)
    finally:
        server.stop(0)
    # A restart creates the tables again.
    server = started(settings)
    try:
        with grpc.insecure_channel(server.address) as channel:
            create(rpc.FerryServiceStub(channel), b"y" * 10, "t.bin")
    finally:
        server.stop(0)


def test_ferry_serve_without_its_database_says_so_in_one_line_and_exits_non_zero(
    database: OwnPostgresDatabase, tmp_path: Path
) -> None:
    database.refuse()
    completed = subprocess.run(
        [sys.executable, "-m", "ferry_server", "--listen", "127.0.0.1:0",
         "--data-dir", str(tmp_path / "data"), "--database-url", database.url,
         "--db-connect-timeout", "2"],
        capture_output=True, text=True, timeout=LIVENESS_TIMEOUT, check=False,
    )  # fmt: skip
    assert completed.returncode != 0
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert "cannot use the database" in lines[0] and database.name in lines[0]


def test_serving_connections_carry_the_statement_timeout_and_migrations_do_not(
    database: OwnPostgresDatabase,
) -> None:
    timeouts = DatabaseTimeouts(statement=2, call=3)
    serving = create_database_engine(database.url, fsync=True, pool_size=1, timeouts=timeouts)
    migrating = create_database_engine(
        database.url, fsync=True, pool_size=1, timeouts=timeouts.for_migrations()
    )
    try:
        with serving.connect() as connection:
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "2s"
        with migrating.connect() as connection:
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
    finally:
        serving.dispose()
        migrating.dispose()


def test_a_call_past_its_bound_has_its_connection_cut_and_discarded(
    database: OwnPostgresDatabase,
) -> None:
    # No statement timeout, so that only Ferry's own per-call bound can end the wait.
    engine = create_database_engine(
        database.url, fsync=True, pool_size=1, timeouts=DatabaseTimeouts(statement=None, call=1)
    )
    try:
        with (
            pytest.raises(Unavailable),
            database_trouble_as_domain_errors(),
            engine.connect() as connection,
        ):
            connection.exec_driver_sql(f"SELECT pg_sleep({CALL_DEADLINE})")
        # The cut connection was discarded: the next use gets a fresh, working one.
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
