"""Running a batch: up to ``jobs`` files in flight on worker threads, each through
:meth:`FerryClient.upload` with its guarantees (resume, verification, no orphans), one overall
progress count, each file's outcome as soon as it is known, and the summary.

A file that fails does not stop the others. A large file the state file records as published
from this very version (by an earlier batch) is checked with the server (GetTask: COMPLETED,
same store_path and SHA-256) and skipped without being hashed; a small one is sent again, in one
request, and the server answers that the same bytes are already there. On KeyboardInterrupt the
files not started are reported cancelled, and with ``cancel_on_interrupt`` the tasks this batch
created for files in flight are cancelled.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ferry_client.batch import BatchSummary, FileResult, Outcome, UploadItem, outcome_of
from ferry_client.errors import FerryError, NotFound, TaskEnded
from ferry_client.events import CREATED, FAILED, EventCallback, UploadEvent
from ferry_client.models import TaskInfo, TaskState, UploadResult
from ferry_client.planning import ProgressCallback
from ferry_client.state import Remembered, StateStore, UploadKey
from ferry_client.transport import UPLOAD_FILE_MAX_SIZE

if TYPE_CHECKING:
    from ferry_client.client import FerryClient

log = logging.getLogger("ferry.client")

FileCallback = Callable[[FileResult], None]


class BatchRun:
    """One ``upload_many`` call."""

    def __init__(
        self,
        client: FerryClient,
        store: StateStore,
        items: Sequence[UploadItem],
        *,
        jobs: int,
        upload_options: dict[str, object],
        on_event: EventCallback | None,
        progress: ProgressCallback | None,
        on_file: FileCallback | None,
        cancel_on_interrupt: bool,
    ) -> None:
        self._client = client
        self._store = store
        self._items = items
        self._jobs = max(1, min(jobs, len(items)))
        self._options = upload_options
        self._on_event = on_event
        self._progress = progress
        self._on_file = on_file
        self._cancel_on_interrupt = cancel_on_interrupt
        self._lock = threading.Lock()
        self._done: dict[int, int] = {}
        self._total = sum(_size_or_zero(item.path) for item in items)
        self._results: dict[int, FileResult] = {}
        #: Tasks created by this batch for files in flight (index -> task id).
        self._created: dict[int, str] = {}
        self._cancelled_by_client: set[int] = set()
        self._sent_whole: set[int] = set()
        self._stop = threading.Event()

    def run(self) -> BatchSummary:
        started = time.monotonic()
        work: queue.Queue[int] = queue.Queue()
        for index in range(len(self._items)):
            work.put(index)
        finished = threading.Semaphore(0)
        workers = [
            threading.Thread(
                target=self._worker, args=(work, finished), name=f"ferry-batch-{n}", daemon=True
            )
            for n in range(self._jobs)
        ]
        for worker in workers:
            worker.start()
        try:
            for _ in workers:
                finished.acquire()
        except KeyboardInterrupt:
            self._interrupted()
            raise
        return BatchSummary(
            tuple(self._results[i] for i in range(len(self._items))),
            time.monotonic() - started,
        )

    def _worker(self, work: queue.Queue[int], finished: threading.Semaphore) -> None:
        try:
            while not self._stop.is_set():
                try:
                    index = work.get_nowait()
                except queue.Empty:
                    return
                self._finish(index, self._one(index))
        finally:
            finished.release()

    def _one(self, index: int) -> FileResult:
        item = self._items[index]
        try:
            skipped = self._already_published(item)
            if skipped is not None:
                self._file_progress(index, skipped.size, skipped.size)
                return FileResult(item, Outcome.ALREADY_THERE, skipped)
            result = self._client.upload(
                item.path,
                item.store_path,
                progress=lambda done, total: self._file_progress(index, done, total),
                on_event=lambda event: self._event(index, event),
                **self._options,  # type: ignore[arg-type]
            )
        except (FerryError, OSError) as exc:
            cancelled = index in self._cancelled_by_client or (
                isinstance(exc, TaskEnded) and exc.state == TaskState.CANCELED.value
            )
            message = _message(exc)
            return FileResult(
                item, Outcome.CANCELLED if cancelled else Outcome.FAILED, None, message, exc
            )
        if result.size > UPLOAD_FILE_MAX_SIZE:
            self._store.remember_published(
                UploadKey.for_file(item.path, item.store_path),
                Remembered(result.task_id, result.sha256),
            )
        with self._lock:
            sent_whole = index in self._sent_whole
        return FileResult(item, outcome_of(result, sent_whole=sent_whole), result)

    def _already_published(self, item: UploadItem) -> UploadResult | None:
        """The result of the earlier batch that published this very file there, if the server
        confirms it."""
        try:
            key = UploadKey.for_file(item.path, item.store_path)
        except OSError:
            return None  # the upload itself reports it
        recorded = self._store.published(key)
        if recorded is None:
            return None
        try:
            info: TaskInfo | None = self._client.status(recorded.task_id)
        except NotFound:
            info = None
        if (
            info is None
            or info.state != TaskState.COMPLETED
            or info.store_path != item.store_path
            or info.sha256 != recorded.sha256
            or info.size != key.size
        ):
            return None
        return UploadResult(
            task_id=info.task_id,
            store_path=info.store_path,
            size=info.size,
            sha256=info.sha256,
            metadata=dict(info.metadata),
            block_size=info.block_size,
            block_count=info.block_count,
            resumed=True,
            hashed_bytes=0,
            committed_at_start=info.size,
            bytes_sent=0,
            blocks_sent=0,
            checksum_mismatches=0,
            retries=0,
            elapsed_seconds=0.0,
        )

    def _event(self, index: int, event: UploadEvent) -> None:
        with self._lock:
            if event.kind == CREATED and event.sent_whole:
                self._sent_whole.add(index)
            elif event.kind == CREATED and event.task_id and not event.resumed:
                self._created[index] = event.task_id
            if event.kind == FAILED and event.task_cancelled:
                self._cancelled_by_client.add(index)
        if self._on_event is not None:
            self._on_event(event)

    def _file_progress(self, index: int, done: int, _total: int) -> None:
        if self._progress is None:
            return
        with self._lock:
            self._done[index] = done
            overall = sum(self._done.values())
        self._progress(overall, self._total)

    def _finish(self, index: int, result: FileResult) -> None:
        with self._lock:
            self._results[index] = result
            self._created.pop(index, None)
        if self._on_file is not None:
            self._on_file(result)

    def _interrupted(self) -> None:
        """Ctrl-C: nothing new starts; files not done are reported cancelled; with
        ``cancel_on_interrupt`` the tasks this batch created for them are cancelled."""
        self._stop.set()
        with self._lock:
            created = dict(self._created)
        for index, task_id in created.items():
            if self._cancel_on_interrupt:
                try:
                    self._client.cancel(task_id)
                    log.info("cancelled task %s of %s", task_id, self._items[index].path)
                except FerryError as exc:
                    log.warning("could not cancel task %s: %s", task_id, exc)
        for index, item in enumerate(self._items):
            with self._lock:
                if index in self._results:
                    continue
                self._results[index] = FileResult(item, Outcome.CANCELLED, None, "interrupted")


def _size_or_zero(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, FerryError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return str(exc)
