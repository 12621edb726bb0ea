"""The SQL of ListTasks and GetStats: a listing's filters and keyset order as one SELECT, and a
principal's counts by state, for both dialects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB

from ferry_server.domain.catalog import ListQuery, TaskOrder
from ferry_server.domain.model import ACTIVE_STATES, TaskState
from ferry_server.persistence.models import BlockRow, TaskRow

_ACTIVE = sorted(s.value for s in ACTIVE_STATES)


def listing(tasks: Select[Any], query: ListQuery, dialect: str) -> Select[Any]:
    """``tasks`` (a SELECT of task rows) narrowed to ``query``'s filter, after its cursor, in
    its order, at most ``query.limit`` rows: an index range scan of the principal's (or every)
    task by creation time."""
    found = query.filter
    where: list[ColumnElement[bool]] = []
    if found.principal is not None:
        where.append(TaskRow.principal == found.principal)
    if found.states:
        where.append(TaskRow.state.in_(sorted(s.value for s in found.states)))
    if found.store_path_prefix:
        # Not LIKE: SQLite's LIKE ignores ASCII case, and a prefix is plain characters.
        prefix = found.store_path_prefix
        where.append(func.substr(TaskRow.store_path, 1, len(prefix)) == prefix)
    where.extend(_metadata_has(key, value, dialect) for key, value in found.metadata)
    if found.created_after is not None:
        where.append(TaskRow.created_at >= found.created_after)
    if found.created_before is not None:
        where.append(TaskRow.created_at < found.created_before)
    newest_first = query.order is TaskOrder.NEWEST_FIRST
    if query.after is not None:
        at, task_id = query.after.created_at, query.after.task_id
        if newest_first:
            where.append(
                or_(TaskRow.created_at < at, and_(TaskRow.created_at == at, TaskRow.id < task_id))
            )
        else:
            where.append(
                or_(TaskRow.created_at > at, and_(TaskRow.created_at == at, TaskRow.id > task_id))
            )
    order = (
        (TaskRow.created_at.desc(), TaskRow.id.desc())
        if newest_first
        else (TaskRow.created_at.asc(), TaskRow.id.asc())
    )
    return tasks.where(*where).order_by(*order).limit(query.limit)


def _metadata_has(key: str, value: str, dialect: str) -> ColumnElement[bool]:
    """Whether a task's metadata (stored as JSON text) maps ``key`` to ``value``; both are
    bound parameters, so no key can change the query."""
    if dialect == "postgresql":
        document = sql_cast(TaskRow.metadata_json, JSONB)
        return func.jsonb_extract_path_text(document, key) == value
    entries = func.json_each(TaskRow.metadata_json).table_valued("key", "value")
    return (
        select(literal(1))
        .select_from(entries)
        .where(entries.c.key == key, entries.c.value == value)
        .exists()
    )


def counts_by_state(principal: str | None) -> Select[str, int, int]:
    """(state, tasks, declared bytes) per state, over the principal's index."""
    stmt = select(TaskRow.state, func.count(), func.coalesce(func.sum(TaskRow.size), 0))
    if principal is not None:
        stmt = stmt.where(TaskRow.principal == principal)
    return stmt.group_by(TaskRow.state)


def staged_bytes(principal: str | None) -> Select[Any]:
    """The committed bytes of the principal's active tasks (their block rows only)."""
    stmt = (
        select(func.coalesce(func.sum(BlockRow.length), 0))
        .join(TaskRow, TaskRow.id == BlockRow.task_id)
        .where(TaskRow.state.in_(_ACTIVE))
    )
    if principal is not None:
        stmt = stmt.where(TaskRow.principal == principal)
    return stmt


#: The state published bytes are counted in.
PUBLISHED = TaskState.COMPLETED
