"""Conversion between ``ferry.v1`` messages and domain values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from ferry.v1 import ferry_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from ferry_server.domain.catalog import ListRequest, TaskPage, TaskStats
from ferry_server.domain.errors import InvalidArgument
from ferry_server.domain.model import Task, TaskState
from ferry_server.domain.notifications import DeliveryState, NotificationStatus
from ferry_server.domain.service import (
    BlockAck,
    BlockOutcome,
    FileRead,
    MissingReport,
    TaskSpec,
)

_STATE_TO_PB: Mapping[TaskState, pb.TaskState.ValueType] = {
    TaskState.UPLOADING: pb.TASK_STATE_UPLOADING,
    TaskState.PAUSED: pb.TASK_STATE_PAUSED,
    TaskState.COMPLETED: pb.TASK_STATE_COMPLETED,
    TaskState.CANCELED: pb.TASK_STATE_CANCELED,
    TaskState.EXPIRED: pb.TASK_STATE_EXPIRED,
    TaskState.FAILED: pb.TASK_STATE_FAILED,
}
_STATE_FROM_PB = {v: k for k, v in _STATE_TO_PB.items()}
_BLOCK_STATUS: Mapping[BlockOutcome, pb.BlockStatus.ValueType] = {
    BlockOutcome.COMMITTED: pb.BLOCK_STATUS_COMMITTED,
    BlockOutcome.CHECKSUM_MISMATCH: pb.BLOCK_STATUS_CHECKSUM_MISMATCH,
    BlockOutcome.COMMITTED_DIFFERENT: pb.BLOCK_STATUS_COMMITTED_DIFFERENT,
}


def state_from_pb(value: pb.TaskState.ValueType) -> TaskState:
    try:
        return _STATE_FROM_PB[value]
    except KeyError:
        raise InvalidArgument(
            f"state {value} is not a task state: use TASK_STATE_UPLOADING, "
            "TASK_STATE_PAUSED or TASK_STATE_CANCELED",
            field="state",
        ) from None


def task_spec(request: pb.CreateTaskRequest) -> TaskSpec:
    return TaskSpec(
        file_name=request.file_name,
        size=request.size,
        sha256=request.sha256,
        store_path=request.store_path,
        metadata=dict(request.metadata),
        block_size=request.block_size,
        overwrite=request.overwrite,
        size_deferred=request.size_deferred,
        max_size=request.max_size,
        webhook_url=request.webhook_url,
    )


def file_spec(request: pb.UploadFileRequest) -> TaskSpec:
    return TaskSpec(
        file_name=request.file_name,
        size=len(request.data),
        sha256=request.sha256,
        store_path=request.store_path,
        metadata=dict(request.metadata),
        block_size=0,
        overwrite=request.overwrite,
        webhook_url=request.webhook_url,
    )


def task_message(task: Task) -> pb.Task:
    message = pb.Task(
        task_id=task.task_id,
        file_name=task.file_name,
        size=task.size,
        sha256=task.sha256 or "",
        store_path=task.store_path,
        metadata=dict(task.metadata),
        block_size=task.block_size,
        block_count=task.block_count,
        state=_STATE_TO_PB[task.state],
        committed_bytes=task.committed_bytes,
        overwrite=task.overwrite,
        failure_reason=task.failure_reason or "",
        size_deferred=task.size_deferred,
        max_size=task.max_size,
        webhook_url=task.webhook_url or "",
    )
    message.create_time.FromDatetime(task.created_at)
    message.update_time.FromDatetime(task.updated_at)
    message.expire_time.FromDatetime(task.expires_at)
    return message


_DELIVERY_TO_PB = {
    DeliveryState.PENDING: pb.NOTIFICATION_STATE_PENDING,
    DeliveryState.DELIVERED: pb.NOTIFICATION_STATE_DELIVERED,
    DeliveryState.UNDELIVERABLE: pb.NOTIFICATION_STATE_UNDELIVERABLE,
}


def notification(status: NotificationStatus) -> pb.Notification:
    message = pb.Notification(
        event_id=status.event_id,
        state=_DELIVERY_TO_PB[status.state],
        attempts=status.attempts,
        last_error=status.last_error,
    )
    if status.delivered_at is not None:
        message.delivered_at.FromDatetime(status.delivered_at)
    return message


def generation(read: FileRead) -> pb.Generation:
    found = read.generation
    return pb.Generation(task_id=found.task_id, sha256=found.sha256, size=found.size)


def missing_message(report: MissingReport) -> pb.QueryMissingBlocksResponse:
    return pb.QueryMissingBlocksResponse(
        state=_STATE_TO_PB[report.state],
        block_size=report.block_size,
        block_count=report.block_count,
        committed_bytes=report.committed_bytes,
        missing=[pb.BlockRange(start=r.start, end=r.end) for r in report.missing],
        committed=[pb.CommittedBlock(index=i, crc32c=c) for i, c in report.committed],
        next_committed_index=report.next_committed_index,
        next_page_token=report.next_page_token,
    )


def ack_message(ack: BlockAck) -> pb.UploadPartsResponse:
    return pb.UploadPartsResponse(
        task_id=ack.task_id,
        block_index=ack.block_index,
        status=_BLOCK_STATUS[ack.outcome],
        received_crc32c=ack.received_crc32c,
        message=ack.message,
    )


def list_request(request: pb.ListTasksRequest) -> ListRequest:
    states = []
    for value in request.states:
        if value not in _STATE_FROM_PB:
            known = ", ".join(pb.TaskState.Name(v) for v in _STATE_TO_PB.values())
            raise InvalidArgument(
                f"states holds {value}, which is not a task state: use {known}", field="states"
            )
        states.append(_STATE_FROM_PB[value])
    return ListRequest(
        page_size=request.page_size,
        page_token=request.page_token,
        states=states,
        store_path_prefix=request.store_path_prefix,
        metadata=list(request.metadata),
        created_after=_time(request, "created_after"),
        created_before=_time(request, "created_before"),
        order_by=request.order_by,
        all_principals=request.all_principals,
    )


def _time(
    request: pb.ListTasksRequest, name: Literal["created_after", "created_before"]
) -> datetime | None:
    if not request.HasField(name):
        return None
    stamp: Timestamp = getattr(request, name)
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument(
            f"{name} ({stamp.seconds} s, {stamp.nanos} ns) is not a valid time: {exc}",
            field=name,
        ) from None


def page_message(page: TaskPage) -> pb.ListTasksResponse:
    return pb.ListTasksResponse(
        tasks=[task_message(task) for task in page.tasks], next_page_token=page.next_page_token
    )


def stats_message(stats: TaskStats) -> pb.GetStatsResponse:
    return pb.GetStatsResponse(
        states=[
            pb.StateStats(
                state=_STATE_TO_PB[count.state],
                tasks=count.tasks,
                declared_bytes=count.declared_bytes,
            )
            for count in stats.states
        ],
        staged_bytes=stats.staged_bytes,
        published_bytes=stats.published_bytes,
    )
