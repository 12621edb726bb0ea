"""Creating the SQLAlchemy engine for a database URL, bringing its schema to the latest Alembic
revision, and bounding and naming database trouble: an outage, a stall or a full disk becomes a
domain error (``Unavailable``, ``StorageFull``), never an unexplained exception."""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy import exc as sa_exc

from ferry_server.domain.errors import Overloaded, StorageFull, Unavailable

_MIGRATIONS = Path(__file__).parent / "migrations"
#: Execution option marking an engine whose transactions only read.
READ_ONLY = "ferry_read_only"
log = logging.getLogger("ferry.database")
#: Arbitrary constant naming Ferry's migration lock among PostgreSQL advisory locks.
_PG_MIGRATION_LOCK = 0x6665727279


@dataclass(frozen=True, slots=True)
class DatabaseTimeouts:
    """How long Ferry waits for a client-server database (PostgreSQL), in seconds.

    Attributes:
        connect: to open a connection (libpq ``connect_timeout``).
        statement: for one statement, enforced by the server (``statement_timeout``);
            ``None``: no bound.
        call: for one use of a connection (a transaction, from checkout to return), enforced
            by Ferry: past it the connection is cut and discarded. This is what bounds a call
            when packets vanish or a relay stops forwarding, where no server-side timeout fires.
            ``None``: no bound.
        tcp_user: for sent data to be acknowledged by the peer (``tcp_user_timeout``).
        keepalive: idle time before TCP keepalive probes, and between them (3 probes).
    """

    connect: float = 5.0
    statement: float | None = 10.0
    call: float | None = 15.0
    tcp_user: float = 10.0
    keepalive: float = 5.0

    def for_migrations(self) -> DatabaseTimeouts:
        """These bounds without the per-statement and per-call ones: a migration may rightly
        take long, and is run once, at start-up, by an operator who sees it."""
        return dataclasses.replace(self, statement=None, call=None)


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """How many connections one replica's engine holds, and how long a call queues for one.

    Attributes:
        size: connections kept open in the pool.
        overflow: connections opened beyond ``size`` under load, closed when returned.
        timeout: seconds a call waits for a free connection before it is refused as
            ``Overloaded`` (RESOURCE_EXHAUSTED, reason OVERLOADED: retry later);
            ``None``: the per-call bound of the timeouts, else 30 s.
    """

    size: int
    overflow: int = 0
    timeout: float | None = None


def create_database_engine(
    url: str,
    *,
    fsync: bool,
    pool_size: int | PoolLimits,
    timeouts: DatabaseTimeouts | None = None,
    transaction_pooling: bool = False,
) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and write-ahead BEGIN IMMEDIATE;
    a client-server database gets the bounds of ``timeouts``. ``transaction_pooling``: the
    database is reached through a pooler in transaction mode (PgBouncer), which hands each
    transaction to any server connection: no server-side prepared statements, and no
    per-connection setting (the statement timeout is set per transaction instead)."""
    pool = pool_size if isinstance(pool_size, PoolLimits) else PoolLimits(pool_size)
    parsed = make_url(url)
    timeouts = timeouts or DatabaseTimeouts()
    pool_args: dict[str, Any] = {
        "pool_size": pool.size,
        "max_overflow": pool.overflow,
        "pool_timeout": pool.timeout if pool.timeout is not None else (timeouts.call or 30.0),
    }
    if parsed.get_backend_name() != "sqlite":
        return _bounded_engine(url, pool_args, timeouts, transaction_pooling=transaction_pooling)
    if parsed.database in (None, "", ":memory:"):
        pool_args = {}  # one in-memory database per thread: SQLAlchemy's own pool for it
    engine = create_engine(parsed, connect_args={"timeout": 60.0}, **pool_args)
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

    Safe with several replicas starting at once (PostgreSQL: an advisory lock). A database
    that cannot be reached raises ``Unavailable``, unlogged: the caller says so.
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with database_trouble_as_domain_errors(warn=False), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        before = MigrationContext.configure(connection).get_current_revision()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "empty", after)


def _bounded_engine(
    url: str, pool_args: dict[str, Any], timeouts: DatabaseTimeouts, *, transaction_pooling: bool
) -> Engine:
    parsed = make_url(url)
    statement_ms = None if timeouts.statement is None else max(1, round(timeouts.statement * 1000))
    if statement_ms is not None and not transaction_pooling:
        options = parsed.query.get("options", "")
        if not isinstance(options, str):
            options = " ".join(options)
        # Appended to the URL's own options (tests, for one, set search_path there).
        parsed = parsed.update_query_dict(
            {"options": f"{options} -c statement_timeout={statement_ms}".strip()}
        )
    connect_args: dict[str, Any] = {
        # libpq reads whole seconds and treats 1 as 2.
        "connect_timeout": max(2, math.ceil(timeouts.connect)),
        "tcp_user_timeout": max(1, round(timeouts.tcp_user * 1000)),
        "keepalives": 1,
        "keepalives_idle": max(1, math.ceil(timeouts.keepalive)),
        "keepalives_interval": max(1, math.ceil(timeouts.keepalive)),
        "keepalives_count": 3,
    }
    if transaction_pooling:
        # psycopg prepares a statement on a server connection after its 5th use; behind a
        # transaction-mode pooler the next use may land on another server connection, which
        # has no such statement ("prepared statement does not exist").
        connect_args["prepare_threshold"] = None
    # No pre-ping: it runs before the watchdog is armed and could wait forever on a stalled
    # link. A connection that died in the pool fails its first use instead, as a disconnect:
    # SQLAlchemy then discards every pooled connection, and that one call answers UNAVAILABLE.
    engine = create_engine(parsed, connect_args=connect_args, **pool_args)
    if transaction_pooling and statement_ms is not None:
        _limit_each_transaction(engine, statement_ms)
    if timeouts.call is not None:
        _watch(engine, _Watchdog(timeouts.call))
    return engine


def _limit_each_transaction(engine: Engine, statement_ms: int) -> None:
    """Bound every statement of every transaction of ``engine`` by ``statement_ms``, with a
    transaction-local setting: behind a transaction-mode pooler a session setting would stay
    on a server connection that other clients use next, and the startup ``options`` parameter
    is refused there."""
    setting = f"SET LOCAL statement_timeout = {int(statement_ms)}"

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(setting)


def _watch(engine: Engine, watchdog: _Watchdog) -> None:
    """Arm ``watchdog`` for every connection ``engine`` checks out, until it is returned."""

    @event.listens_for(engine, "checkout")
    def _arm(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        watchdog.arm(dbapi_connection)

    @event.listens_for(engine, "checkin")
    def _disarm(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            watchdog.disarm(dbapi_connection)

    @event.listens_for(engine, "invalidate")
    def _forget(dbapi_connection: Any, _record: Any, _exception: Any) -> None:
        if dbapi_connection is not None:
            watchdog.disarm(dbapi_connection)

    @event.listens_for(engine, "engine_disposed")
    def _stop(_engine: Any) -> None:
        watchdog.stop()


class _Watchdog:
    """Cuts the socket of a connection checked out for longer than ``limit`` seconds, so that
    a call blocked on a database that stopped answering fails (as a disconnect, which makes
    SQLAlchemy discard the connection) instead of waiting for TCP to give up, if it ever does.

    It holds a duplicate of each armed connection's socket descriptor, so a cut can never
    reach another file that happened to reuse a closed connection's descriptor.
    """

    def __init__(self, limit: float) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._armed: dict[int, tuple[float, int]] = {}
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self, connection: Any) -> None:
        fd = os.dup(connection.fileno())
        with self._lock:
            previous = self._armed.pop(id(connection), None)
            self._armed[id(connection)] = (time.monotonic() + self._limit, fd)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ferry-db-watchdog", daemon=True
                )
                self._thread.start()
        if previous is not None:
            os.close(previous[1])

    def disarm(self, connection: Any) -> None:
        with self._lock:
            entry = self._armed.pop(id(connection), None)
        if entry is not None:
            os.close(entry[1])

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            entries, self._armed = list(self._armed.values()), {}
        for _, fd in entries:
            os.close(fd)

    def _run(self) -> None:
        while not self._stopped.wait(min(0.25, self._limit / 4)):
            now = time.monotonic()
            with self._lock:
                overdue = [key for key, (due, _) in self._armed.items() if due <= now]
                cut = [self._armed.pop(key)[1] for key in overdue]
            for fd in cut:
                # INFO: the call that was waiting logs the one WARNING for this failure.
                log.info(
                    "a database call took longer than %.1fs: its connection is cut and "
                    "discarded (is the database reachable?)",
                    self._limit,
                )
                with socket.socket(fileno=fd) as sock:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError as exc:
                        # Already closed by the peer: the call has its error already.
                        log.debug("cutting a database connection: %s", exc)


#: SQLSTATEs (PostgreSQL) of a full disk, and of a table that does not exist.
_PG_DISK_FULL = "53100"
#: SQLite's names for a full disk: the database or its journal cannot grow, or (in WAL mode)
#: the shared-memory index beside it cannot (on a full disk even readers meet that one).
_SQLITE_DISK_FULL = frozenset({"SQLITE_FULL", "SQLITE_IOERR_SHMSIZE"})
_PG_UNDEFINED_TABLE = "42P01"
_MISSING_SCHEMA = (
    "the database has no Ferry tables (was it re-created?); restart ferry serve, which creates them"
)


def domain_error(
    error: sa_exc.SQLAlchemyError,
) -> StorageFull | Unavailable | Overloaded | None:
    """The domain error that ``error`` amounts to, or ``None`` if it is none of the database's
    trouble (a constraint Ferry relies on, or a bug: left to the caller)."""
    orig = getattr(error, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    sqlite_name = getattr(orig, "sqlite_errorname", None)
    first_line = str(orig if orig is not None else error).strip().splitlines()[0:1]
    reason = first_line[0] if first_line else type(error).__name__
    if sqlstate == _PG_DISK_FULL or sqlite_name in _SQLITE_DISK_FULL:
        return StorageFull(f"the database's disk is full ({reason}); nothing was recorded")
    if sqlstate == _PG_UNDEFINED_TABLE or "no such table" in reason:
        return Unavailable(_MISSING_SCHEMA)
    if isinstance(error, sa_exc.TimeoutError):
        # The replica's own pool is exhausted: every connection is in use by other calls.
        # The database is fine; this replica is at its limit (--db-pool-size/-max-overflow).
        return Overloaded(
            "this replica's database connections are all busy; retry in a moment "
            "(or raise --db-pool-size / --db-max-overflow)"
        )
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)) or (
        isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated
    ):
        return Unavailable(f"the database is unavailable: {reason}")
    return None


@contextmanager
def database_trouble_as_domain_errors(*, warn: bool = True) -> Iterator[None]:
    """Raise the domain error a database failure amounts to (see :func:`domain_error`),
    logged as one WARNING line unless ``warn`` is false (the caller reports it); anything else
    passes through unchanged."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        translated = domain_error(exc)
        if translated is None:
            raise
        if warn:
            log.warning("%s", translated.message)
        raise translated from exc


P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        with database_trouble_as_domain_errors():
            return method(*args, **kwargs)

    return guarded


def translating_database_trouble(cls: C) -> C:
    """Class decorator: every public method of ``cls`` raises domain errors for database
    trouble (see :func:`database_trouble_as_domain_errors`)."""
    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_"):
            setattr(cls, name, _guarded(member))
    return cls
