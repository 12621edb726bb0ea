"""The SQL TaskRepository: every change one short transaction, state changes compare-and-set.

A block commit is one transaction: a share lock on the task row (ordering it against pause,
cancel and merge), then ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: the first attempt to
insert a block's row wins. Several replicas share one database without locks of their own. ORM
rows are turned into domain values before they leave.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CursorResult,
    Engine,
    Result,
    RowMapping,
    Select,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ferry_server.domain.calls import check_call
from ferry_server.domain.catalog import ListQuery, StateCount, TaskStats
from ferry_server.domain.model import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    BlockRange,
    Task,
    TaskState,
    block_count,
)
from ferry_server.domain.notifications import (
    DeliveryState,
    Notice,
    NoticeRequest,
    NotificationStatus,
)
from ferry_server.domain.ports import (
    ActiveTaskExists,
    BlockCommit,
    BlockProbe,
    CommitOutcome,
    CommittedBlock,
    Expirable,
    NewTask,
    SizeFix,
    UploadTokenGrant,
    Usage,
)
from ferry_server.persistence import catalog
from ferry_server.persistence.database import READ_ONLY, translating_database_trouble
from ferry_server.persistence.models import (
    BlockRow,
    LeaseRow,
    OutboxRow,
    QuotaLockRow,
    StreamCountRow,
    TaskRow,
    UploadTokenRow,
)

_ACTIVE = [s.value for s in ACTIVE_STATES]
_TERMINAL = sorted(s.value for s in TERMINAL_STATES)
# The tables themselves, for Core statements that bypass the ORM's bulk machinery.
_TASKS: Table = TaskRow.__table__  # type: ignore[assignment]
_BLOCKS: Table = BlockRow.__table__  # type: ignore[assignment]
_LEASES: Table = LeaseRow.__table__  # type: ignore[assignment]
_OUTBOX: Table = OutboxRow.__table__  # type: ignore[assignment]
_QUOTA_LOCKS: Table = QuotaLockRow.__table__  # type: ignore[assignment]
_STREAM_COUNTS: Table = StreamCountRow.__table__  # type: ignore[assignment]
#: The lock row every task admission takes (the disk reservation is global).
ADMISSION_LOCK = "admission"


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or INSERT touched (DML results are cursor results)."""
    return cast(CursorResult[Any], result).rowcount


def _aware(value: datetime) -> datetime:
    # SQLite keeps no zone; every timestamp Ferry writes is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@translating_database_trouble
class SqlTaskRepository:
    """TaskRepository over any SQLAlchemy engine (SQLite and PostgreSQL tested). Database
    trouble (outage, stall, full disk, missing schema) leaves it as a domain error."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._reads = sessionmaker(engine.execution_options(**{READ_ONLY: True}))
        # SQLite admits one writer at a time and makes the others poll with sleeps of up to
        # tens of milliseconds; queueing this process's writers on a mutex instead keeps a
        # commit's wait to the commits ahead of it. Other databases lock rows, not the file.
        self._write_lock: AbstractContextManager[object] = (
            threading.Lock() if self._dialect == "sqlite" else nullcontext()
        )

    @contextmanager
    def _writing(self, *, bounded: bool = True) -> Iterator[Session]:
        """One write transaction; ``bounded``: not begun once the current call is past its
        deadline or cancelled (domain.calls). Unbounded: cleanups and the record of work
        already visible (a merge's outcome, after its publish), which must not be left out."""
        if bounded:
            check_call()
        with self._write_lock, self._sessions.begin() as session:
            if bounded:
                # Again after the wait for SQLite's writer mutex, which may have been long.
                check_call()
            yield session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """One read transaction, not begun once the current call is past its deadline."""
        check_call()
        with self._reads.begin() as session:
            yield session

    # -- reads -----------------------------------------------------------------------------

    # Core statements over the mapped tables: the ORM's unit of work and identity map cost
    # more than these one-row reads and inserts do.
    _TASK_COLUMNS = tuple(_TASKS.columns)

    def _select_tasks(self, count_up_to: int | None = None) -> Select[Any]:
        # Every block but the last is block_size long (a commit checks its length), so the
        # committed bytes follow from the count of block rows, which the primary key's index
        # answers alone, instead of summing lengths from every row (4x slower on SQLite at
        # 1,000,000 blocks): count x block_size, less what the last block lacks if it is in.
        block_size = sql_cast(TaskRow.block_size, BigInteger)
        count = select(func.count()).where(BlockRow.task_id == TaskRow.id).scalar_subquery()
        last_in = (
            select(BlockRow.block_index)
            .where(BlockRow.task_id == TaskRow.id, BlockRow.block_index == TaskRow.block_count - 1)
            .exists()
        )
        shortfall = block_size * TaskRow.block_count - TaskRow.size
        counted = count * block_size - case((last_in, shortfall), else_=0)
        if count_up_to is not None:
            # CASE evaluates its subqueries only for the rows that reach them (both databases).
            counted = case((TaskRow.block_count <= count_up_to, counted), else_=0)
        # An ended task's count is frozen on its row before its block rows are purged.
        committed = func.coalesce(TaskRow.final_committed_bytes, counted).label("committed_bytes")
        return select(*self._TASK_COLUMNS, committed)

    @staticmethod
    def _sum_committed(task_id: Any) -> Any:
        """The committed bytes of ``task_id`` (a column, to correlate, or a value) from its
        block rows."""
        return (
            select(func.coalesce(func.sum(BlockRow.length), 0))
            .where(BlockRow.task_id == task_id)
            .scalar_subquery()
        )

    @staticmethod
    def _to_task(row: RowMapping) -> Task:
        return Task(
            task_id=row["id"],
            principal=row["principal"],
            file_name=row["file_name"],
            size=row["size"],
            sha256=row["sha256"],
            store_path=row["store_path"],
            metadata=json.loads(row["metadata_json"]),
            block_size=row["block_size"],
            block_count=row["block_count"],
            state=TaskState(row["state"]),
            overwrite=row["overwrite"],
            created_at=_aware(row["created_at"]),
            updated_at=_aware(row["updated_at"]),
            expires_at=_aware(row["expires_at"]),
            failure_reason=row["failure_reason"],
            committed_bytes=int(row["committed_bytes"]),
            staging_layout=row["staging_layout"],
            blocks_purged=bool(row["blocks_purged"]),
            size_deferred=bool(row["size_deferred"]),
            max_size=int(row["max_size"]),
            webhook_url=row["webhook_url"],
        )

    def _select_one(self, stmt: Select[Any]) -> Task | None:
        with self._reading() as session:
            found = session.execute(stmt).mappings().first()
            return None if found is None else self._to_task(found)

    def ping(self) -> None:
        with self._reading() as session:
            session.execute(select(1))

    def get(
        self, task_id: str, *, committed_bytes: bool = True, count_up_to: int | None = None
    ) -> Task | None:
        columns = (
            self._select_tasks(count_up_to)
            if committed_bytes
            else select(*self._TASK_COLUMNS, literal(0).label("committed_bytes"))
        )
        return self._select_one(columns.where(TaskRow.id == task_id))

    def get_many(self, task_ids: Sequence[str]) -> Mapping[str, Task]:
        found: dict[str, Task] = {}
        # In slices, to stay under every database's limit of bound parameters.
        for start in range(0, len(task_ids), 500):
            stmt = self._select_tasks().where(TaskRow.id.in_(list(task_ids[start : start + 500])))
            with self._reads.begin() as session:
                for row in session.execute(stmt).mappings():
                    task = self._to_task(row)
                    found[task.task_id] = task
        return found

    def list_tasks(self, query: ListQuery) -> Sequence[Task]:
        stmt = catalog.listing(self._select_tasks(), query, self._dialect)
        with self._reading() as session:
            return [self._to_task(row) for row in session.execute(stmt).mappings()]

    def task_stats(self, principal: str | None) -> TaskStats:
        with self._reading() as session:
            rows = session.execute(catalog.counts_by_state(principal)).all()
            staged = session.execute(catalog.staged_bytes(principal)).scalar_one()
        counts = {TaskState(state): (int(n), int(size)) for state, n, size in rows}
        return TaskStats(
            states=[StateCount(s, *counts[s]) for s in TaskState if s in counts],
            staged_bytes=int(staged),
            published_bytes=counts.get(catalog.PUBLISHED, (0, 0))[1],
        )

    def find_active(self, store_path: str) -> Task | None:
        return self._select_one(
            self._select_tasks().where(TaskRow.store_path == store_path, TaskRow.state.in_(_ACTIVE))
        )

    def latest_completed(self, store_path: str) -> Task | None:
        return self._select_one(
            self._select_tasks()
            .where(TaskRow.store_path == store_path, TaskRow.state == TaskState.COMPLETED.value)
            .order_by(TaskRow.updated_at.desc())
            .limit(1)
        )

    def committed_indices(self, task_id: str) -> Sequence[int]:
        stmt = (
            select(BlockRow.block_index)
            .where(BlockRow.task_id == task_id)
            .order_by(BlockRow.block_index)
        )
        with self._reading() as session:
            return list(session.scalars(stmt))

    def missing_between(
        self, task_id: str, start: int, end: int, block_count: int, limit: int
    ) -> tuple[list[BlockRange], int | None]:
        mine = BlockRow.task_id == task_id
        # One range scan of the primary key; the gaps are found here rather than with a
        # window function (lag), which both databases ran slower than they hand over the
        # indexes (PostgreSQL 12 vs 14 ms, SQLite 4x, for 16,384 blocks).
        window = (
            select(BlockRow.block_index)
            .where(mine, BlockRow.block_index >= start, BlockRow.block_index < end)
            .order_by(BlockRow.block_index)
        )
        gaps: list[BlockRange] = []
        cursor = start
        with self._reading() as session:
            for index in session.scalars(window):
                if index > cursor:
                    if len(gaps) == limit:
                        return gaps, cursor
                    gaps.append(BlockRange(cursor, index))
                cursor = index + 1
            if cursor >= end:  # the window ends with a committed block
                return gaps, (end if end < block_count else None)
            if len(gaps) == limit:
                return gaps, cursor
            following = None
            if end < block_count:
                following = session.scalar(
                    select(func.min(BlockRow.block_index)).where(mine, BlockRow.block_index >= end)
                )
        # A gap reaching the window's end runs on to the next committed block, so a task with
        # nothing committed is one range on one page.
        gap_end = block_count if following is None else following
        gaps.append(BlockRange(cursor, gap_end))
        return gaps, (gap_end if gap_end < block_count else None)

    def committed_blocks(
        self, task_id: str, start: int = 0, limit: int | None = None
    ) -> Sequence[CommittedBlock]:
        stmt = (
            select(
                BlockRow.block_index,
                BlockRow.length,
                BlockRow.crc32c,
                BlockRow.attempt,
                BlockRow.receipt,
            )
            .where(BlockRow.task_id == task_id, BlockRow.block_index >= start)
            .order_by(BlockRow.block_index)
            .limit(limit)
        )
        with self._reading() as session:
            return [CommittedBlock(*row) for row in session.execute(stmt)]

    def probe_block(self, task_id: str, index: int) -> BlockProbe | None:
        stmt = (
            select(TaskRow.state, BlockRow.crc32c, BlockRow.receipt)
            .select_from(TaskRow)
            .outerjoin(BlockRow, (BlockRow.task_id == TaskRow.id) & (BlockRow.block_index == index))
            .where(TaskRow.id == task_id)
        )
        with self._reading() as session:
            found = session.execute(stmt).first()
            if found is None:
                return None
            return BlockProbe(
                state=TaskState(found[0]),
                committed_crc32c=found[1],
                committed_landed=found[2] is not None,
            )

    def task_states(self, task_ids: Sequence[str]) -> Mapping[str, TaskState]:
        if not task_ids:
            return {}
        stmt = select(TaskRow.id, TaskRow.state).where(TaskRow.id.in_(list(task_ids)))
        with self._reading() as session:
            return {task_id: TaskState(state) for task_id, state in session.execute(stmt)}

    def active_task_ids(self) -> list[str]:
        stmt = select(TaskRow.id).where(TaskRow.state.in_(_ACTIVE)).order_by(TaskRow.id)
        with self._reading() as session:
            return list(session.scalars(stmt))

    def expirable(self, now: datetime, limit: int) -> Sequence[Expirable]:
        stmt = (
            select(TaskRow.id, TaskRow.state, TaskRow.principal, TaskRow.webhook_url)
            .where(TaskRow.state.in_(_ACTIVE), TaskRow.expires_at < now)
            .limit(limit)
        )
        with self._reading() as session:
            return [
                Expirable(task_id, TaskState(state), principal, webhook_url)
                for task_id, state, principal, webhook_url in session.execute(stmt)
            ]

    # -- writes ----------------------------------------------------------------------------

    def insert(self, task: NewTask, *, lease: tuple[str, datetime] | None = None) -> None:
        values = self._row_values(task, TaskState.UPLOADING)
        if lease is not None:
            values |= {"merge_owner": lease[0], "merge_lease_until": lease[1]}
        try:
            with self._writing() as session:
                session.execute(insert(_TASKS), [values])
        except IntegrityError as exc:
            # The only unique constraint a fresh random id can meet is the active store_path.
            raise ActiveTaskExists(task.store_path) from exc

    def insert_admitted(self, task: NewTask, admit: Callable[[Usage], None]) -> None:
        try:
            with self._writing() as session:
                self._lock(session, ADMISSION_LOCK)
                admit(self._usage(session, task.principal))
                session.execute(insert(_TASKS), [self._row_values(task, TaskState.UPLOADING)])
        except IntegrityError as exc:
            raise ActiveTaskExists(task.store_path) from exc

    def _lock(self, session: Session, name: str) -> None:
        """Take the named quota lock until the transaction ends. SQLite needs none: its
        write transactions begin IMMEDIATE, holding the database's one write lock."""
        if self._dialect == "sqlite":
            return
        session.execute(pg_insert(_QUOTA_LOCKS).values(name=name).on_conflict_do_nothing())
        session.execute(
            select(QuotaLockRow.name).where(QuotaLockRow.name == name).with_for_update()
        )

    @staticmethod
    def _usage(session: Session, principal: str) -> Usage:
        active = TaskRow.state.in_(_ACTIVE)
        # A task of deferred size reserves nothing ahead: its bound may be the server's
        # maximum, not a size; the blocks it writes take their space from the free bytes.
        reserved = case((TaskRow.size_deferred, 0), else_=TaskRow.size)
        tasks, declared = session.execute(
            select(func.count(), func.coalesce(func.sum(reserved), 0)).where(
                TaskRow.principal == principal, active
            )
        ).one()
        sizes = session.execute(select(TaskRow.id, reserved).where(active)).all()
        return Usage(
            principal_tasks=int(tasks),
            principal_bytes=int(declared),
            active_sizes=[(task_id, int(size)) for task_id, size in sizes],
        )

    def committed_bytes_of_active(self) -> Mapping[str, int]:
        with self._reads.begin() as session:
            rows = session.execute(
                select(BlockRow.task_id, func.sum(BlockRow.length))
                .join(TaskRow, TaskRow.id == BlockRow.task_id)
                .where(TaskRow.state.in_(_ACTIVE))
                .group_by(BlockRow.task_id)
            ).all()
        return {task_id: int(total) for task_id, total in rows}

    def claim_stream(
        self,
        replica: str,
        principal: str,
        count: int,
        admit: Callable[[int], None],
        *,
        now: datetime,
        until: datetime,
    ) -> None:
        with self._writing() as session:
            self._lock(session, f"streams:{principal}")
            others = session.execute(
                select(func.coalesce(func.sum(StreamCountRow.streams), 0)).where(
                    StreamCountRow.principal == principal,
                    StreamCountRow.replica != replica,
                    StreamCountRow.expires_at >= now,
                )
            ).scalar_one()
            admit(int(others) + count)
            values = {"replica": replica, "principal": principal, "streams": count,
                      "expires_at": until}  # fmt: skip
            upsert = (pg_insert if self._dialect == "postgresql" else sqlite_insert)(
                _STREAM_COUNTS
            ).values(**values)
            session.execute(
                upsert.on_conflict_do_update(
                    index_elements=["replica", "principal"],
                    set_={"streams": count, "expires_at": until},
                )
            )

    def replace_stream_counts(
        self, replica: str, counts: Mapping[str, int], *, now: datetime, until: datetime
    ) -> None:
        with self._writing() as session:
            session.execute(
                delete(StreamCountRow).where(
                    or_(StreamCountRow.replica == replica, StreamCountRow.expires_at < now)
                )
            )
            rows = [
                {"replica": replica, "principal": principal, "streams": streams,
                 "expires_at": until}
                for principal, streams in counts.items()
                if streams > 0
            ]  # fmt: skip
            if rows:
                session.execute(insert(_STREAM_COUNTS), rows)

    def insert_completed(
        self,
        task: NewTask,
        sha256: str,
        blocks: Sequence[tuple[int, int, int]],
        *,
        notice: NoticeRequest | None = None,
    ) -> None:
        values = self._row_values(task, TaskState.COMPLETED) | {"sha256": sha256}
        with self._writing() as session:
            session.execute(insert(_TASKS), [values])
            if notice is not None:
                self._record_notice(session, task.task_id, TaskState.COMPLETED, notice, task.now)
            if blocks:
                session.execute(
                    insert(_BLOCKS),
                    [
                        {
                            "task_id": task.task_id,
                            "block_index": index,
                            "length": length,
                            "crc32c": crc,
                            "committed_at": task.now,
                        }
                        for index, length, crc in blocks
                    ],
                )

    def complete_whole(
        self,
        task_id: str,
        owner: str,
        now: datetime,
        sha256: str,
        blocks: Sequence[tuple[int, int, int]],
        *,
        notice: NoticeRequest | None = None,
    ) -> bool:
        with self._writing() as session:
            done = _rowcount(
                session.execute(
                    update(TaskRow)
                    .where(
                        TaskRow.id == task_id,
                        TaskRow.merge_owner == owner,
                        TaskRow.state == TaskState.UPLOADING.value,
                    )
                    .values(
                        state=TaskState.COMPLETED.value,
                        updated_at=now,
                        merge_owner=None,
                        merge_lease_until=None,
                        sha256=sha256,
                    )
                )
            )
            if done != 1:
                return False
            if notice is not None:
                self._record_notice(session, task_id, TaskState.COMPLETED, notice, now)
            # A block upload that resumed this task meanwhile committed the same file's bytes.
            session.execute(delete(BlockRow).where(BlockRow.task_id == task_id))
            if blocks:
                session.execute(
                    insert(_BLOCKS),
                    [
                        {
                            "task_id": task_id,
                            "block_index": index,
                            "length": length,
                            "crc32c": crc,
                            "committed_at": now,
                        }
                        for index, length, crc in blocks
                    ],
                )
            return True

    @staticmethod
    def _row_values(task: NewTask, state: TaskState) -> dict[str, object]:
        return {
            "id": task.task_id,
            "principal": task.principal,
            "file_name": task.file_name,
            "size": task.size,
            "sha256": task.sha256,
            "store_path": task.store_path,
            "metadata_json": json.dumps(dict(task.metadata), sort_keys=True),
            "block_size": task.block_size,
            "block_count": task.block_count,
            "state": state.value,
            "overwrite": task.overwrite,
            "failure_reason": None,
            "created_at": task.now,
            "updated_at": task.now,
            "expires_at": task.expires_at,
            "merge_owner": None,
            "merge_lease_until": None,
            "staging_layout": task.staging_layout,
            "size_deferred": task.size_deferred,
            "max_size": task.max_size,
            "webhook_url": task.webhook_url,
        }

    def commit_block(self, commit: BlockCommit) -> CommitOutcome:
        values = {
            "task_id": commit.task_id,
            "block_index": commit.index,
            "length": commit.length,
            "crc32c": commit.crc32c,
            "committed_at": commit.now,
            "attempt": commit.attempt,
        }
        with self._writing() as session:
            if self._dialect in ("postgresql", "sqlite"):
                # The usual case in one statement: the row goes in only through a share lock on
                # an UPLOADING task's row (committers of one task do not wait for each other,
                # but a pause, cancel or merge lease, an UPDATE of that row, waits for them and
                # they for it; SQLite has no row locks and serialises its writers anyway).
                if self._insert_if_uploading(session, values):
                    return CommitOutcome.COMMITTED
                # Not inserted: the task is gone or not UPLOADING, or another attempt won.
                state, winner = self._state_and_winner(session, commit.task_id, commit.index)
            else:
                state = session.scalar(
                    select(TaskRow.state)
                    .where(TaskRow.id == commit.task_id)
                    .with_for_update(read=True)
                )
                if state == TaskState.UPLOADING.value and self._insert_first(session, values):
                    return CommitOutcome.COMMITTED
                winner = session.scalar(
                    select(BlockRow.crc32c).where(
                        BlockRow.task_id == commit.task_id, BlockRow.block_index == commit.index
                    )
                )
            if state is None:
                return CommitOutcome.GONE
            # winner None with UPLOADING: the task was resumed after this insert found it not
            # UPLOADING (each statement sees the latest commits); it was not, for this attempt.
            if state != TaskState.UPLOADING.value or winner is None:
                return CommitOutcome.NOT_UPLOADING
            if winner == commit.crc32c:
                return CommitOutcome.ALREADY_COMMITTED
            return CommitOutcome.COMMITTED_DIFFERENT

    def _insert_if_uploading(self, session: Session, values: dict[str, object]) -> bool:
        """``INSERT INTO ferry_blocks SELECT ... FROM ferry_tasks WHERE id AND state =
        'UPLOADING' FOR SHARE ON CONFLICT DO NOTHING RETURNING``: whether this row went in."""
        dialect_insert = pg_insert if self._dialect == "postgresql" else sqlite_insert
        names = list(values)
        source = (
            select(*(literal(values[name], BlockRow.__table__.c[name].type) for name in names))
            .where(TaskRow.id == values["task_id"], TaskRow.state == TaskState.UPLOADING.value)
            .with_for_update(read=True)
        )
        stmt = (
            dialect_insert(BlockRow)
            .from_select(names, source)
            .on_conflict_do_nothing()
            .returning(BlockRow.block_index)
        )
        return session.execute(stmt).first() is not None

    @staticmethod
    def _state_and_winner(
        session: Session, task_id: str, index: int
    ) -> tuple[str | None, int | None]:
        """The task's state (None: no such task) and the CRC32C of block ``index``'s row, if
        any, in one statement."""
        winner = (
            select(BlockRow.crc32c)
            .where(BlockRow.task_id == task_id, BlockRow.block_index == index)
            .scalar_subquery()
        )
        found = session.execute(select(TaskRow.state, winner).where(TaskRow.id == task_id)).first()
        return (None, None) if found is None else (found[0], found[1])

    def _insert_first(self, session: Session, values: dict[str, object]) -> bool:
        """Insert the row unless one with its key exists; whether this insert won. RETURNING
        says so on both databases (rowcount does not: psycopg 3 reports -1)."""
        if self._dialect in ("postgresql", "sqlite"):
            dialect_insert = pg_insert if self._dialect == "postgresql" else sqlite_insert
            stmt = (
                dialect_insert(BlockRow)
                .values(values)
                .on_conflict_do_nothing()
                .returning(BlockRow.block_index)
            )
            return session.execute(stmt).first() is not None
        # Other databases: a savepoint turns the duplicate into a no-op.
        try:
            with session.begin_nested():
                session.add(BlockRow(**values))
        except IntegrityError:
            return False
        return True

    def record_receipt(self, task_id: str, index: int, attempt: str, receipt: str) -> bool:
        stmt = (
            update(BlockRow)
            .where(
                BlockRow.task_id == task_id,
                BlockRow.block_index == index,
                BlockRow.attempt == attempt,
            )
            # A concurrent retry may have recorded the same part first: keep the first.
            .values(receipt=func.coalesce(BlockRow.receipt, receipt))
        )
        with self._writing() as session:
            return _rowcount(session.execute(stmt)) == 1

    def has_receipts(self) -> bool:
        stmt = select(BlockRow.block_index).where(BlockRow.receipt.is_not(None)).limit(1)
        with self._reads.begin() as session:
            return session.execute(stmt).first() is not None

    def unlanded_blocks(
        self, committed_before: datetime, limit: int
    ) -> Sequence[tuple[str, CommittedBlock]]:
        stmt = (
            select(
                BlockRow.task_id,
                BlockRow.block_index,
                BlockRow.length,
                BlockRow.crc32c,
                BlockRow.attempt,
            )
            .join(TaskRow, TaskRow.id == BlockRow.task_id)
            .where(
                TaskRow.state.in_(_ACTIVE),
                BlockRow.receipt.is_(None),
                BlockRow.attempt.is_not(None),
                BlockRow.committed_at < committed_before,
            )
            .order_by(BlockRow.task_id, BlockRow.block_index)
            .limit(limit)
        )
        with self._reads.begin() as session:
            return [
                (row[0], CommittedBlock(row[1], row[2], row[3], row[4]))
                for row in session.execute(stmt)
            ]

    def revert_unlanded(self, task_id: str, index: int, attempt: str) -> bool:
        stmt = delete(BlockRow).where(
            BlockRow.task_id == task_id,
            BlockRow.block_index == index,
            BlockRow.attempt == attempt,
            BlockRow.receipt.is_(None),
        )
        with self._writing() as session:
            return _rowcount(session.execute(stmt)) == 1

    def touch(self, task_id: str, now: datetime, expires_at: datetime) -> None:
        stmt = (
            update(TaskRow)
            .where(TaskRow.id == task_id, TaskRow.state == TaskState.UPLOADING.value)
            .values(updated_at=now, expires_at=expires_at)
        )
        # Unbounded: it follows a block commit already made, which a cancelled call must not
        # leave half-recorded (the block's ack and landing come after it).
        with self._writing(bounded=False) as session:
            session.execute(stmt)

    def uncommit_blocks(self, task_id: str, indices: Sequence[int]) -> int:
        if not indices:
            return 0
        stmt = delete(BlockRow).where(
            BlockRow.task_id == task_id, BlockRow.block_index.in_(list(indices))
        )
        with self._writing() as session:
            return _rowcount(session.execute(stmt))

    # -- retention -------------------------------------------------------------------------

    def purge_ended_blocks(self, tasks: int, rows: int) -> int:
        """Delete up to ``rows`` block rows of each of the ``tasks`` ended tasks that ended
        first and still have some; a task's committed byte count is frozen on its row first.
        Ended tasks take no commits, so nothing is added behind the purge."""
        pick = (
            select(TaskRow.id)
            .where(TaskRow.state.in_(_TERMINAL), TaskRow.blocks_purged.is_(False))
            .order_by(TaskRow.updated_at)
            .limit(tasks)
        )
        with self._reads.begin() as session:
            task_ids = list(session.scalars(pick))
        deleted = 0
        for task_id in task_ids:
            batch = select(BlockRow.block_index).where(BlockRow.task_id == task_id).limit(rows)
            with self._writing() as session:
                session.execute(
                    update(TaskRow)
                    .where(TaskRow.id == task_id, TaskRow.final_committed_bytes.is_(None))
                    .values(final_committed_bytes=self._sum_committed(task_id))
                )
                gone = _rowcount(
                    session.execute(
                        delete(BlockRow).where(
                            BlockRow.task_id == task_id, BlockRow.block_index.in_(batch)
                        )
                    )
                )
                if gone < rows:
                    session.execute(
                        update(TaskRow).where(TaskRow.id == task_id).values(blocks_purged=True)
                    )
            deleted += gone
        return deleted

    def delete_ended(self, ended_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` ended tasks whose block rows are purged and which ended
        before ``ended_before``."""
        old = (
            select(TaskRow.id)
            .where(
                TaskRow.state.in_(_TERMINAL),
                TaskRow.updated_at < ended_before,
                TaskRow.blocks_purged.is_(True),
            )
            .limit(limit)
        )
        with self._writing() as session:
            return _rowcount(session.execute(delete(TaskRow).where(TaskRow.id.in_(old))))

    def acquire_named_lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        with self._writing() as session:
            taken = session.execute(
                update(LeaseRow)
                .where(LeaseRow.name == name, or_(LeaseRow.owner == owner, LeaseRow.until < now))
                .values(owner=owner, until=until)
                .returning(LeaseRow.name)
            ).first()
            if taken is not None:
                return True
        try:
            with self._writing() as session:
                session.execute(insert(_LEASES), [{"name": name, "owner": owner, "until": until}])
        except IntegrityError:
            return False  # another replica holds it (or just created it)
        return True

    def _lease_free(self, now: datetime) -> ColumnElement[bool]:
        return or_(TaskRow.merge_lease_until.is_(None), TaskRow.merge_lease_until < now)

    def _compare_and_set(
        self,
        conditions: list[ColumnElement[bool]],
        *,
        notice: tuple[str, TaskState, NoticeRequest] | None = None,
        bounded: bool = True,
        **values: object,
    ) -> bool:
        """Update the one task matching every condition; whether it did. Values that are None
        stay as they are, except the merge lease columns, which None clears. A ``notice``
        (task id, new state, request) is recorded in the same transaction if it did."""
        changes = {
            name: value
            for name, value in values.items()
            if value is not None or name.startswith("merge_")
        }
        with self._writing(bounded=bounded) as session:
            changed = (
                _rowcount(session.execute(update(TaskRow).where(*conditions).values(changes))) == 1
            )
            if changed and notice is not None:
                task_id, state, request = notice
                now = cast(datetime, values["updated_at"])
                self._record_notice(session, task_id, state, request, now)
            return changed

    @staticmethod
    def _record_notice(
        session: Session, task_id: str, state: TaskState, request: NoticeRequest, now: datetime
    ) -> None:
        session.execute(
            insert(_OUTBOX),
            [
                {
                    "event_id": request.event_id,
                    "task_id": task_id,
                    "state": state.value,
                    "url": request.url,
                    "created_at": now,
                    "delivery": DeliveryState.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
            ],
        )

    # -- the notification outbox ----------------------------------------------------------

    def claim_notices(self, owner: str, now: datetime, until: datetime, limit: int) -> list[Notice]:
        """Lease up to ``limit`` due notices to ``owner`` in one short transaction; other
        replicas skip the rows this one is claiming (SKIP LOCKED) instead of waiting."""
        due = (
            select(OutboxRow.event_id)
            .where(
                OutboxRow.delivery == DeliveryState.PENDING.value,
                OutboxRow.next_attempt_at <= now,
                or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until < now),
            )
            .order_by(OutboxRow.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(OutboxRow)
            .where(OutboxRow.event_id.in_(due))
            .values(lease_owner=owner, lease_until=until)
            .returning(
                OutboxRow.event_id,
                OutboxRow.task_id,
                OutboxRow.state,
                OutboxRow.url,
                OutboxRow.created_at,
                OutboxRow.attempts,
            )
        )
        with self._writing() as session:
            rows = session.execute(claim).all()
        return [
            Notice(event_id, task_id, TaskState(state), url, _aware(created), attempts)
            for event_id, task_id, state, url, created, attempts in rows
        ]

    def _settle_notice(self, event_id: str, owner: str, **values: object) -> bool:
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.event_id == event_id, OutboxRow.lease_owner == owner)
            .values(attempts=OutboxRow.attempts + 1, lease_owner=None, lease_until=None, **values)
        )
        with self._writing() as session:
            return _rowcount(session.execute(stmt)) == 1

    def notice_delivered(self, event_id: str, owner: str, now: datetime) -> bool:
        return self._settle_notice(
            event_id, owner, delivery=DeliveryState.DELIVERED.value, delivered_at=now
        )

    def notice_failed(
        self, event_id: str, owner: str, error: str, retry_at: datetime | None
    ) -> bool:
        if retry_at is None:
            return self._settle_notice(
                event_id, owner, delivery=DeliveryState.UNDELIVERABLE.value, last_error=error
            )
        return self._settle_notice(event_id, owner, next_attempt_at=retry_at, last_error=error)

    def notification_status(self, task_id: str) -> NotificationStatus | None:
        stmt = (
            select(
                OutboxRow.event_id,
                OutboxRow.delivery,
                OutboxRow.attempts,
                OutboxRow.last_error,
                OutboxRow.delivered_at,
            )
            .where(OutboxRow.task_id == task_id)
            .order_by(OutboxRow.created_at.desc())
            .limit(1)
        )
        with self._reads.begin() as session:
            row = session.execute(stmt).first()
        if row is None:
            return None
        event_id, delivery, attempts, last_error, delivered_at = row
        return NotificationStatus(
            event_id=event_id,
            state=DeliveryState(delivery),
            attempts=attempts,
            last_error=last_error or "",
            delivered_at=None if delivered_at is None else _aware(delivered_at),
        )

    def outbox_depth(self) -> int:
        stmt = select(func.count()).where(OutboxRow.delivery == DeliveryState.PENDING.value)
        with self._reads.begin() as session:
            return int(session.execute(stmt).scalar_one())

    def change_state(
        self,
        task_id: str,
        expected: TaskState,
        new: TaskState,
        now: datetime,
        *,
        expires_at: datetime | None = None,
        failure_reason: str | None = None,
        notice: NoticeRequest | None = None,
    ) -> bool:
        return self._compare_and_set(
            [TaskRow.id == task_id, TaskRow.state == expected.value, self._lease_free(now)],
            notice=None if notice is None else (task_id, new, notice),
            state=new.value,
            updated_at=now,
            expires_at=expires_at,
            failure_reason=failure_reason,
        )

    def fix_size(self, task_id: str, size: int, now: datetime) -> SizeFix:
        try:
            with self._writing() as session:
                # The UPDATE comes first: its row lock waits for committers holding the share
                # lock, so every block committed before it is seen by the check below.
                block_size = session.scalar(
                    update(TaskRow)
                    .where(
                        TaskRow.id == task_id,
                        TaskRow.state == TaskState.UPLOADING.value,
                        TaskRow.size_deferred.is_(True),
                        self._lease_free(now),
                    )
                    .values(size=size, size_deferred=False, updated_at=now)
                    .returning(TaskRow.block_size)
                )
                if block_size is None:
                    return SizeFix(fixed=False)
                count = block_count(size, block_size)
                last = count - 1
                last_length = size - last * block_size
                misfit = session.execute(
                    select(BlockRow.block_index, BlockRow.length)
                    .where(
                        BlockRow.task_id == task_id,
                        or_(
                            BlockRow.block_index > last,
                            and_(BlockRow.block_index < last, BlockRow.length != block_size),
                            and_(BlockRow.block_index == last, BlockRow.length != last_length),
                        ),
                    )
                    .order_by(BlockRow.block_index)
                    .limit(1)
                ).first()
                if misfit is not None:
                    raise _Misfit(int(misfit[0]), int(misfit[1]))
                session.execute(
                    update(TaskRow).where(TaskRow.id == task_id).values(block_count=count)
                )
                return SizeFix(fixed=True)
        except _Misfit as rolled_back:
            return SizeFix(fixed=False, misfit=(rolled_back.index, rolled_back.length))

    def acquire_merge_lease(self, task_id: str, owner: str, now: datetime, until: datetime) -> bool:
        return self._compare_and_set(
            [
                TaskRow.id == task_id,
                TaskRow.state == TaskState.UPLOADING.value,
                self._lease_free(now),
            ],
            merge_owner=owner,
            merge_lease_until=until,
        )

    def renew_merge_lease(self, task_id: str, owner: str, until: datetime) -> bool:
        return self._compare_and_set(
            [
                TaskRow.id == task_id,
                TaskRow.merge_owner == owner,
                TaskRow.state == TaskState.UPLOADING.value,
            ],
            merge_owner=owner,
            merge_lease_until=until,
        )

    def release_merge_lease(self, task_id: str, owner: str) -> None:
        stmt = (
            update(TaskRow)
            .where(TaskRow.id == task_id, TaskRow.merge_owner == owner)
            .values(merge_owner=None, merge_lease_until=None)
        )
        with self._writing(bounded=False) as session:
            session.execute(stmt)

    def finish_merge(
        self,
        task_id: str,
        owner: str,
        state: TaskState,
        now: datetime,
        *,
        sha256: str | None = None,
        failure_reason: str | None = None,
        notice: NoticeRequest | None = None,
    ) -> bool:
        return self._compare_and_set(
            [
                TaskRow.id == task_id,
                TaskRow.merge_owner == owner,
                TaskRow.state == TaskState.UPLOADING.value,
            ],
            notice=None if notice is None else (task_id, state, notice),
            state=state.value,
            updated_at=now,
            merge_owner=None,
            merge_lease_until=None,
            sha256=sha256,
            failure_reason=failure_reason,
            bounded=False,
        )

    # -- upload tokens -----------------------------------------------------------------------

    def insert_upload_token(
        self, token_sha256: str, task_id: str, principal: str, now: datetime, expires_at: datetime
    ) -> None:
        with self._writing() as session:
            session.execute(
                insert(UploadTokenRow).values(
                    token_sha256=token_sha256,
                    task_id=task_id,
                    principal=principal,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    def find_upload_token(self, token_sha256: str) -> UploadTokenGrant | None:
        stmt = select(
            UploadTokenRow.task_id, UploadTokenRow.principal, UploadTokenRow.expires_at
        ).where(UploadTokenRow.token_sha256 == token_sha256)
        with self._reading() as session:
            row = session.execute(stmt).first()
        if row is None:
            return None
        return UploadTokenGrant(row.task_id, row.principal, _aware(row.expires_at))

    def purge_upload_tokens(self, expired_before: datetime) -> int:
        stmt = delete(UploadTokenRow).where(UploadTokenRow.expires_at < expired_before)
        with self._writing() as session:
            return _rowcount(session.execute(stmt))


class _Misfit(Exception):
    """Rolls back a size fix: a committed block does not fit the size."""

    def __init__(self, index: int, length: int) -> None:
        super().__init__(index, length)
        self.index = index
        self.length = length
