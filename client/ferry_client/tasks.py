"""Task control: reading a task and changing its state under the retry policy (status, pause,
resume, cancel), and turning a task state that takes no blocks into TaskPaused or TaskEnded."""

from __future__ import annotations

from collections.abc import Iterator

from ferry.v1 import ferry_pb2 as pb

from ferry_client.errors import (
    FERRY_DOMAIN,
    ErrorDetails,
    FerryError,
    NotFound,
    TaskEnded,
    TaskPaused,
    TransientError,
)
from ferry_client.models import TaskInfo, TaskState, TaskStats
from ferry_client.retry import RetryBudget, pause_or_raise, retrying
from ferry_client.transport import Transport


class TaskControl:
    """The task commands over one transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def get(self, task_id: str, budget: RetryBudget) -> TaskInfo:
        """The task as the server knows it now."""
        return TaskInfo.from_pb(retrying(budget, lambda: self._transport.get_task(task_id)))

    def find(self, task_id: str, budget: RetryBudget) -> pb.Task | None:
        """The task, or ``None`` if the server does not know it."""
        try:
            return retrying(budget, lambda: self._transport.get_task(task_id))
        except NotFound:
            return None

    def watch(self, task_id: str, budget: RetryBudget) -> Iterator[TaskInfo]:
        """The task now and after each change of its state or committed bytes, until it
        ends; a lost stream is watched again under ``budget``, without repeating a change."""
        last: tuple[TaskState, int] | None = None
        while True:
            try:
                for task in self._transport.watch_task(task_id):
                    info = TaskInfo.from_pb(task)
                    budget.progressed()
                    if (info.state, info.committed_bytes) != last:
                        last = (info.state, info.committed_bytes)
                        yield info
                    if info.state.is_terminal:
                        return
                # Ended without a terminal state: the replica went away; watch again.
                raise TransientError(f"the watch of task {task_id} ended early")
            except FerryError as exc:
                pause_or_raise(budget, exc)

    def list(self, request: pb.ListTasksRequest, budget: RetryBudget) -> Iterator[TaskInfo]:
        """Every task the listing holds, page after page; a failed page is asked again
        (with the same token) under ``budget``."""
        while True:
            page = retrying(budget, lambda: self._transport.list_tasks(request))
            budget.progressed()
            for task in page.tasks:
                yield TaskInfo.from_pb(task)
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def stats(self, all_principals: bool, budget: RetryBudget) -> TaskStats:
        reply = retrying(budget, lambda: self._transport.get_stats(all_principals))
        return TaskStats.from_pb(reply)

    def set_state(self, task_id: str, state: TaskState, budget: RetryBudget) -> TaskInfo:
        # Setting the state a task is already in is a no-op, so a retry is safe.
        task = retrying(budget, lambda: self._transport.set_state(task_id, state.to_pb()))
        return TaskInfo.from_pb(task)


def raise_if_stopped(task_id: str, state: TaskState, cause: FerryError | None = None) -> None:
    """Raise TaskPaused or TaskEnded if a task in ``state`` takes no blocks (``cause``: the
    error that revealed it)."""
    code = cause.code if cause is not None else None
    # Found from the task's state rather than from an error: say it as the server would have.
    details = (
        cause.details
        if cause is not None and cause.reason is not None
        else ErrorDetails(
            reason="TASK_PAUSED" if state == TaskState.PAUSED else "TASK_NOT_UPLOADING",
            domain=FERRY_DOMAIN,
            metadata={"taskId": task_id, "state": state.value},
        )
    )
    if state == TaskState.PAUSED:
        message = cause.message if cause is not None else f"task {task_id} is PAUSED"
        raise TaskPaused(
            f"{message}; resume the task and upload again",
            code=code,
            task_id=task_id,
            details=details,
        )
    if state in (TaskState.CANCELED, TaskState.EXPIRED, TaskState.FAILED):
        message = cause.message if cause is not None else f"task {task_id} is {state}"
        raise TaskEnded(message, state=state.value, code=code, task_id=task_id, details=details)
