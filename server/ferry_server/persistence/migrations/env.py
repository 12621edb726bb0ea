"""Alembic environment: runs migrations on the connection ``database.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from ferry_server.persistence.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Ferry's migrations run at server start-up (ferry_server.persistence.database.migrate), "
        "not through the alembic command line"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
