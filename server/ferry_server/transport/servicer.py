"""The ``ferry.v1.FerryService`` servicer: parse the request, call the domain, build the reply."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator
from concurrent.futures import Future
from typing import Any

import google_crc32c
import grpc
from ferry.v1 import ferry_pb2 as pb

from ferry_server.domain.calls import current_call
from ferry_server.domain.catalog import TaskCatalog
from ferry_server.domain.errors import TaskNotFound
from ferry_server.domain.identity import Caller
from ferry_server.domain.model import Task
from ferry_server.domain.notifications import NotificationStatus
from ferry_server.domain.ports import Authenticator
from ferry_server.domain.service import BlockAck, BlockReceiver, TransferService
from ferry_server.identity.refusals import RefusalLog
from ferry_server.transport import convert, wire
from ferry_server.transport.blocking import BlockingPool
from ferry_server.transport.credentials import call_credentials
from ferry_server.transport.status import (
    Context,
    parsing,
    server_stream_rpc,
    stream_rpc,
    unary_rpc,
)
from ferry_server.transport.streams import OpenStreams

SERVICE_NAME = "ferry.v1.FerryService"
#: Longest a Merge waits for another replica's merge of the same task without a deadline.
_MAX_MERGE_WAIT_SECONDS = 60.0


class FerryServicer:
    """Thin adapter from gRPC's event loop to :class:`TransferService`, whose blocking calls
    (and the authenticator's: an upload token is looked up in SQL) run on ``blocking``'s
    threads."""

    def __init__(
        self,
        service: TransferService,
        catalog: TaskCatalog,
        authenticator: Authenticator,
        blocking: BlockingPool,
        streams: OpenStreams,
    ) -> None:
        self._service = service
        self._catalog = catalog
        self._authenticator = authenticator
        self._blocking = blocking
        #: This replica's log of refused calls.
        self.refusals = RefusalLog()
        #: Open UploadParts streams: their limit, idle timeout, and shutdown.
        self.streams = streams

    async def authenticate(self, context: Context, method: str) -> Caller:
        credentials = call_credentials(context, method)
        if not self._authenticator.configured:
            # Nothing to look up: answered on the loop, which saves every call (and every
            # stream taken up) a hop to the pool and back.
            return self._authenticator.authenticate(credentials)
        return await self._blocking.run(self._authenticator.authenticate, credentials)

    @unary_rpc
    async def CreateTask(
        self, request: pb.CreateTaskRequest, context: Context, caller: Caller
    ) -> pb.CreateTaskResponse:
        task, resumed = await self._blocking.run(
            self._service.create_task, convert.task_spec(request), caller
        )
        reply = pb.CreateTaskResponse(task=convert.task_message(task), resumed=resumed)
        if request.issue_upload_token:
            reply.upload_token, expires = await self._blocking.run(
                self._service.issue_upload_token,
                task.task_id,
                caller,
                ttl_seconds=request.upload_token_ttl_seconds,
            )
            reply.upload_token_expire_time.FromDatetime(expires)
        return reply

    @unary_rpc
    async def IssueUploadToken(
        self, request: pb.IssueUploadTokenRequest, context: Context, caller: Caller
    ) -> pb.IssueUploadTokenResponse:
        token, expires = await self._blocking.run(
            self._service.issue_upload_token,
            request.task_id,
            caller,
            ttl_seconds=request.ttl_seconds,
        )
        reply = pb.IssueUploadTokenResponse(upload_token=token)
        reply.expire_time.FromDatetime(expires)
        return reply

    @stream_rpc
    async def UploadParts(
        self, requests: AsyncIterator[bytes], context: Context, caller: Caller
    ) -> None:
        async with self.streams.opened() as stream:
            receiver = self._service.open_receiver(caller)
            work: Future[BlockAck | None] | None = None
            try:
                while (raw := await stream.next_message(context)) is not None:
                    # A data hop: it waits for a slot here, on the loop, reading nothing more.
                    work = await self._blocking.submit_data(_receive, receiver, raw)
                    ack = await asyncio.wrap_future(work)
                    if ack is not None:
                        await context.write(convert.ack_message(ack))
            except asyncio.CancelledError:
                # The message in hand stops at its next checkpoint, so the close below, which
                # waits for it, comes soon.
                call = current_call()
                if call is not None:
                    call.cancel()
                raise
            finally:
                # On a thread, after the message in hand; before the stream's status is sent,
                # so that a client told the stream ended finds its unfinished block dropped.
                await asyncio.shield(self._blocking.run(_close, receiver, work))

    @unary_rpc
    async def QueryMissingBlocks(
        self, request: pb.QueryMissingBlocksRequest, context: Context, caller: Caller
    ) -> pb.QueryMissingBlocksResponse:
        crc32c_from = request.committed_start if request.include_committed_crc32c else None
        report = await self._blocking.run(
            self._service.missing_blocks,
            request.task_id,
            caller,
            crc32c_from=crc32c_from,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return convert.missing_message(report)

    @unary_rpc
    async def SetState(
        self, request: pb.SetStateRequest, context: Context, caller: Caller
    ) -> pb.SetStateResponse:
        task = await self._blocking.run(
            self._service.set_state, request.task_id, convert.state_from_pb(request.state), caller
        )
        return pb.SetStateResponse(task=convert.task_message(task))

    @unary_rpc
    async def Merge(
        self, request: pb.MergeRequest, context: Context, caller: Caller
    ) -> pb.MergeResponse:
        remaining = context.time_remaining()
        wait = _MAX_MERGE_WAIT_SECONDS if remaining is None else max(0.0, remaining - 0.5)
        task = await self._blocking.run(
            self._service.merge,
            request.task_id,
            caller,
            wait_seconds=min(wait, _MAX_MERGE_WAIT_SECONDS),
            sha256=request.sha256,
            size=request.size if request.HasField("size") else None,
        )
        return pb.MergeResponse(task=convert.task_message(task))

    @unary_rpc
    async def UploadFile(
        self, request: pb.UploadFileRequest, context: Context, caller: Caller
    ) -> pb.UploadFileResponse:
        crc = request.crc32c if request.HasField("crc32c") else None
        task, resumed = await self._blocking.run(
            self._service.upload_file, convert.file_spec(request), request.data, crc, caller
        )
        return pb.UploadFileResponse(task=convert.task_message(task), resumed=resumed)

    @server_stream_rpc
    async def ReadFile(
        self, request: pb.ReadFileRequest, context: Context, caller: Caller
    ) -> AsyncIterator[pb.ReadFileResponse]:
        read = await self._blocking.run(
            self._service.read_file,
            caller,
            store_path=request.store_path,
            task_id=request.task_id,
            offset=request.offset,
            length=request.length,
            if_generation=request.if_generation,
        )
        first = pb.ReadFileResponse(offset=read.offset, generation=convert.generation(read))
        offset = read.offset
        try:
            # Each read from disk on a thread; the loop only sends.
            while (data := await self._blocking.run_data(next, read.chunks, None)) is not None:
                message = first if offset == read.offset else pb.ReadFileResponse(offset=offset)
                message.data = data
                message.crc32c = google_crc32c.value(data)
                offset += len(data)
                yield message
        finally:
            close = getattr(read.chunks, "close", None)
            if close is not None:
                await asyncio.shield(self._blocking.run(close))
        if offset == read.offset:
            yield first  # nothing to read: the generation alone

    @server_stream_rpc
    async def WatchTask(
        self, request: pb.WatchTaskRequest, context: Context, caller: Caller
    ) -> AsyncIterator[pb.WatchTaskResponse]:
        loop = asyncio.get_running_loop()
        changes: asyncio.Queue[Task | None] = asyncio.Queue()

        def notify(task: Task | None) -> None:
            # Called from the replica's watch poller thread.
            loop.call_soon_threadsafe(changes.put_nowait, task)

        task, unsubscribe = await self._blocking.run(
            self._service.watch, request.task_id, notify, caller
        )
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
                if current.state.is_terminal:
                    return
                # A caller that goes away cancels this wait: no thread, no polling.
                current = await changes.get()
        finally:
            unsubscribe()

    @unary_rpc
    async def GetTask(
        self, request: pb.GetTaskRequest, context: Context, caller: Caller
    ) -> pb.GetTaskResponse:
        task, notification = await self._blocking.run(
            self._task_and_notification, request.task_id, caller
        )
        return pb.GetTaskResponse(
            task=convert.task_message(task),
            notification=None if notification is None else convert.notification(notification),
        )

    @unary_rpc
    async def ListTasks(
        self, request: pb.ListTasksRequest, context: Context, caller: Caller
    ) -> pb.ListTasksResponse:
        page = await self._blocking.run(
            self._catalog.list_tasks, convert.list_request(request), caller
        )
        return convert.page_message(page)

    @unary_rpc
    async def GetStats(
        self, request: pb.GetStatsRequest, context: Context, caller: Caller
    ) -> pb.GetStatsResponse:
        stats = await self._blocking.run(
            self._catalog.stats, caller, all_principals=request.all_principals
        )
        return convert.stats_message(stats)

    def _task_and_notification(
        self, task_id: str, caller: Caller
    ) -> tuple[Task, NotificationStatus | None]:
        task = self._service.get_task(task_id, caller)
        return task, self._service.notification_status(task.task_id, caller)


def _receive(receiver: BlockReceiver, raw: bytes) -> BlockAck | None:
    return receiver.receive(wire.parse_part(raw))


def _close(receiver: BlockReceiver, work: Future[BlockAck | None] | None) -> None:
    if work is not None:
        # Its outcome was the stream's to report; here it only has to be over.
        concurrent.futures.wait((work,))
    receiver.close()


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
            "IssueUploadToken": unary(
                servicer.IssueUploadToken, pb.IssueUploadTokenRequest, pb.IssueUploadTokenResponse
            ),
            "ListTasks": unary(servicer.ListTasks, pb.ListTasksRequest, pb.ListTasksResponse),
            "GetStats": unary(servicer.GetStats, pb.GetStatsRequest, pb.GetStatsResponse),
        },
    )
