"""The stream limit and the idle timeout on a small scale (test_server_many_streams.py has
them at 2,000 streams): a stream over the limit is refused RESOURCE_EXHAUSTED / OVERLOADED with a
retry delay, and a place freed is taken again; a stream idle mid-block is ended UNAVAILABLE /
STREAM_IDLE with its partial block's file dropped, and what it had committed stays."""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer, create_server
from ferry_server.config import Settings
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support.client_tools import wait_until
from tests.support.protocol import KiB, block_messages, create, missing_set
from tests.support.streams import HeldStream

BLOCK = 64 * KiB
IDLE_TIMEOUT = 1.0


@pytest.fixture
def limited(settings: Settings) -> Iterator[FerryServer]:
    server = create_server(
        settings.replace(max_streams=2, stream_idle_timeout_seconds=IDLE_TIMEOUT)
    )
    server.start()
    try:
        yield server
    finally:
        server.stop(0)


def _reason_and_delay(error: grpc.RpcError) -> tuple[str, float | None]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    reason, delay = "", None
    for detail in status.details:
        info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            reason = info.reason
        elif detail.Unpack(retry):
            delay = retry.retry_delay.ToTimedelta().total_seconds()
    return reason, delay


def test_a_stream_over_the_limit_is_refused_overloaded_until_a_place_frees(
    limited: FerryServer,
) -> None:
    with grpc.insecure_channel(limited.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        data = os.urandom(3 * BLOCK)
        task = create(stub, data, "limit.bin", block_size=BLOCK)
        held = [HeldStream(stub), HeldStream(stub)]
        for index, stream in enumerate(held):
            stream.send(*block_messages(task, data, index))
            assert stream.ack().block_index == index  # both streams are open on the server

        with pytest.raises(grpc.RpcError) as caught:
            list(stub.UploadParts(iter(block_messages(task, data, 2)), timeout=10))
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
        reason, delay = _reason_and_delay(caught.value)
        assert reason == "OVERLOADED"
        assert delay is not None and delay > 0
        assert "limit of 2 open upload streams" in caught.value.details()  # type: ignore[attr-defined]

        assert held[0].finish() == []
        # Its place is free once its handler ended; then a new stream is taken.
        wait_until(lambda: _third_stream_taken(stub, task, data), "a freed place taken")
        held[1].finish()
        assert missing_set(stub, task.task_id) == set()


def _third_stream_taken(stub: rpc.FerryServiceStub, task: pb.Task, data: bytes) -> bool:
    try:
        acks = list(stub.UploadParts(iter(block_messages(task, data, 2)), timeout=10))
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:  # type: ignore[attr-defined]
            return False
        raise
    return [a.status for a in acks] == [pb.BLOCK_STATUS_COMMITTED]


def test_a_stream_idle_mid_block_is_ended_stream_idle_and_its_partial_block_dropped(
    limited: FerryServer,
) -> None:
    with grpc.insecure_channel(limited.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        data = os.urandom(2 * BLOCK)
        task = create(stub, data, "idle.bin", block_size=BLOCK, sha256="")
        stream = HeldStream(stub)
        stream.send(*block_messages(task, data, 0))
        assert stream.ack().status == pb.BLOCK_STATUS_COMMITTED
        # Half of block 1, then nothing: the server owes no ack, so the stream is idle.
        stream.send(block_messages(task, data, 1, chunk=BLOCK // 2)[0])
        with pytest.raises(grpc.RpcError) as caught:
            stream.ack()
        stream.cancel()
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        assert _reason_and_delay(caught.value)[0] == "STREAM_IDLE"
        assert "sent nothing for 1 s" in caught.value.details()  # type: ignore[attr-defined]

        staging = limited.settings.staging_dir / task.task_id
        wait_until(
            lambda: not any(p.name.startswith("b1.") for p in staging.iterdir()),
            "the partial block's attempt file dropped",
        )
        assert missing_set(stub, task.task_id) == {1}
