"""A scripted server side for deterministic client tests: ``grpc_testing.channel`` gives the
client a channel whose calls the test answers itself (lost replies, UNAVAILABLE sequences,
acknowledgements that never come), one call at a time and in order, with no network, no
threads of a server and no timing.

The client's first-contact check watches the channel's connectivity, which a testing channel
does not have: :class:`ScriptedChannel` reports READY at once and delegates everything else.
"""

from __future__ import annotations

from typing import Any

import grpc
import grpc_testing
from ferry.v1 import ferry_pb2 as pb
from ferry_client.reachability import FirstContact
from ferry_client.transport import Transport

SERVICE = pb.DESCRIPTOR.services_by_name["FerryService"]


def method(name: str) -> Any:
    return SERVICE.methods_by_name[name]


class ScriptedChannel:
    """A ``grpc_testing`` channel that is connected from the start."""

    def __init__(self) -> None:
        self.testing = grpc_testing.channel([SERVICE], grpc_testing.strict_real_time())

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        callback(grpc.ChannelConnectivity.READY)

    def unsubscribe(self, callback: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.testing, name)

    def transport(self) -> Transport:
        contact = FirstContact(self, "scripted", tls=False, timeout=1.0)  # type: ignore[arg-type]
        return Transport(self, timeout=5.0, contact=contact, target="scripted")  # type: ignore[arg-type]

    # -- the server's side ---------------------------------------------------------------

    def answer(self, name: str, response: Any = None, code: grpc.StatusCode = grpc.StatusCode.OK,
               details: str = "") -> Any:  # fmt: skip
        """Take the next call of unary method ``name`` and end it; its request."""
        _, request, rpc = self.testing.take_unary_unary(method(name))
        rpc.send_initial_metadata(())
        rpc.terminate(response, (), code, details)
        return request

    def take_stream(self) -> Any:
        """The next UploadParts call, its initial metadata sent."""
        _, rpc = self.testing.take_stream_stream(method("UploadParts"))
        rpc.send_initial_metadata(())
        return rpc


def take_block(rpc: Any) -> tuple[int, bytes, int]:
    """Read one whole block from a scripted UploadParts call: (index, data, crc32c)."""
    data = b""
    while True:
        part = pb.UploadPartsRequest.FromString(rpc.take_request())
        data += part.data
        if part.HasField("crc32c"):
            return part.block_index, data, part.crc32c


def task(task_id: str = "a" * 32, block_size: int = 1024 * 1024, **fields: Any) -> pb.Task:
    fields.setdefault("state", pb.TASK_STATE_UPLOADING)
    return pb.Task(task_id=task_id, block_size=block_size, **fields)
