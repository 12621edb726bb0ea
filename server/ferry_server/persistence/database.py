"""Creating the SQLAlchemy engine for a database URL and bringing its schema to the latest
Alembic revision."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, make_url

_MIGRATIONS = Path(__file__).parent / "migrations"
#: Execution option marking an engine whose transactions only read.
READ_ONLY = "ferry_read_only"
log = logging.getLogger("ferry.database")
#: Arbitrary constant naming Ferry's migration lock among PostgreSQL advisory locks.
_PG_MIGRATION_LOCK = 0x6665727279


def create_database_engine(url: str, *, fsync: bool, pool_size: int) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and write-ahead BEGIN IMMEDIATE."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
        )
    engine = create_engine(parsed, connect_args={"timeout": 60.0})
    synchronous = "FULL" if fsync else "NORMAL"

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Own the transaction boundaries (see the "begin" hook) instead of pysqlite's.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Writers take the write lock up front (IMMEDIATE), so concurrent writers wait on the
        # busy timeout instead of failing with "database is locked" when a read turns into a
        # write. Read-only work needs no lock at all in WAL mode.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration.

    Safe with several replicas starting at once (PostgreSQL: an advisory lock).
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        before = MigrationContext.configure(connection).get_current_revision()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "empty", after)
