"""Each task's whole-file SHA-256 and assembly, built in the background over its committed prefix.

SHA-256 must see the file in order, but blocks commit in any order over several streams. After
each commit the assembler extends the task's hash over the contiguous committed prefix, reading
each promoted block's file (from the page cache: it was just written) and writing the very bytes
it hashed into this process's assembly file. Merge then finishes the part left, typically
nothing, and publishes the assembly by renaming it: nothing copies or hashes the whole file at
Merge.

The assembly file is private to this process (``asm.<replica>``): it is written only here and
only from promoted blocks, whose files no one writes again. Another replica assembling the same
task writes its own. Merge renames the file to the merge lease holder's name before finishing it.

State lives in this process only: after a restart, or for blocks committed through another
replica, the prefix is found by asking the repository which blocks are committed; if the
assembler dropped a task (more than ``max_tasks`` active at once) Merge starts it over.
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

from ferry_server.domain.calls import check_call, remaining_seconds
from ferry_server.domain.errors import StorageFull, Unavailable
from ferry_server.domain.model import Task
from ferry_server.domain.ports import (
    AssemblyWriter,
    BlockElsewhere,
    BlockStore,
    CommittedBlock,
    StagingMissing,
)

log = logging.getLogger("ferry.hashing")

#: At most this often per task, a gap in the prefix sends the hasher to the repository.
_REFRESH_SECONDS = 0.5
#: Longest a block's acknowledgement waits for the assembler to catch up (flow control only:
#: the block is already durable and committed when the wait starts).
_CATCH_UP_SECONDS = 30.0


@dataclass
class _Progress:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sha: hashlib._Hash = field(default_factory=hashlib.sha256)
    #: Bytes hashed and assembled so far: always the end of a block, or the file's size.
    offset: int = 0
    #: Committed blocks beyond the prefix.
    pending: dict[int, CommittedBlock] = field(default_factory=dict)
    refreshed_at: float = 0.0
    finished: bool = False
    #: The next block is not readable here (another replica spooled it): this replica's
    #: background pass stops for the task and Merge reads the rest back from the store.
    stalled: bool = False
    assembly: AssemblyWriter | None = None

    def close(self) -> None:
        assembly, self.assembly = self.assembly, None
        if assembly is not None:
            assembly.close()


class PrefixHasher:
    """Per-task incremental SHA-256 and assembly of committed blocks, fed by a background
    thread."""

    def __init__(
        self,
        store: BlockStore,
        committed_blocks: Callable[[str, int], Sequence[CommittedBlock]],
        *,
        replica: str,
        max_tasks: int = 256,
    ) -> None:
        self._store = store
        self._committed_blocks = committed_blocks
        self._assembly_name = f"asm.{replica}"
        self._max_tasks = max_tasks
        self._tasks: OrderedDict[str, _Progress] = OrderedDict()
        self._tasks_lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Task, CommittedBlock] | None] = queue.SimpleQueue()
        #: Commit notices queued and not yet processed, per task; guarded by ``_caught_up``.
        self._unprocessed: dict[str, int] = {}
        self._caught_up = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="ferry-hasher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def block_committed(self, task: Task, block: CommittedBlock) -> None:
        """Note a commit; the hash and assembly catch up in the background."""
        with self._caught_up:
            self._unprocessed[task.task_id] = self._unprocessed.get(task.task_id, 0) + 1
        self._queue.put((task, block))

    def wait_until_caught_up(self, task_id: str, *, behind: int = 1) -> None:
        """Wait until at most ``behind`` of the task's commit notices are unprocessed.

        Flow control for acknowledgements: the assembly writes every byte a second time, and
        on a disk that both writes saturate, an unthrottled upload would leave the assembler
        seconds behind, which Merge would then have to wait for. Holding each acknowledgement
        until the assembler is within one block keeps Merge's remaining work to about one
        block, at the cost of pacing the upload to what the disk sustains for both writes.
        """
        with self._caught_up:
            self._caught_up.wait_for(
                lambda: self._unprocessed.get(task_id, 0) <= behind,
                timeout=max(0.0, remaining_seconds(_CATCH_UP_SECONDS)),
            )

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
            progress = self._tasks.pop(task_id, None)
        if progress is not None:
            with progress.lock:
                progress.finished = True
                progress.close()

    def finish(self, task: Task, name: str) -> str:
        """Complete the task's assembly under ``name`` (durable, every block committed) and
        return the SHA-256 (hex) of exactly its bytes."""
        with self._tasks_lock:
            progress = self._tasks.pop(task.task_id, None) or _Progress()
        with progress.lock:
            progress.finished = True
            try:
                if progress.assembly is not None:
                    try:
                        progress.assembly.rename(name)
                    except FileNotFoundError:
                        # fsck repaired this task and removed its assemblies: start over.
                        progress.close()
                        progress.sha, progress.offset = hashlib.sha256(), 0
                skipped = progress.offset
                if progress.assembly is None:
                    progress.assembly = self._store.open_assembly(task.task_id, name)
                self._extend(task, progress, final=True)
                progress.assembly.sync()
            finally:
                progress.close()
            log.debug(
                "task %s: %d of %d bytes assembled before merge", task.task_id, skipped, task.size
            )
            return progress.sha.hexdigest()

    def _progress(self, task_id: str) -> _Progress:
        dropped = None
        with self._tasks_lock:
            progress = self._tasks.get(task_id)
            if progress is None:
                progress = self._tasks[task_id] = _Progress()
                if len(self._tasks) > self._max_tasks:
                    dropped = self._tasks.popitem(last=False)[1]
            else:
                self._tasks.move_to_end(task_id)
        if dropped is not None:
            with dropped.lock:
                dropped.finished = True
                dropped.close()
        return progress

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            task, block = item
            try:
                self._process(task, block)
            except StagingMissing:
                # Merged, canceled or expired before this notice was read: nothing to do.
                self.forget(task.task_id)
            except (Unavailable, StorageFull) as exc:
                # As below, but a database in trouble or a full disk is no bug here (Merge
                # meets the full disk again and says so).
                log.warning("background assembly of task %s stopped: %s", task.task_id, exc)
                self.forget(task.task_id)
            except Exception:
                # Merge assembles whatever the background pass left; losing it costs time only.
                log.exception("background assembly of task %s failed", task.task_id)
                self.forget(task.task_id)

    def _process(self, task: Task, block: CommittedBlock) -> None:
        try:
            self._advance(task, block)
        finally:
            with self._caught_up:
                left = self._unprocessed.get(task.task_id, 1) - 1
                if left > 0:
                    self._unprocessed[task.task_id] = left
                else:
                    self._unprocessed.pop(task.task_id, None)
                self._caught_up.notify_all()

    def _advance(self, task: Task, block: CommittedBlock) -> None:
        progress = self._progress(task.task_id)
        with progress.lock:
            if progress.finished:
                return
            if progress.stalled or block.index < progress.offset // task.block_size:
                # Never readable in order here, or hashed already (learned from SQL before
                # its landing notice came): keep no local copy for it.
                self._store.release_block(task.task_id, block)
                return
            progress.pending[block.index] = block
            try:
                self._extend(task, progress, final=False)
            except BlockElsewhere:
                progress.stalled = True
                for waiting in progress.pending.values():
                    self._store.release_block(task.task_id, waiting)
                progress.pending.clear()

    def _extend(self, task: Task, progress: _Progress, *, final: bool) -> None:
        """Hash and copy the contiguous committed blocks from ``progress.offset`` on; at
        ``final`` every block must be committed."""
        # A block shorter than block_size ends the file: with a deferred size (known only at
        # Merge) nothing after it is assembled, and Merge refuses blocks past it.
        while progress.offset < task.size_bound and progress.offset % task.block_size == 0:
            if final:
                # Merge's hashing of what is left runs for its call: stop once that has ended.
                check_call()
            next_index = progress.offset // task.block_size
            block = progress.pending.pop(next_index, None)
            if block is None:
                if final:
                    self._learn(task, progress, next_index)
                    if next_index not in progress.pending:
                        raise StagingMissing(f"{task.task_id}: block {next_index} not committed")
                elif not self._refresh(task, progress, next_index):
                    return
                continue
            if progress.assembly is None:
                progress.assembly = self._store.open_assembly(task.task_id, self._assembly_name)
            position = progress.offset
            for chunk in self._store.read_block(task.task_id, block, progress.offset):
                progress.sha.update(chunk)
                # The bytes hashed are the bytes written: the published file is what was hashed.
                progress.assembly.write(position, chunk)
                position += len(chunk)
            if position != progress.offset + block.length:
                raise StagingMissing(f"{task.task_id}: block {block.index} is short")
            progress.offset = position
            self._store.release_block(task.task_id, block)
            if not final:
                # Keep the assembly durable as it grows, so that Merge syncs only its tail.
                progress.assembly.sync()

    def _learn(self, task: Task, progress: _Progress, next_index: int) -> None:
        progress.refreshed_at = time.monotonic()
        progress.pending.update(
            (block.index, block) for block in self._committed_blocks(task.task_id, next_index)
        )

    def _refresh(self, task: Task, progress: _Progress, next_index: int) -> bool:
        """Learn commits made elsewhere (another replica, before a restart); True if the gap
        at ``next_index`` is now filled."""
        if time.monotonic() - progress.refreshed_at < _REFRESH_SECONDS:
            return False
        self._learn(task, progress, next_index)
        return next_index in progress.pending
