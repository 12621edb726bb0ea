"""The whole-file SHA-256 of each task, computed in the background over its committed prefix.

SHA-256 must see the file in order, but blocks commit in any order over several streams. After
each commit the hasher extends the task's hash over the contiguous committed prefix, re-reading
the blocks from the staging file (from the page cache: they were just written). Merge then hashes
only what is left, typically nothing, instead of the whole file.

State lives in this process only: after a restart, or for blocks committed through another
replica, the prefix is found by asking the repository which blocks are committed; if the hasher
dropped a task (more than ``max_tasks`` active at once) Merge hashes the rest from where it was.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ferry_server.domain.errors import Unavailable
from ferry_server.domain.model import Task
from ferry_server.domain.ports import BlockStore, StagingMissing

log = logging.getLogger("ferry.hashing")

#: At most this often per task, a gap in the prefix sends the hasher to the repository.
_REFRESH_SECONDS = 0.5


@dataclass
class _Progress:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sha: hashlib._Hash = field(default_factory=hashlib.sha256)
    #: Bytes hashed so far: always the end of a block, or the file's size.
    offset: int = 0
    #: Committed blocks beyond the prefix.
    pending: set[int] = field(default_factory=set)
    refreshed_at: float = 0.0
    finished: bool = False


class PrefixHasher:
    """Per-task incremental SHA-256 over committed blocks, fed by a background thread."""

    def __init__(
        self,
        store: BlockStore,
        committed_indices: Callable[[str], Sequence[int]],
        *,
        max_tasks: int = 256,
    ) -> None:
        self._store = store
        self._committed_indices = committed_indices
        self._max_tasks = max_tasks
        self._tasks: OrderedDict[str, _Progress] = OrderedDict()
        self._tasks_lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Task, int] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ferry-hasher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def block_committed(self, task: Task, index: int) -> None:
        """Note a commit; the hash catches up in the background."""
        self._queue.put((task, index))

    def hashed_bytes(self, task_id: str) -> int:
        """How far the background hash of a task has come (0 if it is not tracked)."""
        with self._tasks_lock:
            progress = self._tasks.get(task_id)
        if progress is None:
            return 0
        with progress.lock:
            return progress.offset

    def forget(self, task_id: str) -> None:
        with self._tasks_lock:
            self._tasks.pop(task_id, None)

    def digest(self, task: Task) -> str:
        """The whole file's SHA-256 (hex); every block must be committed."""
        with self._tasks_lock:
            progress = self._tasks.pop(task.task_id, None) or _Progress()
        with progress.lock:
            skipped = progress.offset
            for chunk in self._store.read(task.task_id, progress.offset, task.size):
                progress.sha.update(chunk)
            progress.offset = task.size
            progress.finished = True
            log.debug(
                "task %s: %d of %d bytes hashed before merge", task.task_id, skipped, task.size
            )
            return progress.sha.hexdigest()

    def _progress(self, task_id: str) -> _Progress:
        with self._tasks_lock:
            progress = self._tasks.get(task_id)
            if progress is None:
                progress = self._tasks[task_id] = _Progress()
                if len(self._tasks) > self._max_tasks:
                    self._tasks.popitem(last=False)
            else:
                self._tasks.move_to_end(task_id)
            return progress

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            task, index = item
            try:
                self._advance(task, index)
            except StagingMissing:
                # Merged, canceled or expired before this notice was read: nothing to hash.
                self.forget(task.task_id)
            except Unavailable as exc:
                # As below, but the database's trouble is no bug here.
                log.warning("background hashing of task %s stopped: %s", task.task_id, exc)
                self.forget(task.task_id)
            except Exception:
                # Merge hashes whatever the background pass left; losing it costs time only.
                log.exception("background hashing of task %s failed", task.task_id)
                self.forget(task.task_id)

    def _advance(self, task: Task, index: int) -> None:
        progress = self._progress(task.task_id)
        with progress.lock:
            if progress.finished:
                return
            progress.pending.add(index)
            while progress.offset < task.size:
                next_index = progress.offset // task.block_size
                if next_index not in progress.pending:
                    if not self._refresh(task, progress, next_index):
                        return
                    continue
                progress.pending.discard(next_index)
                end = min(progress.offset + task.block_size, task.size)
                for chunk in self._store.read(task.task_id, progress.offset, end):
                    progress.sha.update(chunk)
                progress.offset = end

    def _refresh(self, task: Task, progress: _Progress, next_index: int) -> bool:
        """Learn commits made elsewhere (another replica, before a restart); True if the gap
        at ``next_index`` is now filled."""
        now = time.monotonic()
        if now - progress.refreshed_at < _REFRESH_SECONDS:
            return False
        progress.refreshed_at = now
        progress.pending.update(i for i in self._committed_indices(task.task_id) if i >= next_index)
        return next_index in progress.pending
