"""Real databases for tests: a SQLite file, or a fresh PostgreSQL schema per test."""

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
