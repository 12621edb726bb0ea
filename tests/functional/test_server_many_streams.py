"""2,000 UploadParts streams on one replica (a process of its own, so that this client does not
share its GIL): at its stream limit a new stream is refused at once, RESOURCE_EXHAUSTED /
OVERLOADED with a retry delay; unary RPCs keep answering; idle streams are ended UNAVAILABLE /
STREAM_IDLE after the idle timeout, while streams that keep sending and a stream waiting for
its acknowledgement are not; and an upload still completes.

The client is grpc.aio over several connections. Nothing here is timed: latencies are printed
(``-s``) for the record, and every wait is bounded only by generous deadlines.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import google_crc32c
import grpc
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.config import KiB, Settings
from google.rpc import error_details_pb2, status_pb2

from tests.support.replica_process import replica_process

STREAMS = 2000
ACTIVE = 200
CHANNELS = 8
BLOCK = 64 * KiB
IDLE_TIMEOUT = 12.0
#: Held streams send an empty message this often until they are to go idle.
KEEPALIVE = 4.0
#: Streams opened at once.
WAVE = 200
#: Longer than the idle timeout: each block commit is held this long before its ack.
COMMIT_DELAY = 15.0
#: A generous bound for what must answer "at once" (never a timing assertion).
PROMPT = 5.0
#: The streams' own deadline: far beyond the scenario.
STREAM_DEADLINE = 300.0
IDLE_REASON = "STREAM_IDLE"


@dataclass
class Outcome:
    code: grpc.StatusCode | None = None
    reason: str = ""
    acks: list[pb.UploadPartsResponse] = field(default_factory=list)
    error: grpc.aio.AioRpcError | None = None


def _details(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return None


def _reason(error: grpc.aio.AioRpcError) -> str:
    status = _details(error)
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def _retry_delay(error: grpc.aio.AioRpcError) -> float | None:
    status = _details(error)
    for detail in status.details if status is not None else ():
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return info.retry_delay.ToTimedelta().total_seconds()
    return None


def _part(task_id: str, index: int, offset: int, data: bytes, crc: int | None = None) -> bytes:
    message = pb.UploadPartsRequest(task_id=task_id, block_index=index, offset=offset, data=data)
    if crc is not None:
        message.crc32c = crc
    return message.SerializeToString()


def _raw_upload_parts(channel: grpc.aio.Channel) -> grpc.aio.StreamStreamMultiCallable:
    # Raw bytes out, so that each test message is serialized once, by the test.
    return channel.stream_stream(
        "/ferry.v1.FerryService/UploadParts",
        request_serializer=None,
        response_deserializer=pb.UploadPartsResponse.FromString,
    )


async def _send(call: grpc.aio.StreamStreamCall, message: bytes) -> bool:
    """Write ``message``; False when the call is over already (its status tells why)."""
    try:
        await call.write(message)
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        return False
    return True


async def _ended(call: grpc.aio.StreamStreamCall, outcome: Outcome) -> Outcome:
    """Read until the stream ends; record its acks and final status."""
    try:
        while (reply := await call.read()) is not grpc.aio.EOF:
            outcome.acks.append(reply)
        outcome.code = grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        outcome.code = error.code()
        outcome.reason = _reason(error)
        outcome.error = error
    return outcome


async def _idle(
    upload: grpc.aio.StreamStreamMultiCallable, task_id: str, index: int, go_idle: asyncio.Event
) -> Outcome:
    """Start a block, keep the stream alive with empty messages, then go silent."""
    call = upload(timeout=STREAM_DEADLINE)
    message = _part(task_id, index, 0, b"")
    sent = await _send(call, message)
    while sent and not go_idle.is_set():
        try:
            await asyncio.wait_for(go_idle.wait(), KEEPALIVE)
        except TimeoutError:
            sent = await _send(call, message)
    return await _ended(call, Outcome())


async def _active(
    upload: grpc.aio.StreamStreamMultiCallable, task_id: str, index: int, stop: asyncio.Event
) -> Outcome:
    """Keep sending small pieces of a block (never finishing it) until told to stop."""
    call = upload(timeout=STREAM_DEADLINE)
    offset, piece = 0, b"a" * 256
    sent = await _send(call, _part(task_id, index, offset, piece))
    while sent and not stop.is_set():
        offset += len(piece)
        try:
            await asyncio.wait_for(stop.wait(), KEEPALIVE / 3)
        except TimeoutError:
            sent = await _send(call, _part(task_id, index, offset, piece))
    if sent:
        await call.done_writing()
    return await _ended(call, Outcome())


async def _waiter(
    upload: grpc.aio.StreamStreamMultiCallable, task_id: str, index: int, go: asyncio.Event
) -> Outcome:
    """Start a block and keep the stream alive; when told, finish the block and wait for its
    acknowledgement, which the server holds past the idle timeout."""
    call = upload(timeout=STREAM_DEADLINE)
    block = os.urandom(BLOCK)
    sent = await _send(call, _part(task_id, index, 0, block[:KiB]))
    while sent and not go.is_set():
        try:
            await asyncio.wait_for(go.wait(), KEEPALIVE)
        except TimeoutError:
            sent = await _send(call, _part(task_id, index, KiB, b""))
    if sent and await _send(
        call, _part(task_id, index, KiB, block[KiB:], google_crc32c.value(block))
    ):
        await call.done_writing()
    return await _ended(call, Outcome())


async def _whole_block(
    upload: grpc.aio.StreamStreamMultiCallable, task_id: str, index: int, data: bytes
) -> Outcome:
    """Send one whole block and wait for its acknowledgement (held past the idle timeout)."""
    call = upload(timeout=STREAM_DEADLINE)
    await call.write(_part(task_id, index, 0, data, google_crc32c.value(data)))
    await call.done_writing()
    return await _ended(call, Outcome())


async def _upload(stub: rpc.FerryServiceStub, upload: grpc.aio.StreamStreamMultiCallable) -> None:
    """A one-block upload, merged."""
    data = os.urandom(BLOCK)
    small = await stub.CreateTask(
        pb.CreateTaskRequest(
            file_name="after.bin", store_path="after.bin", size=len(data), block_size=BLOCK
        ),
        timeout=PROMPT,
    )
    done = await _whole_block(upload, small.task.task_id, 0, data)
    assert done.code == grpc.StatusCode.OK, done
    assert [a.status for a in done.acks] == [pb.BLOCK_STATUS_COMMITTED]
    merged = await stub.Merge(pb.MergeRequest(task_id=small.task.task_id), timeout=60)
    assert merged.task.state == pb.TASK_STATE_COMPLETED


def _streams_open(metrics_address: str) -> int:
    with urllib.request.urlopen(f"http://{metrics_address}/metrics", timeout=PROMPT) as reply:
        for line in reply.read().decode().splitlines():
            if line.startswith("ferry_upload_streams_open "):
                return int(float(line.split()[1]))
    raise AssertionError("ferry_upload_streams_open is not in the metrics")


async def _wait_for_streams(
    metrics_address: str, count: int, held: list[asyncio.Task[Outcome]]
) -> None:
    give_up = time.monotonic() + 120
    while (now := await asyncio.to_thread(_streams_open, metrics_address)) != count:
        ended = Counter(
            (t.result().code, t.result().reason, t.result().error) for t in held if t.done()
        )
        assert not ended, f"{now} of {count} streams open; ended early: {ended}"
        assert time.monotonic() < give_up, f"{now} of {count} streams open on the server"
        await asyncio.sleep(0.2)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _scenario(address: str, metrics_address: str, pid: int) -> None:
    channels = [
        grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(CHANNELS)
    ]
    try:
        stubs = [rpc.FerryServiceStub(channel) for channel in channels]
        uploads = [_raw_upload_parts(channel) for channel in channels]
        size = (STREAMS + 1) * BLOCK
        created = await stubs[0].CreateTask(
            pb.CreateTaskRequest(
                file_name="many.bin", store_path="many.bin", size=size, block_size=BLOCK
            ),
            timeout=PROMPT,
        )
        task_id = created.task.task_id
        go_idle, stop = asyncio.Event(), asyncio.Event()

        # Every held stream: 200 that keep sending, 1 that will wait for an ack, 1,799 to go
        # idle. Until the checks below are done, all of them keep sending. They are opened in
        # waves the server has taken up, as a burst of thousands would wait in gRPC's queue
        # of calls not yet taken up, which cancels calls that wait there for 30 s.
        stop_one = asyncio.Event()
        active = [
            asyncio.create_task(
                _active(uploads[i % CHANNELS], task_id, i, stop_one if i == ACTIVE - 1 else stop)
            )
            for i in range(ACTIVE)
        ]
        waiter = asyncio.create_task(_waiter(uploads[0], task_id, ACTIVE, go_idle))
        idle: list[asyncio.Task[Outcome]] = []
        for wave in range(ACTIVE + 1, STREAMS, WAVE):
            await _wait_for_streams(metrics_address, wave, [*active, waiter, *idle])
            idle += [
                asyncio.create_task(_idle(uploads[i % CHANNELS], task_id, i, go_idle))
                for i in range(wave, min(wave + WAVE, STREAMS))
            ]
        await _wait_for_streams(metrics_address, STREAMS, [*active, waiter, *idle])

        # Over the limit: refused at once, with the reason and a delay.
        refused = uploads[1](timeout=PROMPT)
        # (The refusal may come before the message is even sent.)
        await _send(refused, _part(task_id, STREAMS, 0, b""))
        outcome = await _ended(refused, Outcome())
        assert (outcome.code, outcome.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "OVERLOADED")
        assert outcome.error is not None
        delay = _retry_delay(outcome.error)
        assert delay is not None and delay > 0
        assert f"limit of {STREAMS} open upload streams" in (outcome.error.details() or "")

        # Unary RPCs answer while the streams are open.
        latencies = []
        for i in range(200):
            started = time.perf_counter()
            reply = await stubs[i % CHANNELS].GetTask(
                pb.GetTaskRequest(task_id=task_id), timeout=PROMPT
            )
            latencies.append(time.perf_counter() - started)
            assert reply.task.task_id == task_id
        latencies.sort()
        print(
            f"\n{STREAMS} streams open: GetTask p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms; "
            f"server RSS {_rss_mib(pid):.0f} MiB"
        )

        # One active stream ends, making room for an upload; most streams go silent; one
        # finishes its block, whose commit (like the upload's) is held past the idle timeout.
        ending = active.pop()  # the one told by stop_one
        stop_one.set()
        assert (await ending).code == grpc.StatusCode.OK
        await _wait_for_streams(metrics_address, STREAMS - 1, [*active, waiter, *idle])
        upload = asyncio.create_task(_upload(stubs[2], uploads[2]))
        go_idle.set()
        ended = await asyncio.gather(*idle)
        assert {(o.code, o.reason) for o in ended} == {(grpc.StatusCode.UNAVAILABLE, IDLE_REASON)}
        assert not any(task.done() for task in active)
        assert not waiter.done()

        await upload
        waited = await waiter
        assert waited.code == grpc.StatusCode.OK, waited
        assert [a.status for a in waited.acks] == [pb.BLOCK_STATUS_COMMITTED]
        stop.set()
        assert {o.code for o in await asyncio.gather(*active)} == {grpc.StatusCode.OK}
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))


def test_two_thousand_streams_limit_idle_timeout_and_unary_calls(
    tmp_path: Path, settings: Settings
) -> None:
    replica = settings.replace(
        max_streams=STREAMS,
        stream_idle_timeout_seconds=IDLE_TIMEOUT,
        test_fault=f"block-before-commit:sleep={COMMIT_DELAY}",
        metrics_listen="127.0.0.1:0",
        max_file_size=(STREAMS + 1) * BLOCK,
        fsync=False,
    )
    with replica_process(replica, tmp_path / "server.log") as server:
        assert server.metrics_address is not None
        asyncio.run(_scenario(server.address, server.metrics_address, server.pid))
