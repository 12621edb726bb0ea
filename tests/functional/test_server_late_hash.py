"""A task declared without SHA-256 gets its hash at Merge (the client hashed while uploading)."""

from __future__ import annotations

import hashlib
import os

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer

from tests.support.protocol import KiB, create, upload


def merge_with(stub: rpc.FerryServiceStub, task_id: str, sha256: str) -> pb.Task:
    return stub.Merge(pb.MergeRequest(task_id=task_id, sha256=sha256)).task


def merge_error(stub: rpc.FerryServiceStub, task_id: str, sha256: str):
    with pytest.raises(grpc.RpcError) as excinfo:
        merge_with(stub, task_id, sha256)
    return excinfo.value.code(), excinfo.value.details()


def test_the_hash_given_at_merge_is_verified(server: FerryServer, stub: rpc.FerryServiceStub):
    data = os.urandom(5 * 64 * KiB + 1)
    task = create(stub, data, "late.bin", block_size=64 * KiB, sha256="")
    assert task.sha256 == ""
    upload(stub, task, data)
    digest = hashlib.sha256(data).hexdigest()
    done = merge_with(stub, task.task_id, digest.upper())
    assert (done.state, done.sha256) == (pb.TASK_STATE_COMPLETED, digest)
    assert merge_with(stub, task.task_id, digest) == done
    assert (server.settings.resolved_storage_root / "late.bin").read_bytes() == data
    code, details = merge_error(stub, task.task_id, "00" * 32)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "completed with" in details


def test_a_wrong_hash_at_merge_is_data_loss(server: FerryServer, stub: rpc.FerryServiceStub):
    data = os.urandom(3 * 64 * KiB)
    task = create(stub, data, "late-wrong.bin", block_size=64 * KiB, sha256="")
    upload(stub, task, data)
    code, details = merge_error(stub, task.task_id, "ab" * 32)
    assert code == grpc.StatusCode.DATA_LOSS
    assert hashlib.sha256(data).hexdigest() in details
    state = stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.state
    assert state == pb.TASK_STATE_FAILED
    assert not (server.settings.resolved_storage_root / "late-wrong.bin").exists()


def test_a_hash_that_contradicts_the_declared_one_is_invalid(stub: rpc.FerryServiceStub):
    data = os.urandom(1000)
    task = create(stub, data, "declared.bin")
    upload(stub, task, data)
    code, details = merge_error(stub, task.task_id, "cd" * 32)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "not the same file" in details
    code, _ = merge_error(stub, task.task_id, "xyz")
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    done = merge_with(stub, task.task_id, hashlib.sha256(data).hexdigest())
    assert done.state == pb.TASK_STATE_COMPLETED


def test_a_declaration_without_hash_never_resumes(stub: rpc.FerryServiceStub):
    data = os.urandom(1000)
    first = create(stub, data, "anon.bin", sha256="")
    with pytest.raises(grpc.RpcError) as excinfo:
        create(stub, data, "anon.bin", sha256="")
    assert excinfo.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert first.task_id in excinfo.value.details()
    assert "by its id" in excinfo.value.details()
