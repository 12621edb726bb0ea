"""Speaking the ferry.v1 protocol directly through the generated stubs, for server tests."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Sequence

import google_crc32c
import grpc
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

KiB = 1024


def create(
    stub: rpc.FerryServiceStub,
    data: bytes,
    store_path: str,
    *,
    block_size: int = 0,
    sha256: str | None = None,
    overwrite: bool = False,
    metadata: dict[str, str] | None = None,
    webhook_url: str = "",
) -> pb.Task:
    response = stub.CreateTask(
        pb.CreateTaskRequest(
            file_name=store_path.rsplit("/", 1)[-1],
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest() if sha256 is None else sha256,
            store_path=store_path,
            block_size=block_size,
            overwrite=overwrite,
            metadata=metadata or {},
            webhook_url=webhook_url,
        )
    )
    return response.task


def block_bytes(task: pb.Task, data: bytes, index: int) -> bytes:
    return data[index * task.block_size : (index + 1) * task.block_size]


def block_messages(
    task: pb.Task,
    data: bytes,
    index: int,
    *,
    chunk: int = 64 * KiB,
    crc32c: int | None = None,
    corrupt: bool = False,
) -> list[pb.UploadPartsRequest]:
    """The messages carrying block ``index``; ``corrupt`` flips a byte after the CRC is taken."""
    block = block_bytes(task, data, index)
    crc = google_crc32c.value(block) if crc32c is None else crc32c
    if corrupt:
        block = bytes([block[0] ^ 0xFF]) + block[1:]
    messages = []
    for offset in range(0, len(block), chunk):
        piece = block[offset : offset + chunk]
        last = offset + len(piece) == len(block)
        message = pb.UploadPartsRequest(
            task_id=task.task_id, block_index=index, offset=offset, data=piece
        )
        if last:
            message.crc32c = crc
        messages.append(message)
    return messages


def upload(
    stub: rpc.FerryServiceStub, task: pb.Task, data: bytes, indices: Iterable[int] | None = None
) -> list[pb.UploadPartsResponse]:
    """Send blocks on one stream; return the acknowledgements."""
    chosen = range(task.block_count) if indices is None else indices

    def requests() -> Iterator[pb.UploadPartsRequest]:
        for index in chosen:
            yield from block_messages(task, data, index)

    return list(stub.UploadParts(requests()))


def missing(stub: rpc.FerryServiceStub, task_id: str) -> list[tuple[int, int]]:
    reply = stub.QueryMissingBlocks(pb.QueryMissingBlocksRequest(task_id=task_id))
    return [(r.start, r.end) for r in reply.missing]


def missing_set(stub: rpc.FerryServiceStub, task_id: str) -> set[int]:
    return {i for start, end in missing(stub, task_id) for i in range(start, end)}


def merge(stub: rpc.FerryServiceStub, task_id: str) -> pb.Task:
    return stub.Merge(pb.MergeRequest(task_id=task_id)).task


def set_state(stub: rpc.FerryServiceStub, task_id: str, state: int) -> pb.Task:
    return stub.SetState(pb.SetStateRequest(task_id=task_id, state=state)).task  # type: ignore[arg-type]


def statuses(acks: Sequence[pb.UploadPartsResponse]) -> dict[int, int]:
    return {ack.block_index: ack.status for ack in acks}


def notification(
    stub: rpc.FerryServiceStub, task_id: str, state: int, timeout: float = 30.0
) -> pb.Notification:
    """The task's completion notice once its delivery reaches ``state`` (GetTask, polled)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = stub.GetTask(pb.GetTaskRequest(task_id=task_id))
        if reply.notification.state == state or time.monotonic() > deadline:
            assert reply.notification.state == state, reply.notification
            return reply.notification
        time.sleep(0.05)


def reason_of(error: grpc.RpcError) -> str:
    """The ErrorInfo reason of a failed call (AssertionError if it has none)."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    raise AssertionError("no ErrorInfo")
