"""``ferry fsck``: finding, and on request repairing, disagreements between SQL and storage.

SQL is the truth about what was acknowledged; storage must hold the bytes of every promoted
block of an active task and nothing else. Each disagreement has one repair:

- a block recorded but its bytes missing: un-commit it, so the client sends it again;
- an attempt file no row promotes (older than ``min_age``): delete it;
- staging of a terminal or unknown task (older than ``min_age``): delete it;
- an active task without staging: recreate its (empty) staging, un-commit what it lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from ferry_server.domain.model import ACTIVE_STATES, LAYOUT_ATTEMPTS
from ferry_server.domain.ports import BlockStore, TaskRepository

log = logging.getLogger("ferry.fsck")

_PAGE = 1000


@dataclass
class FsckReport:
    """What the check found (each a line a person can read), and whether it was repaired."""

    findings: list[str] = field(default_factory=list)
    repaired: bool = False

    def add(self, finding: str) -> None:
        self.findings.append(finding)
        log.warning("%s%s", finding, " (repaired)" if self.repaired else "")


def check_storage(
    repository: TaskRepository,
    store: BlockStore,
    *,
    min_age: timedelta,
    repair: bool,
) -> FsckReport:
    """Compare SQL and storage; repair each disagreement if ``repair``."""
    report = FsckReport(repaired=repair)
    old_enough = min_age.total_seconds()
    after = ""
    while True:
        entries = store.staged_tasks(after, _PAGE)
        if not entries:
            break
        after = entries[-1].task_id
        states = repository.task_states([entry.task_id for entry in entries])
        for entry in entries:
            state = states.get(entry.task_id)
            if state not in ACTIVE_STATES:
                if entry.age < old_enough:
                    continue  # a task being created, or just finished
                report.add(
                    f"task {entry.task_id}: staging of a "
                    f"{'unknown' if state is None else state} task"
                )
                if repair:
                    store.discard(entry.task_id)
                continue
            promoted = {(b.index, b.attempt) for b in repository.committed_blocks(entry.task_id)}
            for index, attempt, age in entry.attempts:
                if age >= old_enough and (index, attempt) not in promoted:
                    report.add(f"task {entry.task_id}: block {index} attempt {attempt} is orphaned")
                    if repair:
                        store.discard_attempt(entry.task_id, index, attempt)
    for task_id in repository.active_task_ids():
        task = repository.get(task_id)
        if task is None or task.state not in ACTIVE_STATES:
            continue
        if not store.has_staging(task_id) and task.staging_layout == LAYOUT_ATTEMPTS:
            report.add(f"task {task_id}: active but its staging is missing")
            if repair:
                store.create(task_id)
        lost = [
            block.index
            for block in repository.committed_blocks(task_id)
            if not store.block_exists(task_id, block, block.index * task.block_size)
        ]
        if lost:
            report.add(
                f"task {task_id}: {len(lost)} committed block(s) without their bytes "
                f"({', '.join(map(str, lost[:10]))}{' ...' if len(lost) > 10 else ''}); "
                "the client must send them again"
            )
            if repair:
                repository.uncommit_blocks(task_id, lost)
                # Assemblies may hold the lost blocks' old bytes: build them again.
                store.discard_assemblies(task_id)
    return report
