"""Nothing orphaned: the storage sweep and ``ferry fsck`` (issue 7)."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer, create_server
from ferry_server.config import Settings

from tests.support.protocol import KiB, create, merge, missing_set, set_state, upload

HOUR_AGO = time.time() - 3600


@pytest.fixture
def quiet_settings(settings: Settings) -> Settings:
    # The sweeper thread stays idle: the tests call the sweep themselves, deterministically.
    return settings.replace(sweep_interval_seconds=3600.0, orphan_age_seconds=60.0)


@pytest.fixture
def replica(quiet_settings: Settings) -> Iterator[FerryServer]:
    server = create_server(quiet_settings)
    server.start()
    yield server
    server.stop(0)


@pytest.fixture
def replica_stub(replica: FerryServer) -> Iterator[rpc.FerryServiceStub]:
    with grpc.insecure_channel(replica.address) as channel:
        yield rpc.FerryServiceStub(channel)


def plant(path: Path, data: bytes = b"x", *, old: bool = True) -> Path:
    """A file as a crashed stream or replica would have left it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if old:
        os.utime(path, (HOUR_AGO, HOUR_AGO))
        os.utime(path.parent, (HOUR_AGO, HOUR_AGO))
    return path


def test_the_sweep_deletes_orphans_and_finished_staging_only(
    replica: FerryServer, replica_stub: rpc.FerryServiceStub, caplog: pytest.LogCaptureFixture
):
    staging = replica.settings.staging_dir
    data = os.urandom(4 * 64 * KiB)
    task = create(replica_stub, data, "swept.bin", block_size=64 * KiB)
    upload(replica_stub, task, data, [0, 1])
    promoted = sorted(p.name for p in (staging / task.task_id).glob("b*"))
    for name in promoted:  # old, but promoted: never orphans
        os.utime(staging / task.task_id / name, (HOUR_AGO, HOUR_AGO))
    orphan = plant(staging / task.task_id / "b2.0123456789abcdef")
    fresh = plant(staging / task.task_id / "b3.fedcba9876543210", old=False)
    canceled = create(replica_stub, data, "canceled.bin", block_size=64 * KiB)
    set_state(replica_stub, canceled.task_id, pb.TASK_STATE_CANCELED)
    leftover = plant(staging / canceled.task_id / "asm.0a0a0a")
    unknown = plant(staging / secrets.token_hex(16) / "b0.aa")
    young_unknown = plant(staging / secrets.token_hex(16) / "b0.bb", old=False)
    with caplog.at_level(logging.INFO, logger="ferry.tasks"):
        removed = replica.service.sweep_storage()
    assert removed == 3
    assert "storage sweep: deleted 3" in caplog.text
    assert not orphan.exists()
    assert not leftover.parent.exists()
    assert not unknown.parent.exists()
    assert fresh.exists()  # a stream may still be writing it
    assert young_unknown.exists()  # a CreateTask may be about to insert its row
    assert sorted(p.name for p in (staging / task.task_id).glob("b*")) == sorted(
        [*promoted, fresh.name]
    )
    upload(replica_stub, task, data, [2, 3])
    done = merge(replica_stub, task.task_id)
    published = (replica.settings.resolved_storage_root / "swept.bin").read_bytes()
    assert published == data
    assert done.sha256 == hashlib.sha256(published).hexdigest()


def test_one_replica_sweeps_at_a_time(replica: FerryServer, quiet_settings: Settings):
    other = create_server(quiet_settings)
    other.start()
    try:
        plant(quiet_settings.staging_dir / secrets.token_hex(16) / "b0.aa")
        assert replica.service.sweep_storage() == 1
        plant(quiet_settings.staging_dir / secrets.token_hex(16) / "b0.aa")
        # The lease is the first replica's for half the orphan age: the other stands by.
        assert other.service.sweep_storage() == 0
        assert replica.service.sweep_storage() == 1
    finally:
        other.stop(0)


def fsck(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ferry_client", "fsck", "--data-dir", str(settings.data_dir),
               "--min-age", "60", *args]  # fmt: skip
    if settings.database_url:
        command += ["--database-url", settings.database_url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_fsck_reports_then_repairs_sql_and_storage_disagreements(
    replica: FerryServer, replica_stub: rpc.FerryServiceStub
):
    settings = replica.settings
    staging = settings.staging_dir
    data = os.urandom(4 * 64 * KiB + 9)
    task = create(replica_stub, data, "fsck.bin", block_size=64 * KiB)
    upload(replica_stub, task, data)
    [lost] = (staging / task.task_id).glob("b2.*")
    lost.unlink()  # the disk lost a promoted block's bytes
    orphan = plant(staging / task.task_id / "b1.0123456789abcdef")
    canceled = create(replica_stub, data, "fsck-canceled.bin", block_size=64 * KiB)
    set_state(replica_stub, canceled.task_id, pb.TASK_STATE_CANCELED)
    leftover = plant(staging / canceled.task_id / "b0.abcdef")

    found = fsck(settings)
    assert found.returncode == 1, found.stderr
    assert "3 disagreement(s) found" in found.stdout
    assert "block 1 attempt 0123456789abcdef is orphaned" in found.stderr
    assert "1 committed block(s) without their bytes (2)" in found.stderr
    assert "staging of a CANCELED task" in found.stderr
    assert orphan.exists() and leftover.exists()
    assert missing_set(replica_stub, task.task_id) == set()

    repaired = fsck(settings, "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert "3 disagreement(s) repaired" in repaired.stdout
    assert not orphan.exists() and not leftover.parent.exists()
    assert missing_set(replica_stub, task.task_id) == {2}
    assert fsck(settings).returncode == 0

    upload(replica_stub, task, data, [2])
    done = merge(replica_stub, task.task_id)
    published = (settings.resolved_storage_root / "fsck.bin").read_bytes()
    assert published == data
    assert done.sha256 == hashlib.sha256(published).hexdigest()
