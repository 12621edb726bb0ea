"""Tasks of a million blocks for tests and benchmarks of QueryMissingBlocks: the task row goes
in through the repository, the block rows in bulk through SQL, committed in a chosen pattern
(all, none, every other, random), as fast as each database inserts them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ferry_server.domain.ports import NewTask
from ferry_server.persistence.repository import SqlTaskRepository
from sqlalchemy import Engine, text

#: One million blocks of 8 MiB: an 8 TiB file (the bounds do not matter to these queries).
BLOCKS = 1_000_000
BLOCK_SIZE = 8 << 20
PATTERNS = ("all", "none", "every-other", "random")
#: SQL and Python forms of each pattern's "block i is committed" (random: a multiplicative
#: hash, so ~99% committed, scattered, and the same in both databases and in Python).
_WHERE = {
    "all": "1 = 1",
    "none": "1 = 0",
    "every-other": "i % 2 = 0",
    "random": "(i * 2654435761) % 4294967296 % 100 <> 0",
}


def committed_in(pattern: str, count: int = BLOCKS) -> Sequence[int]:
    if pattern == "all":
        return range(count)
    if pattern == "none":
        return []
    if pattern == "every-other":
        return range(0, count, 2)
    if pattern == "random":
        return [i for i in range(count) if (i * 2654435761) % 4294967296 % 100 != 0]
    raise ValueError(pattern)


def insert_big_task(engine: Engine, principal: str, pattern: str, count: int = BLOCKS) -> str:
    """A new UPLOADING task of ``count`` blocks, those of ``pattern`` committed; its id."""
    task_id = secrets.token_hex(16)
    now = datetime.now(UTC)
    SqlTaskRepository(engine).insert(
        NewTask(
            task_id=task_id, principal=principal, file_name="big.bin",
            size=count * BLOCK_SIZE, sha256=None, store_path=f"big/{task_id}.bin", metadata={},
            block_size=BLOCK_SIZE, block_count=count, overwrite=False, now=now,
            expires_at=now + timedelta(days=1),
        )
    )  # fmt: skip
    series = (
        "SELECT i FROM generate_series(0, :last) AS i"
        if engine.dialect.name == "postgresql"
        else "SELECT i FROM s"
    )
    recursive = (
        "" if engine.dialect.name == "postgresql"
        else "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < :last) "
    )  # fmt: skip
    statement = text(
        f"{recursive}INSERT INTO ferry_blocks "
        "(task_id, block_index, length, crc32c, committed_at, attempt) "
        f"SELECT :task_id, i, :length, 0, :now, 'bulk' FROM ({series}) AS g "
        f"WHERE {_WHERE[pattern]}"
    )
    with engine.begin() as connection:
        connection.execute(
            statement,
            {"task_id": task_id, "last": count - 1, "length": BLOCK_SIZE, "now": now},
        )
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE ferry_blocks"))
    return task_id
