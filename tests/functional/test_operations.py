"""What an operator sees of a running replica: grpc.health.v1 following the database, server
reflection (grpcurl's view), and the Prometheus endpoint's series moving with an upload."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer, create_server
from ferry_server.config import KiB, Settings
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from prometheus_client.parser import text_string_to_metric_families

from tests.support.databases import own_postgres_database
from tests.support.processes import ServerProcess
from tests.support.protocol import block_messages, create, merge, upload

BLOCK = 64 * KiB
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def small_settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", listen="127.0.0.1:0", min_block_size=BLOCK,
        default_block_size=BLOCK, blocking_threads=8,
    ).replace(**changes)  # fmt: skip


@pytest.fixture
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FerryServer]:
    changes = getattr(request, "param", {})
    server = create_server(small_settings(tmp_path, **changes))
    server.start()
    try:
        yield server
    finally:
        server.stop(0)


# -- health --------------------------------------------------------------------------------


@pytest.mark.postgres
def test_health_is_not_serving_while_the_database_is_unreachable_and_serving_again(
    tmp_path: Path,
) -> None:
    with own_postgres_database() as database:
        settings = small_settings(
            tmp_path, database_url=database.url, health_interval_seconds=0.1,
            db_connect_timeout_seconds=2, db_statement_timeout_seconds=2,
            db_call_timeout_seconds=3,
        )  # fmt: skip
        server = create_server(settings)
        server.start()
        try:
            with grpc.insecure_channel(server.address) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                for service in ("", "ferry.v1.FerryService"):
                    reply = stub.Check(health_pb2.HealthCheckRequest(service=service))
                    assert reply.status == SERVING, service
                # Watch sends each change of status: synchronise on those, not on time.
                watch = stub.Watch(health_pb2.HealthCheckRequest(service="ferry.v1.FerryService"))
                assert next(watch).status == SERVING
                database.refuse()
                assert next(watch).status == NOT_SERVING
                whole = stub.Check(health_pb2.HealthCheckRequest(service=""))
                assert whole.status == NOT_SERVING
                database.allow()
                assert next(watch).status == SERVING
                watch.cancel()
        finally:
            server.stop(0)


def test_health_of_an_unknown_service_is_not_found(running: FerryServer) -> None:
    with grpc.insecure_channel(running.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


# -- reflection ----------------------------------------------------------------------------


def test_reflection_lists_the_service_and_describes_its_methods(running: FerryServer) -> None:
    with grpc.insecure_channel(running.address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {"ferry.v1.FerryService", "grpc.health.v1.Health"} <= services
        described = database.FindFileContainingSymbol("ferry.v1.FerryService")
        methods = {m.name for s in described.service for m in s.method}
        assert {"CreateTask", "UploadParts", "Merge", "GetTask"} <= methods


@pytest.mark.parametrize("running", [{"reflection": False}], indirect=True)
def test_reflection_can_be_turned_off(running: FerryServer) -> None:
    with grpc.insecure_channel(running.address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        with pytest.raises(grpc.RpcError) as caught:
            database.get_services()
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


# -- metrics -------------------------------------------------------------------------------

#: Every series README documents, as the exposition names them.
DOCUMENTED = {
    "ferry_received_bytes_total",
    "ferry_blocks_committed_total",
    "ferry_blocks_rejected_total",
    "ferry_upload_streams_open",
    "ferry_merge_duration_seconds_count",
    "ferry_rpc_duration_seconds_count",
}


def scrape(server: FerryServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:  # fmt: skip
    return samples.get((name, frozenset(labels.items())), 0.0)


METRICS = {"metrics_listen": "127.0.0.1:0"}


@pytest.mark.parametrize("running", [METRICS], indirect=True)
def test_the_metrics_endpoint_serves_the_series_and_they_move_with_an_upload(
    running: FerryServer,
) -> None:
    before = scrape(running)
    assert DOCUMENTED - {name for name, _ in before} <= {
        # Histograms with labels have no sample until their first observation.
        "ferry_rpc_duration_seconds_count",
    }
    data = os.urandom(3 * BLOCK)
    with grpc.insecure_channel(running.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        task = create(stub, data, "metrics.bin", block_size=BLOCK)
        # Block 0 arrives corrupted first (rejected), then whole; block 1 twice (a duplicate).
        acks = list(stub.UploadParts(iter(block_messages(task, data, 0, corrupt=True))))
        assert acks[0].status == pb.BLOCK_STATUS_CHECKSUM_MISMATCH
        upload(stub, task, data, [0, 1, 2, 1])
        merge(stub, task.task_id)
        with pytest.raises(grpc.RpcError):
            stub.GetTask(pb.GetTaskRequest(task_id="not-a-task"))
    after = scrape(running)

    assert {name for name, _ in after} >= DOCUMENTED
    moved = {
        name: value(after, name, **labels) - value(before, name, **labels)
        for name, labels in [
            ("ferry_received_bytes_total", {}),
            ("ferry_blocks_committed_total", {}),
            ("ferry_merge_duration_seconds_count", {}),
        ]
    }
    assert moved == {
        "ferry_received_bytes_total": 5 * BLOCK,
        "ferry_blocks_committed_total": 3,
        "ferry_merge_duration_seconds_count": 1,
    }
    for reason in ("checksum_mismatch", "duplicate"):
        assert value(after, "ferry_blocks_rejected_total", reason=reason) == 1, reason
    assert value(after, "ferry_blocks_rejected_total", reason="committed_different") == 0
    assert value(after, "ferry_upload_streams_open") == 0
    rpc_count = "ferry_rpc_duration_seconds_count"
    method = "/ferry.v1.FerryService/"
    assert value(after, rpc_count, method=method + "UploadParts", code="OK") == 2
    assert value(after, rpc_count, method=method + "Merge", code="OK") == 1
    # grpc.aio's abort() sends the status before it raises, so the interceptor records a
    # refused call just after its caller has the answer: wait for that record.
    deadline = time.monotonic() + 10
    while value(after, rpc_count, method=method + "GetTask", code="NOT_FOUND") == 0:
        assert time.monotonic() < deadline, "the refused GetTask was never recorded"
        time.sleep(0.05)
        after = scrape(running)
    assert value(after, rpc_count, method=method + "GetTask", code="NOT_FOUND") == 1


@pytest.mark.parametrize("running", [METRICS], indirect=True)
def test_an_open_upload_stream_shows_in_the_gauge(running: FerryServer) -> None:
    data = os.urandom(2 * BLOCK)
    with grpc.insecure_channel(running.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        task = create(stub, data, "gauge.bin", block_size=BLOCK)
        holding = threading.Event()

        def requests() -> Iterator[pb.UploadPartsRequest]:
            yield from block_messages(task, data, 0)
            # Hold the stream open until the test has looked.
            holding.wait()

        replies = stub.UploadParts(requests())
        assert next(replies).status == pb.BLOCK_STATUS_COMMITTED
        assert value(scrape(running), "ferry_upload_streams_open") == 1
        holding.set()
        assert list(replies) == []
    assert value(scrape(running), "ferry_upload_streams_open") == 0


def test_two_servers_in_one_process_keep_their_own_metrics(tmp_path: Path) -> None:
    servers = [create_server(small_settings(tmp_path / name, **METRICS)) for name in ("one", "two")]
    for server in servers:
        server.start()
    try:
        data = os.urandom(BLOCK)
        with grpc.insecure_channel(servers[0].address) as channel:
            stub = rpc.FerryServiceStub(channel)
            upload(stub, create(stub, data, "one.bin", block_size=BLOCK), data)
        one, two = (scrape(server) for server in servers)
        assert value(one, "ferry_blocks_committed_total") == 1
        assert value(two, "ferry_blocks_committed_total") == 0
    finally:
        for server in servers:
            server.stop(0)


def test_metrics_are_off_by_default(running: FerryServer) -> None:
    assert running.metrics_address is None


# -- logs ----------------------------------------------------------------------------------


def test_json_logs_are_one_object_a_line_carrying_the_task_id(tmp_path: Path) -> None:
    data = os.urandom(2 * BLOCK)
    process = ServerProcess(tmp_path / "data", extra_args=["--log-format", "json"])
    with process:
        with grpc.insecure_channel(process.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            task = create(stub, data, "logged.bin", block_size=BLOCK)
            upload(stub, task, data)
            merge(stub, task.task_id)
        assert process.terminate() == 0
    lines = process.log_path.read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries, "nothing was logged"
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
    about_task = [e for e in entries if e.get("task_id") == task.task_id]
    messages = [e["message"] for e in about_task]
    assert any("created" in m for m in messages), messages
    assert any("COMPLETED" in m for m in messages), messages
    assert all(e["principal"] for e in about_task)
    assert any(e["message"].startswith("ferry listening on") for e in entries)
