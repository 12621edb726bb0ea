"""An UploadParts stream a test drives message by message, e.g. to hold a block half-sent."""

from __future__ import annotations

import queue
from collections.abc import Iterator, Sequence

import google_crc32c
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc

from tests.support.client_tools import LIVENESS_TIMEOUT


class HeldStream:
    """An UploadParts call whose messages the test sends one ``send`` at a time."""

    def __init__(self, stub: rpc.FerryServiceStub) -> None:
        self._outbox: queue.SimpleQueue[pb.UploadPartsRequest | None] = queue.SimpleQueue()
        self._call = stub.UploadParts(self._requests())

    def _requests(self) -> Iterator[pb.UploadPartsRequest]:
        while (message := self._outbox.get()) is not None:
            yield message

    def send(self, *messages: pb.UploadPartsRequest) -> None:
        for message in messages:
            self._outbox.put(message)

    def ack(self) -> pb.UploadPartsResponse:
        """The next acknowledgement (raises the stream's error, if it ended with one)."""
        response: pb.UploadPartsResponse = next(self._call)
        return response

    def finish(self) -> list[pb.UploadPartsResponse]:
        """End the requests; the remaining acknowledgements."""
        self._outbox.put(None)
        return list(self._call)

    def cancel(self) -> None:
        self._call.cancel()


def other_bytes_messages(
    task: pb.Task, index: int, length: int, *, chunk: int, seed: int = 7
) -> list[pb.UploadPartsRequest]:
    """Block ``index`` carrying bytes that are not the source's, with their own valid CRC32C:
    what a client whose source changed, or a hostile one, would send."""
    data = bytes((i * 31 + seed) % 251 for i in range(length))
    messages = []
    for offset in range(0, length, chunk):
        piece = data[offset : offset + chunk]
        message = pb.UploadPartsRequest(
            task_id=task.task_id, block_index=index, offset=offset, data=piece
        )
        if offset + len(piece) == length:
            message.crc32c = google_crc32c.value(data)
        messages.append(message)
    return messages


def empty_first_message(task: pb.Task, index: int) -> pb.UploadPartsRequest:
    return pb.UploadPartsRequest(task_id=task.task_id, block_index=index, offset=0, data=b"")


def statuses(acks: Sequence[pb.UploadPartsResponse]) -> list[int]:
    return [ack.status for ack in acks]


__all__ = ["LIVENESS_TIMEOUT", "HeldStream", "empty_first_message", "other_bytes_messages"]
