"""Upgrades: a task in flight under the layout-1 staging (one shared ``<task>.part`` file,
before issue 7) still completes on the new server, and each task records its layout."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ferry_server.persistence
import google_crc32c
import grpc
from alembic import command
from alembic.config import Config
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import create_server
from ferry_server.config import Settings
from ferry_server.domain.identity import ANONYMOUS_CALLER
from ferry_server.domain.model import LAYOUT_ATTEMPTS, LAYOUT_SHARED_FILE
from ferry_server.persistence.database import create_database_engine
from sqlalchemy import text

from tests.support.protocol import KiB, create, merge, missing_set, upload

BLOCK = 64 * KiB
_MIGRATIONS = Path(ferry_server.persistence.__file__).parent / "migrations"


def stage_like_the_old_server(settings: Settings, data: bytes, committed: list[int]) -> str:
    """What the server before issue 7 left for a task in flight: the schema at revision 0001,
    the task's row and its committed blocks' rows, and one preallocated shared staging file
    holding those blocks at their offsets."""
    settings.staging_dir.mkdir(parents=True)
    engine = create_database_engine(settings.resolved_database_url, fsync=False, pool_size=2)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    task_id = secrets.token_hex(16)
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            connection.execute(
                text(
                    "INSERT INTO ferry_tasks (id, principal, file_name, size, sha256, store_path,"
                    " metadata_json, block_size, block_count, state, overwrite, created_at,"
                    " updated_at, expires_at) VALUES (:id, 'anonymous', 'old.bin', :size, :sha,"
                    " 'old.bin', :meta, :bs, :bc, 'UPLOADING', false, :now, :now, :expires)"
                ),
                {
                    "id": task_id,
                    "size": len(data),
                    "sha": hashlib.sha256(data).hexdigest(),
                    "meta": json.dumps({}),
                    "bs": BLOCK,
                    "bc": -(-len(data) // BLOCK),
                    "now": now,
                    "expires": now + timedelta(days=7),
                },
            )
            for index in committed:
                block = data[index * BLOCK : (index + 1) * BLOCK]
                connection.execute(
                    text(
                        "INSERT INTO ferry_blocks (task_id, block_index, length, crc32c,"
                        " committed_at) VALUES (:id, :i, :length, :crc, :now)"
                    ),
                    {
                        "id": task_id,
                        "i": index,
                        "length": len(block),
                        "crc": google_crc32c.value(block),
                        "now": now,
                    },
                )
    finally:
        engine.dispose()
    shared = bytearray(len(data))
    for index in committed:
        shared[index * BLOCK : (index + 1) * BLOCK] = data[index * BLOCK : (index + 1) * BLOCK]
    (settings.staging_dir / f"{task_id}.part").write_bytes(bytes(shared))
    return task_id


def test_a_task_in_flight_under_the_old_layout_completes_after_the_upgrade(settings: Settings):
    data = os.urandom(5 * BLOCK + 321)
    task_id = stage_like_the_old_server(settings, data, committed=[0, 2])
    server = create_server(settings)
    server.start()
    try:
        assert (
            server.service.get_task(task_id, ANONYMOUS_CALLER).staging_layout == LAYOUT_SHARED_FILE
        )
        with grpc.insecure_channel(server.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            task = stub.GetTask(pb.GetTaskRequest(task_id=task_id)).task
            assert missing_set(stub, task_id) == {1, 3, 4, 5}
            # A committed block sent again with other bytes is still refused.
            other = pb.UploadPartsRequest(task_id=task_id, block_index=2, offset=0,
                                          data=bytes(BLOCK))  # fmt: skip
            other.crc32c = google_crc32c.value(bytes(BLOCK))
            [ack] = stub.UploadParts(iter([other]))
            assert ack.status == pb.BLOCK_STATUS_COMMITTED_DIFFERENT
            upload(stub, task, data, [1, 3, 4, 5])
            done = merge(stub, task_id)
            fresh = create(stub, data, "new.bin", block_size=BLOCK)
        assert (
            server.service.get_task(fresh.task_id, ANONYMOUS_CALLER).staging_layout
            == LAYOUT_ATTEMPTS
        )
    finally:
        server.stop(0)
    published = (settings.resolved_storage_root / "old.bin").read_bytes()
    assert published == data
    assert done.sha256 == hashlib.sha256(published).hexdigest()
    assert not (settings.staging_dir / f"{task_id}.part").exists()
    assert not (settings.staging_dir / task_id).exists()
