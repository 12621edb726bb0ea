"""Upload events: progress rate-limited by the clock, the outcome closing the stream, and the
JSON form without the fields a kind does not use."""

from __future__ import annotations

import grpc
from ferry_client.errors import TransientError
from ferry_client.events import EventSink, UploadEvent


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_events_are_rate_limited_and_the_failure_says_if_the_task_was_cancelled() -> None:
    clock = Clock()
    events: list[UploadEvent] = []
    sink = EventSink(events.append, path="/f", store_path="d/f", clock=clock, interval=1.0)
    sink.created("t1", resumed=False, total=100)
    for done in (10, 20, 30):
        sink.progress(done, 100)  # the first passes, the others come too soon
    clock.now = 1.0
    sink.progress(40, 100)
    sink.retrying(TransientError("cut", code=grpc.StatusCode.UNAVAILABLE), 0.25)
    sink.task_cancelled = True
    sink.failed(KeyboardInterrupt())

    assert [(e.kind, e.done) for e in events] == [
        ("created", None),
        ("progress", 10),
        ("progress", 40),
        ("retrying", None),
        ("failed", None),
    ]
    assert events[3].delay == 0.25 and events[3].task_id == "t1"
    assert events[3].message == "cut (UNAVAILABLE)"
    assert events[4].to_json() == {
        "event": "failed",
        "path": "/f",
        "store_path": "d/f",
        "task_id": "t1",
        "message": "interrupted",
        "task_cancelled": True,
    }


def test_a_file_error_names_the_file() -> None:
    events: list[UploadEvent] = []
    sink = EventSink(events.append, path="f", store_path="d")
    sink.failed(FileNotFoundError(2, "No such file or directory", "/abs/f"))
    assert events[0].message == "/abs/f: No such file or directory"
    assert events[0].task_cancelled is False


def test_no_callback_no_work() -> None:
    sink = EventSink(None, path="f", store_path="d")
    sink.created("t", resumed=True, total=1)
    sink.progress(1, 1)
    sink.failed(RuntimeError("x"))
