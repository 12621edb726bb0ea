"""The ``ferry.v1.FerryService`` servicer: parse the request, call the domain, build the reply."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from typing import Any

import google_crc32c
import grpc
from ferry.v1 import ferry_pb2 as pb

from ferry_server.domain.errors import TaskNotFound
from ferry_server.domain.model import Task
from ferry_server.domain.service import TransferService
from ferry_server.transport import convert, wire
from ferry_server.transport.status import parsing, server_stream_rpc, stream_rpc, unary_rpc
from ferry_server.transport.streams import OpenStreams

SERVICE_NAME = "ferry.v1.FerryService"
#: Longest a Merge waits for another replica's merge of the same task without a deadline.
_MAX_MERGE_WAIT_SECONDS = 60.0
#: How often a WatchTask stream with no change checks that its caller is still there.
_WATCH_WAKE_SECONDS = 1.0


class FerryServicer:
    """Thin adapter from gRPC to :class:`TransferService`."""

    def __init__(self, service: TransferService, streams: OpenStreams | None = None) -> None:
        self._service = service
        #: Open UploadParts streams, ended at once when the replica shuts down.
        self.streams = streams if streams is not None else OpenStreams()

    @unary_rpc
    def CreateTask(
        self, request: pb.CreateTaskRequest, context: grpc.ServicerContext
    ) -> pb.CreateTaskResponse:
        task, resumed = self._service.create_task(convert.task_spec(request))
        return pb.CreateTaskResponse(task=convert.task_message(task), resumed=resumed)

    @stream_rpc
    def UploadParts(
        self, requests: Iterator[bytes], context: grpc.ServicerContext
    ) -> Iterator[pb.UploadPartsResponse]:
        with self.streams.tracking(context):
            receiver = self._service.open_receiver()
            try:
                for raw in requests:
                    ack = receiver.receive(wire.parse_part(raw))
                    if ack is not None:
                        yield convert.ack_message(ack)
            finally:
                receiver.close()

    @unary_rpc
    def QueryMissingBlocks(
        self, request: pb.QueryMissingBlocksRequest, context: grpc.ServicerContext
    ) -> pb.QueryMissingBlocksResponse:
        crc32c_from = request.committed_start if request.include_committed_crc32c else None
        report = self._service.missing_blocks(
            request.task_id,
            crc32c_from=crc32c_from,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return convert.missing_message(report)

    @unary_rpc
    def SetState(
        self, request: pb.SetStateRequest, context: grpc.ServicerContext
    ) -> pb.SetStateResponse:
        task = self._service.set_state(request.task_id, convert.state_from_pb(request.state))
        return pb.SetStateResponse(task=convert.task_message(task))

    @unary_rpc
    def Merge(self, request: pb.MergeRequest, context: grpc.ServicerContext) -> pb.MergeResponse:
        remaining = context.time_remaining()
        wait = _MAX_MERGE_WAIT_SECONDS if remaining is None else max(0.0, remaining - 0.5)
        task = self._service.merge(
            request.task_id,
            wait_seconds=min(wait, _MAX_MERGE_WAIT_SECONDS),
            sha256=request.sha256,
        )
        return pb.MergeResponse(task=convert.task_message(task))

    @unary_rpc
    def UploadFile(
        self, request: pb.UploadFileRequest, context: grpc.ServicerContext
    ) -> pb.UploadFileResponse:
        crc = request.crc32c if request.HasField("crc32c") else None
        task, resumed = self._service.upload_file(convert.file_spec(request), request.data, crc)
        return pb.UploadFileResponse(task=convert.task_message(task), resumed=resumed)

    @server_stream_rpc
    def ReadFile(
        self, request: pb.ReadFileRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ReadFileResponse]:
        read = self._service.read_file(
            store_path=request.store_path,
            task_id=request.task_id,
            offset=request.offset,
            length=request.length,
            if_generation=request.if_generation,
        )
        first = pb.ReadFileResponse(offset=read.offset, generation=convert.generation(read))
        offset = read.offset
        for data in read.chunks:
            message = first if offset == read.offset else pb.ReadFileResponse(offset=offset)
            message.data = data
            message.crc32c = google_crc32c.value(data)
            offset += len(data)
            yield message
        if offset == read.offset:
            yield first  # nothing to read: the generation alone

    @server_stream_rpc
    def WatchTask(
        self, request: pb.WatchTaskRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.WatchTaskResponse]:
        changes: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        task, unsubscribe = self._service.watch(request.task_id, changes.put)
        try:
            sent = None
            current: Task | None = task
            while True:
                if current is None:
                    raise TaskNotFound(request.task_id)
                seen = (current.state, current.committed_bytes)
                if seen != sent:
                    sent = seen
                    yield pb.WatchTaskResponse(task=convert.task_message(current))
                if current.state.is_terminal or not context.is_active():
                    return
                with contextlib.suppress(queue.Empty):
                    # Wakes now and then to notice a caller that went away.
                    current = changes.get(timeout=_WATCH_WAKE_SECONDS)
        finally:
            unsubscribe()

    @unary_rpc
    def GetTask(
        self, request: pb.GetTaskRequest, context: grpc.ServicerContext
    ) -> pb.GetTaskResponse:
        task = self._service.get_task(request.task_id)
        notification = self._service.notification_status(task.task_id)
        return pb.GetTaskResponse(
            task=convert.task_message(task),
            notification=None if notification is None else convert.notification(notification),
        )


def rpc_handlers(servicer: FerryServicer) -> grpc.GenericRpcHandler[Any, Any]:
    """The service's method table. Every method takes its request as bytes and parses it
    itself (``status.parsing``; UploadParts: ``transport.wire``), so that bytes that are no
    request answer INVALID_ARGUMENT."""

    def unary(handler: Any, request_type: Any, response_type: Any) -> Any:
        return grpc.unary_unary_rpc_method_handler(
            parsing(request_type, handler),
            request_deserializer=None,
            response_serializer=response_type.SerializeToString,
        )

    return grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {
            "CreateTask": unary(servicer.CreateTask, pb.CreateTaskRequest, pb.CreateTaskResponse),
            "UploadParts": grpc.stream_stream_rpc_method_handler(
                servicer.UploadParts,
                request_deserializer=None,
                response_serializer=pb.UploadPartsResponse.SerializeToString,
            ),
            "QueryMissingBlocks": unary(
                servicer.QueryMissingBlocks,
                pb.QueryMissingBlocksRequest,
                pb.QueryMissingBlocksResponse,
            ),
            "SetState": unary(servicer.SetState, pb.SetStateRequest, pb.SetStateResponse),
            "Merge": unary(servicer.Merge, pb.MergeRequest, pb.MergeResponse),
            "UploadFile": unary(servicer.UploadFile, pb.UploadFileRequest, pb.UploadFileResponse),
            "GetTask": unary(servicer.GetTask, pb.GetTaskRequest, pb.GetTaskResponse),
            "WatchTask": grpc.unary_stream_rpc_method_handler(
                parsing(pb.WatchTaskRequest, servicer.WatchTask),
                request_deserializer=None,
                response_serializer=pb.WatchTaskResponse.SerializeToString,
            ),
            "ReadFile": grpc.unary_stream_rpc_method_handler(
                parsing(pb.ReadFileRequest, servicer.ReadFile),
                request_deserializer=None,
                response_serializer=pb.ReadFileResponse.SerializeToString,
            ),
        },
    )
