"""A replica's database pool: its size and overflow are settings, and a call that finds every
connection busy for the pool timeout is refused as OVERLOADED (RESOURCE_EXHAUSTED, retryable),
never INTERNAL, while the database itself stays usable.

Through a server this takes more background work than the pool's margin: Settings keeps size +
overflow at least blocking_threads + 2 (tests/unit/test_settings.py), so an RPC's thread always
finds a connection; these tests exhaust an engine of the server's kind directly."""

from __future__ import annotations

from pathlib import Path

import pytest
from ferry_server.domain.errors import Overloaded
from ferry_server.persistence.database import PoolLimits, create_database_engine, migrate
from ferry_server.persistence.repository import SqlTaskRepository

UNKNOWN_TASK = "0" * 32


def _url(database_url: str | None, tmp_path: Path) -> str:
    return database_url or f"sqlite:///{tmp_path / 'pool.db'}"


def test_a_call_finding_every_pooled_connection_busy_is_overloaded(
    database_url: str | None, tmp_path: Path
) -> None:
    url = _url(database_url, tmp_path)
    engine = create_database_engine(url, fsync=False, pool_size=PoolLimits(1, 0, 0.2))
    try:
        migrate(engine)
        repository = SqlTaskRepository(engine)
        # A Connection holds its pooled DBAPI connection from the moment it is opened.
        with engine.connect(), pytest.raises(Overloaded) as excinfo:
            repository.get(UNKNOWN_TASK)
        assert "--db-pool-size" in excinfo.value.message
        # The connection returned: the same repository answers again.
        assert repository.get(UNKNOWN_TASK) is None
    finally:
        engine.dispose()


def test_overflow_connections_serve_beyond_the_pool_size(
    database_url: str | None, tmp_path: Path
) -> None:
    url = _url(database_url, tmp_path)
    engine = create_database_engine(url, fsync=False, pool_size=PoolLimits(1, 2, 0.2))
    try:
        migrate(engine)
        repository = SqlTaskRepository(engine)
        with engine.connect(), engine.connect():
            assert repository.get(UNKNOWN_TASK) is None  # the second overflow connection
            with engine.connect(), pytest.raises(Overloaded):
                repository.get(UNKNOWN_TASK)
    finally:
        engine.dispose()
