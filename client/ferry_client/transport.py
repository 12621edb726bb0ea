"""The thin gRPC layer: the one place that calls the stub and turns ``grpc.RpcError`` into
:class:`~ferry_client.errors.FerryError`.

No policy lives here: no retries, no planning. Every call first makes sure the channel has
been connected once (:class:`~ferry_client.reachability.FirstContact`: an address that was never
reachable fails at once, naming why), and an UNIMPLEMENTED for a method every Ferry server has
means the server is not Ferry at all. Unary calls get a deadline; the UploadParts
stream gets none (it lasts as long as the upload) and relies on keepalive to notice a dead
connection. It also states the protocol's size limit of UploadFile (:data:`UPLOAD_FILE_MAX_SIZE`),
which decides whether a file can travel in one request.

UploadParts requests are encoded here by hand (:func:`encode_part`), like the server parses
them by hand: building a protobuf message around each 1 MiB of data costs about 2 s of CPU per
GiB on this kind of machine (upb copies the data into a fresh arena, and the page faults of
those allocations dominate), against under 0.1 s for the hand-written encoding.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc

from ferry_client.errors import CannotConnect, FerryError, from_rpc_error
from ferry_client.planning import MiB
from ferry_client.reachability import FirstContact

Request = TypeVar("Request")
Response = TypeVar("Response")

#: Channel options. Reconnect quickly after a server restart (the retry policy paces the
#: attempts, not the channel); ping a silent connection so a dead peer is noticed in about a
#: minute and a half rather than after TCP's retransmission timeout; and allow the largest
#: UploadParts message plus headers.
DEFAULT_CHANNEL_OPTIONS: Sequence[tuple[str, Any]] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.max_send_message_length", 2 * 1024 * 1024),
    ("grpc.max_receive_message_length", 4 * 1024 * 1024),
)


SERVICE_NAME = "ferry.v1.FerryService"
UPLOAD_PARTS_METHOD = f"/{SERVICE_NAME}/UploadParts"
#: The one method a Ferry server may lack (older versions): UNIMPLEMENTED for it is not
#: proof of a server that is not Ferry.
OPTIONAL_METHODS = frozenset({"UploadFile"})

#: The protocol's limit on UploadFile: a file of at most this many bytes may be sent whole in
#: one UploadFile request (``ferry.v1.UploadFileRequest.data``); a larger one must go through
#: CreateTask, UploadParts and Merge.
UPLOAD_FILE_MAX_SIZE = 1 * MiB


@dataclass(frozen=True, slots=True)
class Part:
    """One UploadParts message: a piece of one block (see ``ferry.v1.UploadPartsRequest``)."""

    task_id: str
    block_index: int
    offset: int
    data: bytes
    #: CRC32C of the whole block, on the message that completes it; else ``None``.
    crc32c: int | None


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_part(part: Part) -> bytes:
    """``part`` as ``UploadPartsRequest`` wire bytes, exactly as protobuf would serialize it
    (fields in number order, zero scalars omitted, crc32c present whenever set)."""
    task_id = part.task_id.encode("utf-8")
    pieces = []
    if task_id:
        pieces += [b"\x0a", _varint(len(task_id)), task_id]
    if part.block_index:
        pieces += [b"\x10", _varint(part.block_index)]
    if part.offset:
        pieces += [b"\x18", _varint(part.offset)]
    if part.crc32c is not None:
        pieces += [b"\x25", part.crc32c.to_bytes(4, "little")]
    if part.data:
        pieces += [b"\x2a", _varint(len(part.data)), part.data]
    return b"".join(pieces)


class CallCancelled(FerryError):
    """The client cancelled the call itself (never reaches callers of the public API)."""


def open_channel(
    target: str,
    *,
    credentials: grpc.ChannelCredentials | None = None,
    options: Mapping[str, Any] | None = None,
    interceptors: Sequence[Any] = (),
    connection: int | None = None,
) -> tuple[grpc.Channel, grpc.Channel]:
    """A channel to ``target`` with Ferry's defaults, overridden by ``options``, wrapped in
    ``interceptors``; and the channel beneath them, whose connectivity can be watched.
    ``connection``: a data channel of that number, with a TCP connection of its own (gRPC
    shares one connection among channels of equal arguments unless told otherwise)."""
    merged = dict(DEFAULT_CHANNEL_OPTIONS)
    merged.update(options or {})
    if connection is not None:
        merged["grpc.use_local_subchannel_pool"] = 1
        merged["ferry.data_connection"] = connection
    items = list(merged.items())
    if credentials is None:
        channel = grpc.insecure_channel(target, options=items)
    else:
        channel = grpc.secure_channel(target, credentials, options=items)
    raw = channel
    if interceptors:
        channel = grpc.intercept_channel(channel, *interceptors)
    return channel, raw


class Transport:
    """Ferry's RPCs over one channel, raising :class:`FerryError` only."""

    def __init__(
        self,
        channel: grpc.Channel,
        *,
        timeout: float,
        contact: FirstContact,
        target: str,
        data_channels: Sequence[grpc.Channel] = (),
    ) -> None:
        """``data_channels``: the channels UploadParts streams take in turn (each its own TCP
        connection); none: ``channel`` carries them too."""
        self._contact = contact
        self._target = target
        self._stub = rpc.FerryServiceStub(channel)
        # Requests go out already encoded (encode_part), so no serializer.
        self._upload_parts = [
            data.stream_stream(
                UPLOAD_PARTS_METHOD,
                request_serializer=None,
                response_deserializer=pb.UploadPartsResponse.FromString,
            )
            for data in (data_channels or [channel])
        ]
        self._next_data = itertools.count()
        self._timeout = timeout

    def connect(self) -> None:
        """Make sure the server was reached once (see :class:`FirstContact`)."""
        self._contact.ensure()

    def create_task(self, request: pb.CreateTaskRequest) -> pb.CreateTaskResponse:
        return self._unary(self._stub.CreateTask, request, name="CreateTask")

    def query_missing(
        self, task_id: str, *, committed_start: int | None = None, page_token: str = ""
    ) -> pb.QueryMissingBlocksResponse:
        """One page of what the task lacks (from ``page_token``); with ``committed_start``,
        also a page of its committed blocks' CRC32C from that index on."""
        request = pb.QueryMissingBlocksRequest(
            task_id=task_id,
            include_committed_crc32c=committed_start is not None,
            committed_start=committed_start or 0,
            page_token=page_token,
        )
        return self._unary(
            self._stub.QueryMissingBlocks, request, task_id=task_id, name="QueryMissingBlocks"
        )

    def query_all_missing(self, task_id: str) -> pb.QueryMissingBlocksResponse:
        """What the task lacks, every page of it: the first answer with the missing ranges of
        all pages in its ``missing``."""
        report = self.query_missing(task_id)
        token = report.next_page_token
        while token:
            page = self.query_missing(task_id, page_token=token)
            report.missing.extend(page.missing)
            token = page.next_page_token
        report.next_page_token = ""
        return report

    def get_task(self, task_id: str) -> pb.Task:
        request = pb.GetTaskRequest(task_id=task_id)
        return self._unary(self._stub.GetTask, request, task_id=task_id, name="GetTask").task

    def list_tasks(self, request: pb.ListTasksRequest) -> pb.ListTasksResponse:
        return self._unary(self._stub.ListTasks, request, name="ListTasks")

    def get_stats(self, all_principals: bool) -> pb.GetStatsResponse:
        request = pb.GetStatsRequest(all_principals=all_principals)
        return self._unary(self._stub.GetStats, request, name="GetStats")

    def set_state(self, task_id: str, state: pb.TaskState.ValueType) -> pb.Task:
        request = pb.SetStateRequest(task_id=task_id, state=state)
        return self._unary(self._stub.SetState, request, task_id=task_id, name="SetState").task

    def merge(
        self, task_id: str, *, sha256: str, timeout: float, size: int | None = None
    ) -> pb.Task:
        """Verify the task's bytes against ``sha256`` (the client's hash of the file; "" for
        the one declared at CreateTask) and publish them. Merge gets its own deadline: the
        server finishes hashing the file within it. ``size`` fixes the size of a task declared
        with its size deferred (a stream)."""
        request = pb.MergeRequest(task_id=task_id, sha256=sha256, size=size)
        return self._unary(
            self._stub.Merge, request, task_id=task_id, timeout=timeout, name="Merge"
        ).task

    def upload_file(self, request: pb.UploadFileRequest) -> pb.UploadFileResponse:
        """Send a whole small file (at most :data:`UPLOAD_FILE_MAX_SIZE` bytes): the
        COMPLETED task, and whether the same bytes were already published there. A server
        without the RPC answers UNIMPLEMENTED (a ``ServerError``)."""
        return self._unary(self._stub.UploadFile, request, name="UploadFile")

    def read_file(self, request: pb.ReadFileRequest) -> Iterator[pb.ReadFileResponse]:
        """A ReadFile stream, with ``grpc.RpcError`` converted to :class:`FerryError`. No
        deadline: a large file takes as long as it takes; keepalive finds a dead link."""
        self._contact.ensure()
        call = self._stub.ReadFile(request)
        try:
            yield from call
        except grpc.RpcError as exc:
            raise self._error(exc, "ReadFile", None) from exc
        finally:
            call.cancel()  # type: ignore[no-untyped-call]  # grpc-stubs leave it untyped

    def watch_task(self, task_id: str) -> Iterator[pb.Task]:
        """A WatchTask stream: the task now, then after each change, until it ends. No
        deadline; keepalive finds a dead link."""
        self._contact.ensure()
        call = self._stub.WatchTask(pb.WatchTaskRequest(task_id=task_id))
        try:
            for change in call:
                yield change.task
        except grpc.RpcError as exc:
            raise self._error(exc, "WatchTask", task_id) from exc
        finally:
            call.cancel()  # type: ignore[no-untyped-call]  # grpc-stubs leave it untyped

    def issue_upload_token(self, task_id: str, *, ttl: int) -> tuple[str, datetime]:
        """A new upload token for the task, and when it expires."""
        request = pb.IssueUploadTokenRequest(task_id=task_id, ttl_seconds=ttl)
        reply = self._unary(
            self._stub.IssueUploadToken, request, task_id=task_id, name="IssueUploadToken"
        )
        return reply.upload_token, reply.expire_time.ToDatetime(tzinfo=UTC)

    def _unary(
        self,
        method: grpc.UnaryUnaryMultiCallable[Request, Response],
        request: Request,
        *,
        name: str,
        task_id: str | None = None,
        timeout: float | None = None,
    ) -> Response:
        """``method(request)`` under the deadline (the client's unless ``timeout`` is given),
        with ``grpc.RpcError`` converted to :class:`FerryError`."""
        self._contact.ensure()
        try:
            return method(request, timeout=self._timeout if timeout is None else timeout)
        except grpc.RpcError as exc:
            raise self._error(exc, name, task_id) from exc

    def _error(self, exc: grpc.RpcError, name: str, task_id: str | None) -> FerryError:
        error = from_rpc_error(exc, task_id=task_id)
        if error.code == grpc.StatusCode.UNIMPLEMENTED and name not in OPTIONAL_METHODS:
            return CannotConnect(
                self._target,
                f"a gRPC server that is not Ferry (UNIMPLEMENTED for {SERVICE_NAME}/{name})",
            )
        return error

    def upload_parts(self, parts: Iterator[Part], *, task_id: str) -> PartsStream:
        """Open an UploadParts stream fed by ``parts`` (consumed by a gRPC thread)."""
        self._contact.ensure()
        try:
            # Streams take the data connections in turn, so that each has its own TCP send
            # buffer and congestion window (one connection's cap a long link's streams share).
            method = self._upload_parts[next(self._next_data) % len(self._upload_parts)]
            call = method(encode_part(part) for part in parts)
        except grpc.RpcError as exc:
            raise self._error(exc, "UploadParts", task_id) from exc
        return PartsStream(call, task_id, self._error)


class PartsStream:
    """One open UploadParts call: iterate for the acknowledgements, ``cancel()`` to drop it."""

    def __init__(
        self,
        call: Any,
        task_id: str,
        convert: Callable[[grpc.RpcError, str, str | None], FerryError],
    ) -> None:
        self._call = call
        self._task_id = task_id
        self._convert = convert
        self._cancelled = threading.Event()

    def __iter__(self) -> Iterator[pb.UploadPartsResponse]:
        try:
            yield from self._call
        except grpc.RpcError as exc:
            if self._cancelled.is_set():
                raise CallCancelled(
                    "the client cancelled the stream",
                    code=grpc.StatusCode.CANCELLED,
                    task_id=self._task_id,
                ) from exc
            raise self._convert(exc, "UploadParts", self._task_id) from exc

    def cancel(self) -> None:
        """Drop the call; the iteration then ends with :class:`CallCancelled`."""
        self._cancelled.set()
        self._call.cancel()
