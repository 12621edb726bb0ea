"""The client against a scripted server (``grpc_testing.channel``): each test plays the server's
side of every call, in order, so the cases that are hard to produce on a real server happen
exactly when wanted: a reply lost after the work was done, UNAVAILABLE several times in a row,
an acknowledgement that never comes (a stall). The real-server tests in tests/functional stay;
these pin down what the client sends in each case."""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import os

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry_client import RetryPolicy, TransientError
from ferry_client.events import EventSink, UploadEvent
from ferry_client.pipe_upload import StreamUpload
from ferry_client.stall import StreamStalled

from tests.support.scripted import ScriptedChannel, take_block, task

MiB = 1024 * 1024
QUICK = RetryPolicy(initial_backoff=0.0, max_backoff=0.0, max_attempts=5, max_elapsed=None)


def start_stream_upload(
    channel: ScriptedChannel,
    data: bytes,
    events: list[UploadEvent],
    *,
    stall_timeout: float | None = None,
    retry: RetryPolicy = QUICK,
) -> concurrent.futures.Future:
    sink = EventSink(events.append, path="-", store_path="scripted/out.bin")
    upload = StreamUpload(
        channel.transport(),
        io.BytesIO(data),
        "scripted/out.bin",
        file_name="out.bin",
        metadata={},
        block_size=None,
        max_size=None,
        parallelism=1,
        overwrite=False,
        budget=retry.budget(on_retry=sink.retrying),
        events=sink,
        progress=None,
        merge_timeout=5.0,
        stall_timeout=stall_timeout,
    )
    pool = concurrent.futures.ThreadPoolExecutor(1)
    future = pool.submit(upload.run, 0.0)
    pool.shutdown(wait=False)
    return future


def ack(index: int) -> pb.UploadPartsResponse:
    return pb.UploadPartsResponse(task_id="a" * 32, block_index=index,
                                  status=pb.BLOCK_STATUS_COMMITTED)  # fmt: skip


def end(rpc: object) -> None:
    """The client has nothing more to send: it half-closes, the server ends the call."""
    rpc.requests_closed()  # type: ignore[attr-defined]
    rpc.terminate((), grpc.StatusCode.OK, "")  # type: ignore[attr-defined]


def merged(data: bytes) -> pb.MergeResponse:
    return pb.MergeResponse(task=task(size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                      state=pb.TASK_STATE_COMPLETED, block_count=2))  # fmt: skip


def test_unavailable_twice_then_the_declaration_goes_through():
    channel = ScriptedChannel()
    data = os.urandom(MiB + 10)
    future = start_stream_upload(channel, data, [])
    for _ in range(2):
        channel.answer("CreateTask", code=grpc.StatusCode.UNAVAILABLE, details="restarting")
    declared = channel.answer("CreateTask", pb.CreateTaskResponse(task=task()))
    assert (declared.size_deferred, declared.size, declared.max_size) == (True, 0, 0)
    rpc = channel.take_stream()
    for index in (0, 1):
        assert take_block(rpc)[0] == index
        rpc.send_response(ack(index))
    end(rpc)
    request = channel.answer("Merge", merged(data))
    assert (request.size, request.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert future.result(timeout=10).size == len(data)


def test_a_block_whose_acknowledgement_was_lost_is_sent_again_whole():
    """The stream dies after the server read block 0 but before its answer came back: the
    client sends block 0 again, from offset 0, with the same bytes and CRC32C."""
    channel = ScriptedChannel()
    data = os.urandom(MiB + 10)
    future = start_stream_upload(channel, data, [])
    channel.answer("CreateTask", pb.CreateTaskResponse(task=task()))
    first = channel.take_stream()
    lost = take_block(first)
    first.terminate((), grpc.StatusCode.UNAVAILABLE, "connection reset")
    second = channel.take_stream()
    again = take_block(second)
    assert again == lost
    assert again[1] == data[:MiB]
    second.send_response(ack(0))
    index, rest, _ = take_block(second)
    assert (index, rest) == (1, data[MiB:])
    second.send_response(ack(1))
    end(second)
    channel.answer("Merge", merged(data))
    assert future.result(timeout=10).retries == 1


def test_an_acknowledgement_that_never_comes_is_a_stall():
    channel = ScriptedChannel()
    data = os.urandom(MiB + 10)
    events: list[UploadEvent] = []
    future = start_stream_upload(channel, data, events, stall_timeout=0.2)
    channel.answer("CreateTask", pb.CreateTaskResponse(task=task()))
    silent = channel.take_stream()
    take_block(silent)
    # The server says nothing: the client's watchdog cancels the call.
    silent.cancelled()
    fresh = channel.take_stream()
    assert take_block(fresh)[0] == 0
    fresh.send_response(ack(0))
    take_block(fresh)
    fresh.send_response(ack(1))
    end(fresh)
    channel.answer("Merge", merged(data))
    assert future.result(timeout=10).size == len(data)
    assert [e.kind for e in events].count("stalled") == 1


def test_a_stall_every_time_gives_up_and_cancels_the_task():
    channel = ScriptedChannel()
    data = os.urandom(MiB + 10)
    policy = RetryPolicy(initial_backoff=0.0, max_backoff=0.0, max_attempts=2, max_elapsed=None)
    future = start_stream_upload(channel, data, [], stall_timeout=0.1, retry=policy)
    channel.answer("CreateTask", pb.CreateTaskResponse(task=task()))
    for _ in range(2):
        rpc = channel.take_stream()
        take_block(rpc)
        rpc.cancelled()
    cancel = channel.answer(
        "SetState", pb.SetStateResponse(task=task(state=pb.TASK_STATE_CANCELED))
    )
    assert cancel.state == pb.TASK_STATE_CANCELED
    with pytest.raises(StreamStalled, match="was cancelled") as excinfo:
        future.result(timeout=10)
    assert isinstance(excinfo.value, TransientError)
