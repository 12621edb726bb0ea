"""Upload events: what an upload reports beside its byte-level ``progress`` callback, for a
caller that wants to know the task id as soon as it exists, see retries, and get the outcome in
one stream (the CLI's ``--json-events`` prints them one JSON object per line).

Kinds, in order: ``created`` once the task exists (for a file sent whole in one request, once it
is published), ``progress`` at most every :data:`PROGRESS_INTERVAL` seconds plus once at the
end, ``retrying`` before each retry (``stalled`` instead when a stream was cut for making no
progress for the stall timeout: its blocks go again on a new stream), then ``completed`` (with
the result) or ``failed`` (with the error, and whether the client cancelled its task).
:class:`EventSink` decides what to emit and when; it does no I/O.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ferry_client.errors import FerryError
from ferry_client.models import UploadResult
from ferry_client.stall import StreamStalled

#: Seconds between two ``progress`` events of one upload.
PROGRESS_INTERVAL = 1.0

CREATED = "created"
PROGRESS = "progress"
RETRYING = "retrying"
STALLED = "stalled"
COMPLETED = "completed"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class UploadEvent:
    """One event of one upload (see the module's docstring for the kinds)."""

    kind: str
    path: str
    store_path: str
    task_id: str | None = None
    #: ``created``: the task existed before this call (an earlier run's, continued).
    resumed: bool | None = None
    #: ``created``: the file went whole in one request and is already published (its task
    #: was never there to pause or cancel).
    sent_whole: bool | None = None
    done: int | None = None
    total: int | None = None
    #: ``retrying``: the failure; ``failed``: the error message.
    message: str | None = None
    #: ``retrying``: seconds before the next attempt.
    delay: float | None = None
    #: ``failed``: the gRPC code and Ferry reason of the error, when it had them.
    code: str | None = None
    reason: str | None = None
    #: ``failed``: the client cancelled the task it had created, so the store_path is free.
    task_cancelled: bool | None = None
    #: ``completed``: what :meth:`FerryClient.upload` returns.
    result: UploadResult | None = None

    def to_json(self) -> dict[str, object]:
        """The event as a JSON-ready dict, without the fields its kind does not use."""
        document: dict[str, object] = {"event": self.kind}
        for name in (
            "path", "store_path", "task_id", "resumed", "sent_whole", "done", "total",
            "message", "delay", "code", "reason", "task_cancelled",
        ):  # fmt: skip
            value = getattr(self, name)
            if value is not None:
                document[name] = round(value, 3) if isinstance(value, float) else value
        if self.result is not None:
            document["result"] = self.result.to_json()
        return document


EventCallback = Callable[[UploadEvent], None]


class EventSink:
    """The events of one upload, handed to ``callback`` (if any). Thread-safe: progress comes
    from the streams' threads, retries from whichever thread failed."""

    def __init__(
        self,
        callback: EventCallback | None,
        *,
        path: str,
        store_path: str,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PROGRESS_INTERVAL,
    ) -> None:
        self._callback = callback
        self._path = path
        self._store_path = store_path
        self._clock = clock
        self._interval = interval
        self._lock = threading.Lock()
        self._last_progress: float | None = None
        self.task_id: str | None = None
        #: Set when the client cancelled the task it gave up on.
        self.task_cancelled = False

    def _emit(self, kind: str, **fields: object) -> None:
        if self._callback is not None:
            event = UploadEvent(kind, self._path, self._store_path, **fields)  # type: ignore[arg-type]
            self._callback(event)

    def created(self, task_id: str, *, resumed: bool, total: int, sent_whole: bool = False) -> None:
        self.task_id = task_id
        self._emit(CREATED, task_id=task_id, resumed=resumed, total=total, sent_whole=sent_whole)

    def progress(self, done: int, total: int) -> None:
        """Bytes done: an event now if none was sent for ``interval`` seconds."""
        with self._lock:
            now = self._clock()
            if self._last_progress is not None and now - self._last_progress < self._interval:
                return
            self._last_progress = now
        self._emit(PROGRESS, task_id=self.task_id, done=done, total=total)

    def retrying(self, error: FerryError, delay: float) -> None:
        # A stream cut for making no progress is a retry too, told apart for the progress bar.
        kind = STALLED if isinstance(error, StreamStalled) else RETRYING
        self._emit(kind, task_id=self.task_id, message=str(error), delay=delay)

    def completed(self, result: UploadResult) -> None:
        self._emit(PROGRESS, task_id=result.task_id, done=result.size, total=result.size)
        self._emit(COMPLETED, task_id=result.task_id, result=result)

    def failed(self, error: BaseException) -> None:
        code = reason = None
        task_id = self.task_id
        if isinstance(error, FerryError):
            code = error.code.name if error.code is not None else None
            reason = error.reason
            task_id = error.task_id or task_id
        if isinstance(error, KeyboardInterrupt):
            message = "interrupted"
        elif isinstance(error, OSError) and error.filename:
            message = f"{error.filename}: {error.strerror or error}"
        else:
            message = str(error)
        self._emit(
            FAILED,
            task_id=task_id,
            message=message,
            code=code,
            reason=reason,
            task_cancelled=self.task_cancelled,
        )
