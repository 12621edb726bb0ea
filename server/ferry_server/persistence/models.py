"""SQLAlchemy models for tasks, committed blocks, leases and upload tokens (used only inside
persistence)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: The states in which a task owns its store_path (kept in step with domain.model.ACTIVE_STATES).
ACTIVE_STATES_SQL = "state IN ('UPLOADING', 'PAUSED')"
#: The states in which a task has ended (kept in step with TaskState.is_terminal).
TERMINAL_STATES_SQL = "state IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED')"


class Base(DeclarativeBase):
    pass


class TaskRow(Base):
    __tablename__ = "ferry_tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    principal: Mapped[str] = mapped_column(String(255))
    file_name: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    store_path: Mapped[str] = mapped_column(Text)
    metadata_json: Mapped[str] = mapped_column(Text)
    block_size: Mapped[int] = mapped_column(Integer)
    block_count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    overwrite: Mapped[bool] = mapped_column(Boolean)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    merge_owner: Mapped[str | None] = mapped_column(String(64))
    merge_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: domain.model.LAYOUT_*: how the task's bytes are staged (rows from before are layout 1).
    staging_layout: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    #: Retention: the committed bytes when the task's block rows were purged (None: not yet).
    final_committed_bytes: Mapped[int | None] = mapped_column(BigInteger)
    #: Retention: whether the ended task's block rows are all gone.
    blocks_purged: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: The size is declared at Merge (a pipe); ``size`` is 0 until then.
    size_deferred: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: With size_deferred: the most bytes the task may hold; 0 otherwise.
    max_size: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    #: Where the completion notice goes, chosen at declaration ("" for none); NULL for tasks
    #: recorded before migration 0010 (their principal's URL is looked up at their end).
    webhook_url: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # One active task per destination, enforced by the database so replicas need no lock.
        Index(
            "ux_ferry_tasks_active_store_path",
            "store_path",
            unique=True,
            sqlite_where=text(ACTIVE_STATES_SQL),
            postgresql_where=text(ACTIVE_STATES_SQL),
        ),
        Index("ix_ferry_tasks_state_expires", "state", "expires_at"),
        # The retention sweep's two queues: ended tasks with block rows left, ended tasks by age.
        Index(
            "ix_ferry_tasks_unpurged",
            "updated_at",
            sqlite_where=text(f"{TERMINAL_STATES_SQL} AND NOT blocks_purged"),
            postgresql_where=text(f"{TERMINAL_STATES_SQL} AND NOT blocks_purged"),
        ),
        Index(
            "ix_ferry_tasks_ended",
            "updated_at",
            sqlite_where=text(TERMINAL_STATES_SQL),
            postgresql_where=text(TERMINAL_STATES_SQL),
        ),
        # A principal's active tasks, counted and summed by every admission (quotas).
        Index("ix_ferry_tasks_principal_state", "principal", "state"),
        # ListTasks' keyset pages: a principal's tasks, and every task (operators), by age.
        Index("ix_ferry_tasks_principal_created", "principal", "created_at", "id"),
        Index("ix_ferry_tasks_created", "created_at", "id"),
    )


class BlockRow(Base):
    __tablename__ = "ferry_blocks"

    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("ferry_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    block_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    crc32c: Mapped[int] = mapped_column(BigInteger)
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The attempt whose private file is the block's bytes; None: the layout-1 shared file.
    attempt: Mapped[str | None] = mapped_column(String(32))
    #: Where the byte store put the block once it was committed (the object store's part
    #: ETag); None on the filesystem, and in the object store while the part is being uploaded.
    receipt: Mapped[str | None] = mapped_column(String(128))


class LeaseRow(Base):
    """A cluster-wide lease by name (e.g. the storage sweeper's), held by one replica."""

    __tablename__ = "ferry_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxRow(Base):
    """A completion notice, written in the transaction that ended its task; delivered at least
    once by whichever replica claims it (``lease_owner`` until ``lease_until``)."""

    __tablename__ = "ferry_outbox"

    event_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("ferry_tasks.id", ondelete="CASCADE"), index=True
    )
    #: The terminal state the notice tells of.
    state: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: domain.notifications.DeliveryState.
    delivery: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # The delivery queue: only notices still pending are in it.
        Index(
            "ix_ferry_outbox_due",
            "next_attempt_at",
            sqlite_where=text("delivery = 'PENDING'"),
            postgresql_where=text("delivery = 'PENDING'"),
        ),
    )


class UploadTokenRow(Base):
    """An upload token, by its SHA-256 (the token itself is never stored)."""

    __tablename__ = "ferry_upload_tokens"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("ferry_tasks.id", ondelete="CASCADE"), index=True
    )
    principal: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class QuotaLockRow(Base):
    """A row an admission locks (FOR UPDATE) so that concurrent admissions on any replica
    take turns: ``admission`` for tasks, ``streams:<principal>`` for a principal's streams."""

    __tablename__ = "ferry_quota_locks"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)


class StreamCountRow(Base):
    """How many UploadParts streams a replica has open for a principal, until ``expires_at``
    (refreshed by the replica's heartbeat; a dead replica's count expires)."""

    __tablename__ = "ferry_stream_counts"

    replica: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal: Mapped[str] = mapped_column(String(255), primary_key=True)
    streams: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
