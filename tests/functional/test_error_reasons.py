"""Every error reason Ferry produces today, provoked for real: its status code, the ErrorInfo
reason and domain, and the other details (BadRequest, PreconditionFailure, RetryInfo,
ResourceInfo, the ``ferry-task-id`` trailer), read once through raw stubs with grpcio-status and
once through the Python client's exceptions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import google_crc32c
import grpc
import pytest
from ferry.v1 import errors_pb2
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client.errors import ERROR_BY_CODE, ERROR_BY_REASON, ServerError, from_rpc_error
from ferry_client.planning import BlockRange
from ferry_server.app import FerryServer, create_server
from ferry_server.persistence.database import create_database_engine
from ferry_server.persistence.repository import SqlTaskRepository
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support.disk import file_size_limit
from tests.support.protocol import KiB, block_messages, create, upload

MiB = 1024 * KiB
DOMAIN = "ferry.v1"


@dataclass
class Expected:
    code: grpc.StatusCode
    reason: str
    #: The BadRequest field (INVALID_ARGUMENT and OUT_OF_RANGE only).
    bad_field: str | None = None
    #: Entries ErrorInfo.metadata must have.
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Whether a RetryInfo is expected.
    retry: bool = False
    #: The task id ResourceInfo and the ferry-task-id trailer must name; None: neither exists.
    task_id: str | None = None
    #: PreconditionFailure subjects, for BLOCKS_MISSING.
    missing: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Env:
    server: FerryServer
    stub: rpc.FerryServiceStub
    channel: grpc.Channel
    tmp_path: Path

    def victim(self, name: str = "victim.bin") -> tuple[pb.Task, bytes]:
        """A task of 4 blocks of 64 KiB (the last 10 bytes) with block 0 committed."""
        data = os.urandom(3 * 64 * KiB + 10)
        task = create(self.stub, data, name, block_size=64 * KiB)
        upload(self.stub, task, data, [0])
        return task, data

    def staging(self, task: pb.Task) -> Path:
        return self.server.settings.staging_dir / task.task_id


def failing(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as excinfo:
        call()
    return excinfo.value


def stream(env: Env, messages: list[pb.UploadPartsRequest]) -> grpc.RpcError:
    return failing(lambda: list(env.stub.UploadParts(iter(messages))))


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll an observable event (not a duration): fail only if it never happens."""
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


@contextmanager
def merge_lease_held_elsewhere(server: FerryServer, task_id: str) -> Iterator[None]:
    """Another replica (its own engine on the same database) holds the task's merge lease."""
    engine = create_database_engine(server.settings.resolved_database_url, fsync=False, pool_size=1)
    repo = SqlTaskRepository(engine)
    now = datetime.now(UTC)
    assert repo.acquire_merge_lease(task_id, "other-replica", now, now + timedelta(minutes=5))
    try:
        yield
    finally:
        repo.release_merge_lease(task_id, "other-replica")
        engine.dispose()


Case = Callable[[Env], tuple[grpc.RpcError, Expected]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def register(function: Case) -> Case:
        CASES[name] = function
        return function

    return register


# -- NOT_FOUND ------------------------------------------------------------------------------


@case("TASK_NOT_FOUND")
def _task_not_found(env: Env) -> tuple[grpc.RpcError, Expected]:
    error = failing(lambda: env.stub.GetTask(pb.GetTaskRequest(task_id="0" * 32)))
    return error, Expected(grpc.StatusCode.NOT_FOUND, "TASK_NOT_FOUND")


@case("FILE_NOT_FOUND")
def _file_not_found(env: Env) -> tuple[grpc.RpcError, Expected]:
    request = pb.ReadFileRequest(store_path="never/published.bin")
    error = failing(lambda: list(env.stub.ReadFile(request)))
    return error, Expected(grpc.StatusCode.NOT_FOUND, "FILE_NOT_FOUND")


@case("GENERATION_CHANGED")
def _generation_changed(env: Env) -> tuple[grpc.RpcError, Expected]:
    first = env.stub.UploadFile(
        pb.UploadFileRequest(file_name="gen.bin", store_path="gen.bin", data=b"one",
                             crc32c=google_crc32c.value(b"one"))
    ).task  # fmt: skip
    second = env.stub.UploadFile(
        pb.UploadFileRequest(file_name="gen.bin", store_path="gen.bin", data=b"two",
                             crc32c=google_crc32c.value(b"two"), overwrite=True)
    ).task  # fmt: skip
    request = pb.ReadFileRequest(store_path="gen.bin", offset=1, if_generation=first.task_id)
    error = failing(lambda: list(env.stub.ReadFile(request)))
    return error, Expected(
        grpc.StatusCode.FAILED_PRECONDITION,
        "GENERATION_CHANGED",
        metadata={"generation": second.task_id},
    )


@case("TASK_NOT_FOUND/stream-hostile-id")
def _task_not_found_hostile_id(env: Env) -> tuple[grpc.RpcError, Expected]:
    # An id no header could carry: it must not be echoed into the trailers at all.
    ghost = pb.Task(task_id="ghost\r\nx-evil: 1 \u00e9", block_size=64 * KiB, block_count=1)
    error = stream(env, block_messages(ghost, b"x" * 10, 0))
    return error, Expected(grpc.StatusCode.NOT_FOUND, "TASK_NOT_FOUND")


# -- INVALID_ARGUMENT -----------------------------------------------------------------------


@case("INVALID_FIELD/task_id")
def _empty_task_id(env: Env) -> tuple[grpc.RpcError, Expected]:
    error = failing(lambda: env.stub.GetTask(pb.GetTaskRequest(task_id="")))
    return error, Expected(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD", bad_field="task_id")


@case("INVALID_FIELD/file_name")
def _empty_file_name(env: Env) -> tuple[grpc.RpcError, Expected]:
    request = pb.CreateTaskRequest(file_name="", size=10, store_path="x.bin")
    error = failing(lambda: env.stub.CreateTask(request))
    return error, Expected(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD", bad_field="file_name")


@case("INVALID_FIELD/sha256")
def _bad_sha256(env: Env) -> tuple[grpc.RpcError, Expected]:
    request = pb.CreateTaskRequest(file_name="x", size=10, store_path="x.bin", sha256="xyz")
    error = failing(lambda: env.stub.CreateTask(request))
    return error, Expected(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD", bad_field="sha256")


@case("INVALID_FIELD/metadata")
def _big_metadata(env: Env) -> tuple[grpc.RpcError, Expected]:
    request = pb.CreateTaskRequest(
        file_name="x", size=10, store_path="x.bin", metadata={"k": "v" * 20000}
    )
    error = failing(lambda: env.stub.CreateTask(request))
    return error, Expected(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD", bad_field="metadata")


@case("WEBHOOK_URL_REFUSED/malformed")
def _malformed_webhook_url(env: Env) -> tuple[grpc.RpcError, Expected]:
    request = pb.CreateTaskRequest(
        file_name="x", size=10, store_path="x.bin", webhook_url="https://user:pw@hooks.test/x"
    )
    error = failing(lambda: env.stub.CreateTask(request))
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT, "WEBHOOK_URL_REFUSED", bad_field="webhook_url"
    )


@case("WEBHOOK_URL_REFUSED/not-allowed")
def _webhook_url_not_allowed(env: Env) -> tuple[grpc.RpcError, Expected]:
    # The anonymous principal of a server without a principals file may choose no URL.
    request = pb.CreateTaskRequest(
        file_name="x", size=10, store_path="x.bin", webhook_url="https://hooks.test/ferry/x"
    )
    error = failing(lambda: env.stub.CreateTask(request))
    return error, Expected(grpc.StatusCode.PERMISSION_DENIED, "WEBHOOK_URL_REFUSED")


@case("INVALID_FIELD/state")
def _unsettable_state(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, _ = env.victim()
    request = pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_COMPLETED)
    error = failing(lambda: env.stub.SetState(request))
    return error, Expected(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD", bad_field="state")


@case("INVALID_FIELD/crc32c-upload-file")
def _upload_file_without_crc(env: Env) -> tuple[grpc.RpcError, Expected]:
    request = pb.UploadFileRequest(file_name="s", store_path="s.bin", data=b"small")
    error = failing(lambda: env.stub.UploadFile(request))
    return error, Expected(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD", bad_field="crc32c")


@case("INVALID_FIELD/crc32c-block-end")
def _block_end_without_crc(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, data = env.victim()
    messages = block_messages(task, data, 1)
    messages[-1].ClearField("crc32c")
    error = stream(env, messages)
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
        bad_field="crc32c",
        metadata={"taskId": task.task_id, "blockIndex": "1"},
        task_id=task.task_id,
    )


@case("INVALID_STORE_PATH")
def _backslash_store_path(env: Env) -> tuple[grpc.RpcError, Expected]:
    request = pb.CreateTaskRequest(file_name="x", size=1, store_path="a\\b")
    error = failing(lambda: env.stub.CreateTask(request))
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_STORE_PATH", bad_field="store_path"
    )


@case("INVALID_STORE_PATH/symlink-at-merge")
def _symlink_at_merge(env: Env) -> tuple[grpc.RpcError, Expected]:
    data = os.urandom(1000)
    task = create(env.stub, data, "later/file.bin")
    upload(env.stub, task, data)
    outside = env.tmp_path / "elsewhere"
    outside.mkdir()
    (env.server.settings.resolved_storage_root / "later").symlink_to(outside)
    error = failing(lambda: env.stub.Merge(pb.MergeRequest(task_id=task.task_id)))
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_STORE_PATH", bad_field="store_path"
    )


@case("INVALID_BLOCK_SIZE")
def _bad_block_size(env: Env) -> tuple[grpc.RpcError, Expected]:
    request = pb.CreateTaskRequest(file_name="x", size=10, store_path="x.bin", block_size=100 * KiB)
    error = failing(lambda: env.stub.CreateTask(request))
    settings = env.server.settings
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_BLOCK_SIZE",
        bad_field="block_size",
        metadata={
            "minBlockSizeBytes": str(settings.min_block_size),
            "maxBlockSizeBytes": str(settings.max_block_size),
            "blockAlignmentBytes": str(64 * KiB),
        },
    )


@case("DATA_TOO_LARGE/upload-file")
def _upload_file_too_large(env: Env) -> tuple[grpc.RpcError, Expected]:
    data = os.urandom(MiB + 1)
    request = pb.UploadFileRequest(
        file_name="f", store_path="f.bin", data=data, crc32c=google_crc32c.value(data)
    )
    error = failing(lambda: env.stub.UploadFile(request))
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT,
        "DATA_TOO_LARGE",
        bad_field="data",
        metadata={"limitBytes": str(MiB)},
    )


@case("DATA_TOO_LARGE/upload-parts")
def _message_too_large(env: Env) -> tuple[grpc.RpcError, Expected]:
    data = os.urandom(2 * MiB)
    task = create(env.stub, data, "big-message.bin", block_size=2 * MiB)
    message = pb.UploadPartsRequest(task_id=task.task_id, block_index=0, data=data[: MiB + 1])
    error = stream(env, [message])
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT,
        "DATA_TOO_LARGE",
        bad_field="data",
        metadata={"limitBytes": str(MiB)},
    )


@case("SHA256_CONFLICT")
def _sha256_conflict(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, _ = env.victim()
    request = pb.MergeRequest(task_id=task.task_id, sha256="ab" * 32)
    error = failing(lambda: env.stub.Merge(request))
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT,
        "SHA256_CONFLICT",
        bad_field="sha256",
        metadata={"taskId": task.task_id},
        task_id=task.task_id,
    )


@case("SIZE_MISMATCH")
def _size_mismatch(env: Env) -> tuple[grpc.RpcError, Expected]:
    # A task whose size is deferred: one committed block of 1000 bytes, then a Merge that says
    # the file is 999 bytes long.
    request = pb.CreateTaskRequest(
        file_name="pipe", store_path="size-mismatch.bin", block_size=64 * 1024,
        size_deferred=True,
    )  # fmt: skip
    task = env.stub.CreateTask(request).task
    block = os.urandom(1000)
    part = pb.UploadPartsRequest(
        task_id=task.task_id, block_index=0, offset=0, data=block,
        crc32c=google_crc32c.value(block),
    )  # fmt: skip
    list(env.stub.UploadParts(iter([part])))
    merge = pb.MergeRequest(task_id=task.task_id, size=999)
    error = failing(lambda: env.stub.Merge(merge))
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT,
        "SIZE_MISMATCH",
        bad_field="size",
        metadata={"taskId": task.task_id, "sizeBytes": "999"},
        task_id=task.task_id,
    )


@case("WRONG_OFFSET")
def _wrong_offset(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, data = env.victim()
    messages = block_messages(task, data, 1, chunk=1024)
    error = stream(env, [messages[0], messages[2]])
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT,
        "WRONG_OFFSET",
        bad_field="offset",
        metadata={"taskId": task.task_id, "blockIndex": "1", "expectedOffset": "1024"},
        task_id=task.task_id,
    )


@case("WRONG_OFFSET/first-message")
def _first_message_not_at_zero(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, data = env.victim()
    messages = block_messages(task, data, 1, chunk=1024)
    messages[0].offset = 5
    error = stream(env, messages)
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT,
        "WRONG_OFFSET",
        bad_field="offset",
        metadata={"taskId": task.task_id, "blockIndex": "1", "expectedOffset": "0"},
        task_id=task.task_id,
    )


@case("BLOCK_NOT_FINISHED")
def _block_not_finished(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, data = env.victim()
    first = block_messages(task, data, 1, chunk=1024)[0]
    second = block_messages(task, data, 2, chunk=1024)[0]
    error = stream(env, [first, second])
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT,
        "BLOCK_NOT_FINISHED",
        bad_field="block_index",
        metadata={
            "taskId": task.task_id,
            "blockIndex": "1",
            "receivedBytes": "1024",
            "blockLengthBytes": str(64 * KiB),
        },
        task_id=task.task_id,
    )


@case("MALFORMED_MESSAGE")
def _malformed_message(env: Env) -> tuple[grpc.RpcError, Expected]:
    call = env.channel.stream_stream(
        "/ferry.v1.FerryService/UploadParts",
        request_serializer=None,
        response_deserializer=pb.UploadPartsResponse.FromString,
    )
    error = failing(lambda: list(call(iter([b"\x0a\x02\xc3\x28"]))))  # task_id not UTF-8
    return error, Expected(
        grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_MESSAGE", bad_field="task_id"
    )


# -- OUT_OF_RANGE ---------------------------------------------------------------------------


@case("FILE_TOO_LARGE")
def _file_too_large(env: Env) -> tuple[grpc.RpcError, Expected]:
    limit = env.server.settings.max_file_size
    request = pb.CreateTaskRequest(file_name="x", size=limit + 1, store_path="x.bin")
    error = failing(lambda: env.stub.CreateTask(request))
    return error, Expected(
        grpc.StatusCode.OUT_OF_RANGE,
        "FILE_TOO_LARGE",
        bad_field="size",
        metadata={"limitBytes": str(limit)},
    )


@case("BLOCK_OUT_OF_RANGE")
def _block_out_of_range(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, data = env.victim()
    messages = block_messages(task, data, 0)
    for message in messages:
        message.block_index = task.block_count
    error = stream(env, messages)
    return error, Expected(
        grpc.StatusCode.OUT_OF_RANGE,
        "BLOCK_OUT_OF_RANGE",
        bad_field="block_index",
        metadata={"taskId": task.task_id, "blockIndex": "4", "blockCount": "4"},
        task_id=task.task_id,
    )


@case("DATA_PAST_BLOCK_END")
def _data_past_block_end(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, _ = env.victim()
    too_long = pb.UploadPartsRequest(
        task_id=task.task_id, block_index=3, offset=0, data=b"z" * 11, crc32c=1
    )
    error = stream(env, [too_long])
    return error, Expected(
        grpc.StatusCode.OUT_OF_RANGE,
        "DATA_PAST_BLOCK_END",
        bad_field="data",
        metadata={"taskId": task.task_id, "blockIndex": "3", "blockLengthBytes": "10"},
        task_id=task.task_id,
    )


# -- ALREADY_EXISTS -------------------------------------------------------------------------


@case("STORE_PATH_TAKEN")
def _store_path_taken(env: Env) -> tuple[grpc.RpcError, Expected]:
    first = create(env.stub, os.urandom(1000), "taken.bin", sha256="")
    error = failing(lambda: create(env.stub, os.urandom(1000), "taken.bin"))
    return error, Expected(
        grpc.StatusCode.ALREADY_EXISTS,
        "STORE_PATH_TAKEN",
        metadata={"taskId": first.task_id},
        task_id=first.task_id,
    )


@case("STORE_PATH_TAKEN/upload-file")
def _store_path_taken_by_upload_file(env: Env) -> tuple[grpc.RpcError, Expected]:
    first = create(env.stub, os.urandom(1000), "taken.bin")
    data = b"small"
    request = pb.UploadFileRequest(
        file_name="t", store_path="taken.bin", data=data, crc32c=google_crc32c.value(data)
    )
    error = failing(lambda: env.stub.UploadFile(request))
    return error, Expected(
        grpc.StatusCode.ALREADY_EXISTS,
        "STORE_PATH_TAKEN",
        metadata={"taskId": first.task_id},
        task_id=first.task_id,
    )


@case("DESTINATION_EXISTS")
def _destination_exists(env: Env) -> tuple[grpc.RpcError, Expected]:
    (env.server.settings.resolved_storage_root / "exists.bin").write_bytes(b"keep me")
    error = failing(lambda: create(env.stub, b"new", "exists.bin"))
    return error, Expected(grpc.StatusCode.ALREADY_EXISTS, "DESTINATION_EXISTS")


@case("DESTINATION_EXISTS/merge")
def _destination_appeared_before_merge(env: Env) -> tuple[grpc.RpcError, Expected]:
    data = os.urandom(1000)
    task = create(env.stub, data, "race.bin")
    upload(env.stub, task, data)
    (env.server.settings.resolved_storage_root / "race.bin").write_bytes(b"someone else's")
    error = failing(lambda: env.stub.Merge(pb.MergeRequest(task_id=task.task_id)))
    return error, Expected(
        grpc.StatusCode.ALREADY_EXISTS, "DESTINATION_EXISTS", task_id=task.task_id
    )


# -- FAILED_PRECONDITION --------------------------------------------------------------------


@case("BLOCKS_MISSING")
def _blocks_missing(env: Env) -> tuple[grpc.RpcError, Expected]:
    data = os.urandom(8 * 64 * KiB)
    task = create(env.stub, data, "holes.bin", block_size=64 * KiB)
    upload(env.stub, task, data, [0, 3, 4, 6])
    error = failing(lambda: env.stub.Merge(pb.MergeRequest(task_id=task.task_id)))
    return error, Expected(
        grpc.StatusCode.FAILED_PRECONDITION,
        "BLOCKS_MISSING",
        metadata={
            "taskId": task.task_id,
            "missingBlocks": "4",
            "missingRanges": "3",
            "blockCount": "8",
        },
        task_id=task.task_id,
        missing=["blocks/1-2", "blocks/5-5", "blocks/7-7"],
    )


@case("TASK_PAUSED")
def _task_paused(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, data = env.victim()
    env.stub.SetState(pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_PAUSED))
    error = stream(env, block_messages(task, data, 1))
    return error, Expected(
        grpc.StatusCode.FAILED_PRECONDITION,
        "TASK_PAUSED",
        metadata={"taskId": task.task_id, "state": "PAUSED"},
        task_id=task.task_id,
    )


@case("TASK_PAUSED/merge")
def _merge_paused(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, _ = env.victim()
    env.stub.SetState(pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_PAUSED))
    error = failing(lambda: env.stub.Merge(pb.MergeRequest(task_id=task.task_id)))
    return error, Expected(
        grpc.StatusCode.FAILED_PRECONDITION,
        "TASK_PAUSED",
        metadata={"taskId": task.task_id, "state": "PAUSED"},
        task_id=task.task_id,
    )


@case("TASK_NOT_UPLOADING")
def _task_canceled(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, data = env.victim()
    env.stub.SetState(pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_CANCELED))
    error = stream(env, block_messages(task, data, 1))
    return error, Expected(
        grpc.StatusCode.FAILED_PRECONDITION,
        "TASK_NOT_UPLOADING",
        metadata={"taskId": task.task_id, "state": "CANCELED"},
        task_id=task.task_id,
    )


@case("ILLEGAL_TRANSITION")
def _illegal_transition(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, _ = env.victim()
    env.stub.SetState(pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_CANCELED))
    request = pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_PAUSED)
    error = failing(lambda: env.stub.SetState(request))
    return error, Expected(
        grpc.StatusCode.FAILED_PRECONDITION,
        "ILLEGAL_TRANSITION",
        metadata={"taskId": task.task_id, "state": "CANCELED", "targetState": "PAUSED"},
        task_id=task.task_id,
    )


@case("TASK_MERGING")
def _task_merging(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, data = env.victim()
    upload(env.stub, task, data, [1, 2, 3])
    request = pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_PAUSED)
    with merge_lease_held_elsewhere(env.server, task.task_id):
        error = failing(lambda: env.stub.SetState(request))
    return error, Expected(
        grpc.StatusCode.FAILED_PRECONDITION,
        "TASK_MERGING",
        metadata={"taskId": task.task_id},
        task_id=task.task_id,
    )


@case("STAGING_LOST")
def _staging_lost(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, data = env.victim()
    upload(env.stub, task, data, [1, 2, 3])
    shutil.rmtree(env.staging(task))
    error = failing(lambda: env.stub.Merge(pb.MergeRequest(task_id=task.task_id)))
    return error, Expected(
        grpc.StatusCode.FAILED_PRECONDITION,
        "STAGING_LOST",
        metadata={"taskId": task.task_id},
        task_id=task.task_id,
    )


# -- DATA_LOSS ------------------------------------------------------------------------------


def _liar(env: Env) -> pb.Task:
    data = os.urandom(3 * 64 * KiB)
    task = create(env.stub, data, "liar.bin", block_size=64 * KiB, sha256="ab" * 32)
    upload(env.stub, task, data)
    return task


@case("HASH_MISMATCH")
def _hash_mismatch_at_merge(env: Env) -> tuple[grpc.RpcError, Expected]:
    task = _liar(env)
    error = failing(lambda: env.stub.Merge(pb.MergeRequest(task_id=task.task_id)))
    return error, Expected(
        grpc.StatusCode.DATA_LOSS,
        "HASH_MISMATCH",
        metadata={"taskId": task.task_id, "expectedSha256": "ab" * 32},
        task_id=task.task_id,
    )


@case("HASH_MISMATCH/upload-file")
def _hash_mismatch_at_upload_file(env: Env) -> tuple[grpc.RpcError, Expected]:
    data = b"the real bytes"
    request = pb.UploadFileRequest(
        file_name="f",
        store_path="f.bin",
        sha256="cd" * 32,
        data=data,
        crc32c=google_crc32c.value(data),
    )
    error = failing(lambda: env.stub.UploadFile(request))
    return error, Expected(
        grpc.StatusCode.DATA_LOSS,
        "HASH_MISMATCH",
        metadata={"expectedSha256": "cd" * 32, "receivedSha256": hashlib.sha256(data).hexdigest()},
    )


@case("TASK_FAILED")
def _task_failed(env: Env) -> tuple[grpc.RpcError, Expected]:
    task = _liar(env)
    failing(lambda: env.stub.Merge(pb.MergeRequest(task_id=task.task_id)))
    error = failing(lambda: env.stub.Merge(pb.MergeRequest(task_id=task.task_id)))
    return error, Expected(
        grpc.StatusCode.DATA_LOSS,
        "TASK_FAILED",
        metadata={"taskId": task.task_id},
        task_id=task.task_id,
    )


# -- ABORTED --------------------------------------------------------------------------------


@case("CHECKSUM_MISMATCH")
def _upload_file_damaged(env: Env) -> tuple[grpc.RpcError, Expected]:
    data = b"damaged in transit"
    request = pb.UploadFileRequest(
        file_name="d", store_path="d.bin", data=data, crc32c=google_crc32c.value(data) ^ 1
    )
    error = failing(lambda: env.stub.UploadFile(request))
    return error, Expected(grpc.StatusCode.ABORTED, "CHECKSUM_MISMATCH")


@case("MERGE_IN_PROGRESS")
def _merge_in_progress(env: Env) -> tuple[grpc.RpcError, Expected]:
    task, data = env.victim()
    upload(env.stub, task, data, [1, 2, 3])
    with merge_lease_held_elsewhere(env.server, task.task_id):
        # The server waits for the other merge until half a second before the deadline.
        error = failing(lambda: env.stub.Merge(pb.MergeRequest(task_id=task.task_id), timeout=1))
    return error, Expected(
        grpc.StatusCode.ABORTED,
        "MERGE_IN_PROGRESS",
        metadata={"taskId": task.task_id},
        retry=True,
        task_id=task.task_id,
    )


# -- RESOURCE_EXHAUSTED ---------------------------------------------------------------------


@case("DISK_FULL")
def _disk_full(env: Env) -> tuple[grpc.RpcError, Expected]:
    data = os.urandom(4 * MiB)
    task = create(env.stub, data, "big.bin", block_size=4 * MiB)
    messages = block_messages(task, data, 0, chunk=MiB)
    # The attempt file's first MiB fits; the second message finds no space.
    with file_size_limit(MiB):
        error = stream(env, messages)
    assert [p.name for p in env.staging(task).iterdir()] == []  # the attempt was dropped
    return error, Expected(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "DISK_FULL",
        metadata={"requestedBytes": str(MiB)},
        retry=True,
    )


@case("QUOTA_EXCEEDED")
def _quota_exceeded(env: Env) -> tuple[grpc.RpcError, Expected]:
    # A replica of the same service with a quota of one active task per principal.
    limited = create_server(env.server.settings.replace(quota_active_tasks=1))
    limited.start()
    try:
        with grpc.insecure_channel(limited.address) as channel:
            stub = rpc.FerryServiceStub(channel)
            create(stub, b"first", "quota/first.bin")
            error = failing(lambda: create(stub, b"second", "quota/second.bin"))
    finally:
        limited.stop(grace=0)
    return error, Expected(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "QUOTA_EXCEEDED",
        metadata={"limit": "active_tasks", "limitValue": "1"},
    )


#: Reasons no request can provoke today: a bug in Ferry
#: (INTERNAL_ERROR); tests/unit/test_status_details.py covers their details. And reasons
#: that take a failing database or a replica shutting down: tests/functional/
#: test_server_database_outage.py and test_server_shutdown.py provoke those. OVERLOADED
#: takes a replica's stream limit (test_server_many_streams.py, test_server_stream_limits.py)
#: or an exhausted database pool (test_database_pool.py, at the engine); STREAM_IDLE a
#: replica's idle timeout (test_server_stream_limits.py); DEADLINE_PASSED a call's deadline
#: passing inside the server (test_server_deadlines.py); STORE_UNAVAILABLE an object store
#: stopped mid-upload (test_s3_store_outage.py).
#: BUSY: since every attempt at a block writes its own file (issue 7), only races raise it (a
#: store_path declared concurrently twice over, a state changed concurrently five times over).
#: UNAUTHENTICATED, TOKEN_EXPIRED, PERMISSION_DENIED take a server with credentials configured:
#: tests/functional/test_identity.py provokes them and checks their details.
NOT_PROVOKABLE = {
    "UNAUTHENTICATED",
    "TOKEN_EXPIRED",
    "PERMISSION_DENIED",
    "OVERLOADED",
    "INTERNAL_ERROR",
    "DATABASE_UNAVAILABLE",
    "SHUTTING_DOWN",
    "STORE_UNAVAILABLE",
    "BUSY",
    "STREAM_IDLE",
    "DEADLINE_PASSED",
}


def test_every_reason_in_the_proto_is_provoked_here_or_not_provokable() -> None:
    provoked = {name.split("/")[0] for name in CASES}
    in_proto = {
        value.name
        for value in errors_pb2.ErrorReason.DESCRIPTOR.values
        if value.name != "ERROR_REASON_UNSPECIFIED"
    }
    assert provoked | NOT_PROVOKABLE == in_proto
    assert not provoked & NOT_PROVOKABLE


@pytest.fixture
def env(server: FerryServer, stub: rpc.FerryServiceStub, channel: grpc.Channel, tmp_path: Path):
    return Env(server, stub, channel, tmp_path)


def _unpack(status: Any) -> dict[str, list[Any]]:
    kinds = {
        "ErrorInfo": error_details_pb2.ErrorInfo,
        "BadRequest": error_details_pb2.BadRequest,
        "PreconditionFailure": error_details_pb2.PreconditionFailure,
        "RetryInfo": error_details_pb2.RetryInfo,
        "ResourceInfo": error_details_pb2.ResourceInfo,
    }
    found: dict[str, list[Any]] = {name: [] for name in kinds}
    for packed in status.details:
        for name, cls in kinds.items():
            if packed.Is(cls.DESCRIPTOR):
                message = cls()
                packed.Unpack(message)
                found[name].append(message)
                break
        else:
            raise AssertionError(f"unexpected detail {packed.type_url}")
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_raw_stubs_read_the_reason_and_details(env: Env, name: str) -> None:
    error, expected = CASES[name](env)
    assert error.code() == expected.code  # type: ignore[attr-defined]
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "no grpc-status-details-bin trailer"
    assert status.code == expected.code.value[0]
    details = _unpack(status)

    (info,) = details["ErrorInfo"]
    assert (info.reason, info.domain) == (expected.reason, DOMAIN)
    assert dict(info.metadata).items() >= expected.metadata.items()

    if expected.bad_field is not None:
        (bad,) = details["BadRequest"]
        (violation,) = bad.field_violations
        assert violation.field == expected.bad_field
        assert violation.description == status.message
    else:
        assert details["BadRequest"] == []

    subjects = [v.subject for p in details["PreconditionFailure"] for v in p.violations]
    assert subjects == expected.missing
    assert all(
        v.type == "BLOCKS_MISSING" for p in details["PreconditionFailure"] for v in p.violations
    )

    if expected.retry:
        (retry,) = details["RetryInfo"]
        assert retry.retry_delay.ToTimedelta() > timedelta(0)
    else:
        assert details["RetryInfo"] == []

    trailers = dict(error.trailing_metadata())  # type: ignore[attr-defined]
    if expected.task_id is not None:
        (named,) = details["ResourceInfo"]
        assert (named.resource_type, named.resource_name) == ("ferry.v1.Task", expected.task_id)
        assert trailers["ferry-task-id"] == expected.task_id
    else:
        assert details["ResourceInfo"] == []
        assert "ferry-task-id" not in trailers


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_client_exception_carries_the_reason_and_details(env: Env, name: str) -> None:
    error, expected = CASES[name](env)
    exc = from_rpc_error(error)
    assert type(exc) is ERROR_BY_REASON.get(
        expected.reason, ERROR_BY_CODE.get(expected.code, ServerError)
    )
    assert exc.code == expected.code
    assert (exc.reason, exc.domain) == (expected.reason, DOMAIN)
    assert exc.ferry_reason == expected.reason
    assert dict(exc.metadata).items() >= expected.metadata.items()
    assert [v.field for v in exc.field_violations] == (
        [] if expected.bad_field is None else [expected.bad_field]
    )
    assert [f"blocks/{r.start}-{r.end - 1}" for r in exc.missing_ranges] == expected.missing
    assert (exc.retry_delay is not None) == expected.retry
    assert exc.task_id == expected.task_id
    assert f"{expected.code.name}: {expected.reason}" in str(exc)


def test_missing_ranges_are_half_open_in_the_client(env: Env) -> None:
    error, _ = CASES["BLOCKS_MISSING"](env)
    assert from_rpc_error(error).missing_ranges == (
        BlockRange(1, 3),
        BlockRange(5, 6),
        BlockRange(7, 8),
    )


def test_many_missing_ranges_are_listed_up_to_a_bound(env: Env) -> None:
    data = os.urandom(100 * 64 * KiB)
    task = create(env.stub, data, "sieve.bin", block_size=64 * KiB)
    upload(env.stub, task, data, range(0, 100, 2))
    error = failing(lambda: env.stub.Merge(pb.MergeRequest(task_id=task.task_id)))
    exc = from_rpc_error(error)
    assert exc.reason == "BLOCKS_MISSING"
    assert exc.metadata["missingRanges"] == "50"
    assert exc.missing_ranges == tuple(BlockRange(i, i + 1) for i in range(1, 64, 2))


@pytest.mark.parametrize(
    ("call", "code", "reason"),
    [
        (
            lambda stub, n: stub.CreateTask(
                pb.CreateTaskRequest(file_name="x", size=1, store_path="/" + "\u00e9" * n)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_STORE_PATH",
        ),
        (
            lambda stub, n: stub.GetTask(pb.GetTaskRequest(task_id="\u00e9" * n)),
            grpc.StatusCode.NOT_FOUND,
            "TASK_NOT_FOUND",
        ),
        (
            lambda stub, n: list(
                stub.UploadParts(
                    iter([pb.UploadPartsRequest(task_id="x" * n, data=b"1", crc32c=0)])
                )
            ),
            grpc.StatusCode.NOT_FOUND,
            "TASK_NOT_FOUND",
        ),
    ],
    ids=["absolute-store-path", "task-id", "task-id-in-a-stream"],
)
@pytest.mark.parametrize("length", [3000, 100_000])
def test_long_hostile_input_still_gets_its_own_status(
    env: Env, call: Any, code: grpc.StatusCode, reason: str, length: int
) -> None:
    # Echoed whole, the input would push the reply's headers past the client's limit and the
    # client would see RESOURCE_EXHAUSTED instead (the soft limit drops them at random: try
    # a few times).
    for _ in range(5):
        exc = from_rpc_error(failing(lambda: call(env.stub, length)))
        assert (exc.code, exc.reason) == (code, reason)
        assert len(exc.message.encode()) < 1024
