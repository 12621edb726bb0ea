"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from ferry_server.persistence.database import create_database_engine, migrate
from ferry_server.persistence.models import Base
from sqlalchemy import Engine, inspect

from tests.support.databases import fresh_postgres_schema


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
        engine = create_database_engine(url, fsync=False, pool_size=2)
        yield engine
        engine.dispose()
        return
    with fresh_postgres_schema() as url:
        engine = create_database_engine(url, fsync=False, pool_size=2)
        yield engine
        engine.dispose()


def test_migrations_match_the_models_and_rerun_as_no_ops(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert {"ferry_tasks", "ferry_blocks", "alembic_version"} <= tables
