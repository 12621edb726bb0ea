"""Every malformed or hostile request gets its documented status and changes nothing else.

Each test runs beside a *bystander* task with committed blocks; at the end the bystander must
still have exactly those blocks and still merge into the right file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer

from tests.conftest import Bystander
from tests.support.protocol import (
    KiB,
    block_messages,
    create,
    merge,
    missing,
    missing_set,
    set_state,
    statuses,
    upload,
)


def rpc_error(excinfo: pytest.ExceptionInfo[grpc.RpcError]) -> tuple[grpc.StatusCode, str]:
    error = excinfo.value
    return error.code(), error.details()  # type: ignore[attr-defined]


def stream_error(stub: rpc.FerryServiceStub, messages: list[pb.UploadPartsRequest]):
    with pytest.raises(grpc.RpcError) as excinfo:
        list(stub.UploadParts(iter(messages)))
    return rpc_error(excinfo)


@pytest.fixture
def task_and_data(stub: rpc.FerryServiceStub, bystander: Bystander) -> tuple[pb.Task, bytes]:
    data = os.urandom(3 * 64 * KiB + 10)
    task = create(stub, data, "victim.bin", block_size=64 * KiB)
    upload(stub, task, data, [0])
    return task, data


# -- UploadParts --------------------------------------------------------------------------------


def test_unknown_task_is_not_found_everywhere(stub, bystander):
    ghost = pb.Task(task_id="0" * 32, block_size=64 * KiB, block_count=1)
    code, details = stream_error(stub, block_messages(ghost, b"x" * 10, 0))
    assert code == grpc.StatusCode.NOT_FOUND
    assert "0" * 32 in details
    for call, request in [
        (stub.GetTask, pb.GetTaskRequest(task_id="nope")),
        (stub.QueryMissingBlocks, pb.QueryMissingBlocksRequest(task_id="nope")),
        (stub.Merge, pb.MergeRequest(task_id="nope")),
        (stub.SetState, pb.SetStateRequest(task_id="nope", state=pb.TASK_STATE_PAUSED)),
    ]:
        with pytest.raises(grpc.RpcError) as excinfo:
            call(request)
        assert rpc_error(excinfo)[0] == grpc.StatusCode.NOT_FOUND


def test_empty_task_id_is_invalid(stub, bystander):
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.GetTask(pb.GetTaskRequest(task_id=""))
    assert rpc_error(excinfo)[0] == grpc.StatusCode.INVALID_ARGUMENT
    code, _ = stream_error(stub, [pb.UploadPartsRequest(data=b"x", crc32c=0)])
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_block_index_out_of_range(stub, task_and_data):
    task, data = task_and_data
    bad = block_messages(task, data, 0)
    for message in bad:
        message.block_index = task.block_count
    code, details = stream_error(stub, bad)
    assert code == grpc.StatusCode.OUT_OF_RANGE
    assert f"{task.block_count} blocks" in details
    assert missing_set(stub, task.task_id) == {1, 2, 3}


def test_first_message_at_a_wrong_offset(stub, task_and_data):
    task, data = task_and_data
    bad = block_messages(task, data, 1, chunk=1024)
    bad[0].offset = 5
    code, details = stream_error(stub, bad)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "offset 0" in details
    assert missing_set(stub, task.task_id) == {1, 2, 3}


def test_a_gap_inside_a_block(stub, task_and_data):
    task, data = task_and_data
    messages = block_messages(task, data, 1, chunk=1024)
    code, details = stream_error(stub, [messages[0], messages[2]])
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "does not follow" in details
    assert missing_set(stub, task.task_id) == {1, 2, 3}


def test_data_past_the_end_of_the_block(stub, task_and_data):
    task, _ = task_and_data
    last = task.block_count - 1  # 10 bytes long
    too_long = pb.UploadPartsRequest(
        task_id=task.task_id, block_index=last, offset=0, data=b"z" * 11, crc32c=1
    )
    code, details = stream_error(stub, [too_long])
    assert code == grpc.StatusCode.OUT_OF_RANGE
    assert "10 bytes" in details
    assert missing_set(stub, task.task_id) == {1, 2, 3}


def test_message_over_the_data_limit_is_invalid(stub: rpc.FerryServiceStub, bystander):
    data = os.urandom(2 * 1024 * KiB)
    task = create(stub, data, "big-message.bin", block_size=2048 * KiB)
    message = pb.UploadPartsRequest(
        task_id=task.task_id, block_index=0, offset=0, data=data[: 1024 * KiB + 1]
    )
    code, details = stream_error(stub, [message])
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "limit" in details
    assert missing_set(stub, task.task_id) == {0}


def test_message_over_the_transport_limit_is_resource_exhausted(stub, bystander):
    data = os.urandom(3 * 1024 * KiB)
    task = create(stub, data, "huge-message.bin", block_size=4096 * KiB)
    message = pb.UploadPartsRequest(task_id=task.task_id, block_index=0, offset=0, data=data)
    code, _ = stream_error(stub, [message])
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert missing_set(stub, task.task_id) == {0}


def test_crc_mismatch_rejects_the_block_and_the_stream_goes_on(
    server: FerryServer, stub, task_and_data
):
    task, data = task_and_data
    messages = (
        block_messages(task, data, 1, corrupt=True)
        + block_messages(task, data, 2)
        + block_messages(task, data, 3)
    )
    acks = list(stub.UploadParts(iter(messages)))
    assert statuses(acks) == {
        1: pb.BLOCK_STATUS_CHECKSUM_MISMATCH,
        2: pb.BLOCK_STATUS_COMMITTED,
        3: pb.BLOCK_STATUS_COMMITTED,
    }
    mismatch = acks[0]
    assert "send the block again" in mismatch.message
    assert missing_set(stub, task.task_id) == {1}
    upload(stub, task, data, [1])
    merge(stub, task.task_id)
    assert (server.settings.resolved_storage_root / "victim.bin").read_bytes() == data


def test_a_corrupt_copy_of_a_committed_block_never_touches_its_bytes(
    server: FerryServer, stub, task_and_data
):
    task, data = task_and_data
    acks = upload(stub, task, data, [1, 2, 3])
    assert len(acks) == 3
    bad = list(stub.UploadParts(iter(block_messages(task, data, 0, corrupt=True))))
    assert bad[0].status == pb.BLOCK_STATUS_CHECKSUM_MISMATCH
    done = merge(stub, task.task_id)
    assert done.state == pb.TASK_STATE_COMPLETED
    assert (server.settings.resolved_storage_root / "victim.bin").read_bytes() == data


def test_block_end_without_a_crc(stub, task_and_data):
    task, data = task_and_data
    messages = block_messages(task, data, 1)
    messages[-1].ClearField("crc32c")
    code, details = stream_error(stub, messages)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "crc32c" in details
    assert missing_set(stub, task.task_id) == {1, 2, 3}


def test_starting_a_block_before_finishing_the_last(stub, task_and_data):
    task, data = task_and_data
    first = block_messages(task, data, 1, chunk=1024)[0]
    second = block_messages(task, data, 2, chunk=1024)[0]
    code, details = stream_error(stub, [first, second])
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "finish a block" in details
    assert missing_set(stub, task.task_id) == {1, 2, 3}


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff",  # truncated varint
        b"\x0a\x05ab",  # task_id longer than the message
        b"\x10" + b"\xff" * 11,  # varint over 10 bytes
        b"\x0a\x02\xc3\x28",  # task_id not UTF-8
        b"\x00\x01",  # field number 0
        b"\x0b",  # group wire type
        b"\x15\x01\x02",  # truncated fixed32 (block_index with the wrong wire type first)
        b"\x25\x01",  # truncated crc32c
    ],
)
def test_unparseable_messages_are_invalid(channel: grpc.Channel, bystander, raw: bytes):
    call = channel.stream_stream(
        "/ferry.v1.FerryService/UploadParts",
        request_serializer=None,
        response_deserializer=pb.UploadPartsResponse.FromString,
    )
    with pytest.raises(grpc.RpcError) as excinfo:
        list(call(iter([raw])))
    code, details = rpc_error(excinfo)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "UploadParts" in details


# -- States ---------------------------------------------------------------------------------


def test_blocks_to_a_paused_task_are_refused_until_resumed(stub, task_and_data):
    task, data = task_and_data
    assert set_state(stub, task.task_id, pb.TASK_STATE_PAUSED).state == pb.TASK_STATE_PAUSED
    code, details = stream_error(stub, block_messages(task, data, 1))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "PAUSED" in details
    assert "resume" in details
    with pytest.raises(grpc.RpcError) as excinfo:
        merge(stub, task.task_id)
    assert rpc_error(excinfo)[0] == grpc.StatusCode.FAILED_PRECONDITION
    set_state(stub, task.task_id, pb.TASK_STATE_UPLOADING)
    assert len(upload(stub, task, data, [1, 2, 3])) == 3
    assert merge(stub, task.task_id).state == pb.TASK_STATE_COMPLETED


def test_blocks_to_a_canceled_task_are_refused_and_its_bytes_deleted(
    server: FerryServer, stub, task_and_data
):
    task, data = task_and_data
    staging = server.settings.staging_dir / task.task_id
    assert staging.exists()
    assert set_state(stub, task.task_id, pb.TASK_STATE_CANCELED).state == pb.TASK_STATE_CANCELED
    assert not staging.exists()
    code, details = stream_error(stub, block_messages(task, data, 1))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "CANCELED" in details


def test_setting_the_current_state_is_a_no_op(stub, task_and_data):
    task, _ = task_and_data
    before = stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task
    after = set_state(stub, task.task_id, pb.TASK_STATE_UPLOADING)
    assert after.state == pb.TASK_STATE_UPLOADING
    assert after.update_time == before.update_time


@pytest.mark.parametrize(
    ("path_to", "then"),
    [
        ([pb.TASK_STATE_CANCELED], pb.TASK_STATE_UPLOADING),
        ([pb.TASK_STATE_CANCELED], pb.TASK_STATE_PAUSED),
        (["merge"], pb.TASK_STATE_PAUSED),
        (["merge"], pb.TASK_STATE_CANCELED),
        (["merge"], pb.TASK_STATE_UPLOADING),
    ],
)
def test_illegal_transitions_fail_the_precondition(stub, task_and_data, path_to, then):
    task, data = task_and_data
    for step in path_to:
        if step == "merge":
            upload(stub, task, data, [1, 2, 3])
            merge(stub, task.task_id)
        else:
            set_state(stub, task.task_id, step)
    before = stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task
    with pytest.raises(grpc.RpcError) as excinfo:
        set_state(stub, task.task_id, then)
    code, details = rpc_error(excinfo)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "cannot become" in details
    assert stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task == before


@pytest.mark.parametrize("target", [pb.TASK_STATE_UNSPECIFIED, pb.TASK_STATE_COMPLETED, 99])
def test_unsettable_target_states_are_invalid(stub, task_and_data, target):
    task, _ = task_and_data
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.SetState(pb.SetStateRequest(task_id=task.task_id, state=target))
    assert rpc_error(excinfo)[0] == grpc.StatusCode.INVALID_ARGUMENT


# -- Merge ----------------------------------------------------------------------------------


def test_merge_with_missing_blocks_names_them(stub: rpc.FerryServiceStub, bystander):
    data = os.urandom(8 * 64 * KiB)
    task = create(stub, data, "holes.bin", block_size=64 * KiB)
    upload(stub, task, data, [0, 3, 4, 6])
    with pytest.raises(grpc.RpcError) as excinfo:
        merge(stub, task.task_id)
    code, details = rpc_error(excinfo)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "4 of 8 blocks missing" in details
    assert "1-2, 5, 7" in details
    assert missing(stub, task.task_id) == [(1, 3), (5, 6), (7, 8)]


def test_whole_file_hash_mismatch_is_data_loss_and_fails_the_task(
    server: FerryServer, stub: rpc.FerryServiceStub, bystander
):
    data = os.urandom(3 * 64 * KiB)
    task = create(stub, data, "liar.bin", block_size=64 * KiB, sha256="ab" * 32)
    upload(stub, task, data)
    for _ in range(2):  # and again: the same answer
        with pytest.raises(grpc.RpcError) as excinfo:
            merge(stub, task.task_id)
        code, details = rpc_error(excinfo)
        assert code == grpc.StatusCode.DATA_LOSS
        assert "SHA-256 mismatch" in details
        assert hashlib.sha256(data).hexdigest() in details
    failed = stub.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task
    assert failed.state == pb.TASK_STATE_FAILED
    assert "mismatch" in failed.failure_reason
    assert not (server.settings.resolved_storage_root / "liar.bin").exists()
    assert not (server.settings.staging_dir / task.task_id).exists()


# -- CreateTask -----------------------------------------------------------------------------


def test_size_over_the_maximum_is_out_of_range(server: FerryServer, stub, bystander):
    limit = server.settings.max_file_size
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.CreateTask(pb.CreateTaskRequest(file_name="x", size=limit + 1, store_path="x.bin"))
    code, details = rpc_error(excinfo)
    assert code == grpc.StatusCode.OUT_OF_RANGE
    assert str(limit) in details
    assert len(list(server.settings.staging_dir.iterdir())) == 1  # the bystander's


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("block_size", 100 * KiB, "multiple"),
        ("block_size", 32 * KiB, "bounds"),
        ("block_size", 8192 * KiB, "bounds"),
        ("sha256", "xyz", "hexadecimal"),
        ("sha256", "a" * 63, "hexadecimal"),
        ("file_name", "", "file_name"),
        ("file_name", "a\nb", "control"),
    ],
)
def test_bad_declarations_are_invalid(server: FerryServer, stub, bystander, field, value, words):
    request = pb.CreateTaskRequest(file_name="ok.bin", size=10, store_path="ok.bin")
    setattr(request, field, value)
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.CreateTask(request)
    code, details = rpc_error(excinfo)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert words in details
    assert len(list(server.settings.staging_dir.iterdir())) == 1


def test_oversized_metadata_is_invalid(stub, bystander):
    request = pb.CreateTaskRequest(
        file_name="m", size=1, store_path="m.bin", metadata={"k": "v" * 20000}
    )
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.CreateTask(request)
    assert rpc_error(excinfo)[0] == grpc.StatusCode.INVALID_ARGUMENT


HOSTILE_STORE_PATHS = [
    "../x",
    "../../etc/passwd",
    "/etc/passwd",
    "a/../../b",
    "a/../b",
    "./a",
    "a/./b",
    "a//b",
    "a/",
    "",
    ".",
    "..",
    "a\x00b",
    "a\nb",
    "a\x7fb",
    "\\windows\\system32",
    "a\\..\\b",
    "x" * 256,
    "a/" * 600 + "b",
    "outside-link/escape.bin",
    "outside-link",
    "dir-link/../x",
    "existing-dir",
    "a-file/child.bin",
]


@pytest.mark.parametrize("store_path", HOSTILE_STORE_PATHS)
def test_hostile_store_paths_are_refused_before_anything_is_written(
    server: FerryServer, stub, bystander, tmp_path: Path, store_path: str
):
    root = server.settings.resolved_storage_root
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (root / "outside-link").symlink_to(outside)
    (root / "existing-dir").mkdir()
    (root / "a-file").write_bytes(b"")
    before_root = sorted(p.relative_to(root) for p in root.rglob("*"))
    before_staging = sorted(server.settings.staging_dir.iterdir())
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.CreateTask(pb.CreateTaskRequest(file_name="x", size=1, store_path=store_path))
    code, details = rpc_error(excinfo)
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert "store_path" in details
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before_root
    assert sorted(server.settings.staging_dir.iterdir()) == before_staging
    assert list(outside.iterdir()) == []


def test_a_symlink_planted_after_create_is_refused_at_merge(
    server: FerryServer, stub, bystander, tmp_path: Path
):
    root = server.settings.resolved_storage_root
    data = os.urandom(1000)
    task = create(stub, data, "later/file.bin")
    upload(stub, task, data)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "later").symlink_to(outside)
    with pytest.raises(grpc.RpcError) as excinfo:
        merge(stub, task.task_id)
    code, details = rpc_error(excinfo)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "outside the storage root" in details
    assert list(outside.iterdir()) == []


def test_a_second_active_task_for_a_store_path_already_exists(stub, bystander):
    data = os.urandom(1000)
    first = create(stub, data, "taken.bin")
    with pytest.raises(grpc.RpcError) as excinfo:
        create(stub, os.urandom(1000), "taken.bin")
    code, details = rpc_error(excinfo)
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert first.task_id in details
    # The task is named as structured metadata too, for programs.
    assert ("ferry-task-id", first.task_id) in excinfo.value.trailing_metadata()
    assert missing_set(stub, first.task_id) == {0}


def test_an_existing_file_already_exists_without_overwrite(server: FerryServer, stub, bystander):
    target = server.settings.resolved_storage_root / "exists.bin"
    target.write_bytes(b"keep me")
    with pytest.raises(grpc.RpcError) as excinfo:
        create(stub, b"new", "exists.bin")
    code, details = rpc_error(excinfo)
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert "overwrite" in details
    assert target.read_bytes() == b"keep me"


def test_a_file_appearing_before_merge_is_not_clobbered(server: FerryServer, stub, bystander):
    data = os.urandom(1000)
    task = create(stub, data, "race.bin")
    upload(stub, task, data)
    target = server.settings.resolved_storage_root / "race.bin"
    target.write_bytes(b"someone else's")
    with pytest.raises(grpc.RpcError) as excinfo:
        merge(stub, task.task_id)
    assert rpc_error(excinfo)[0] == grpc.StatusCode.ALREADY_EXISTS
    assert target.read_bytes() == b"someone else's"
    target.unlink()
    assert merge(stub, task.task_id).state == pb.TASK_STATE_COMPLETED
    assert target.read_bytes() == data
