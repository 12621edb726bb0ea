"""Real databases for tests: a SQLite file, a fresh PostgreSQL schema per test, or a PostgreSQL
database of a test's own that the test can close to connections (an outage)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from tests.support.components import unavailable

PG_DSN = os.environ.get("FERRY_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
PG_URL = os.environ.get("FERRY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_reachable() -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


def require_postgres() -> None:
    """Skip without PostgreSQL on a developer machine; fail in CI, where it must be there."""
    problem = postgres_reachable()
    if problem is None:
        return
    unavailable(f"PostgreSQL at {PG_DSN!r} is unreachable: {problem}")


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """Create an empty schema, yield a SQLAlchemy URL whose search_path is it, drop it after."""
    require_postgres()
    schema = f"ferry_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


class OwnPostgresDatabase:
    """A PostgreSQL database created for one test, which it may refuse connections to."""

    def __init__(self) -> None:
        self.name = f"ferry_test_{secrets.token_hex(6)}"
        host_part = PG_URL.rsplit("/", 1)[0]
        #: The SQLAlchemy URL of this database.
        self.url = f"{host_part}/{self.name}"

    def url_via(self, address: str) -> str:
        """The URL reaching this database through ``address`` ("HOST:PORT"), e.g. a relay."""
        scheme, _, rest = self.url.partition("://")
        user = rest.split("@", 1)[0]
        return f"{scheme}://{user}@{address}/{self.name}"

    def _admin(self, *statements: str) -> None:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def refuse(self) -> None:
        """Refuse new connections and end the open ones, as a database going away does."""
        self._admin(
            f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false',
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()",
        )

    def allow(self) -> None:
        self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')

    def drop_tables(self) -> None:
        """What re-creating the database leaves behind: an empty schema, no Ferry tables."""
        with psycopg.connect(f"{PG_DSN.rsplit('dbname=', 1)[0]}dbname={self.name}") as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")


@contextmanager
def own_postgres_database() -> Iterator[OwnPostgresDatabase]:
    """CREATE DATABASE for one test; DROP it (whoever is connected) after."""
    require_postgres()
    database = OwnPostgresDatabase()
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database.name}"')
    try:
        yield database
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
