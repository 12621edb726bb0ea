"""Identity on a real server (both databases): authentication by service token, every attack
of issue 10 by one principal on another's task refused with nothing changed, upload tokens,
prefixes, the operator role, and the principals file's reload and revocation."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer
from ferry_server.config import Settings
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from tests.support.identity import Entry, token_stub, write_principals
from tests.support.protocol import block_messages, create, missing_set, reason_of, upload

ALICE = Entry("alice", ["create", "upload", "read", "control", "overwrite"], ["alice", "shared"])
BOB = Entry("bob", ["create", "upload", "read", "control", "overwrite"], ["bob", "shared"])
#: May write in shared/ but not replace files.
CAROL = Entry("carol", ["create", "upload", "read", "control"], ["shared"])
OPS = Entry("ops", ["operator"], [])
READER = Entry("reader", ["read"], [""])
EVERYONE = [ALICE, BOB, CAROL, OPS, READER]


@pytest.fixture
def principals_file(tmp_path: Path) -> Path:
    path = tmp_path / "principals.toml"
    write_principals(path, EVERYONE)
    return path


@pytest.fixture
def settings(settings: Settings, principals_file: Path) -> Settings:
    return settings.replace(principals_file=principals_file)


@pytest.fixture
def stubs(server: FerryServer) -> Iterator[dict[str, rpc.FerryServiceStub]]:
    with (
        token_stub(server.address, ALICE.token) as alice,
        token_stub(server.address, BOB.token) as bob,
        token_stub(server.address, CAROL.token) as carol,
        token_stub(server.address, OPS.token) as ops,
        token_stub(server.address, READER.token) as reader,
        token_stub(server.address, None) as nobody,
    ):
        yield {"alice": alice, "bob": bob, "carol": carol, "ops": ops, "reader": reader,
               "nobody": nobody}  # fmt: skip


def refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def shape(error: grpc.RpcError, task_id: str) -> tuple[object, ...]:
    """Everything a caller sees of an error, with the id it asked about blanked out."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    trailers = sorted(
        (k, v if isinstance(v, str) else "<bin>")
        for k, v in error.trailing_metadata()  # type: ignore[attr-defined]
        if k != "grpc-status-details-bin"
    )
    return (
        error.code(),
        error.details().replace(task_id, "<id>"),  # type: ignore[union-attr]
        tuple(d.type_url for d in status.details),
        tuple(trailers),
    )


def expect(call: Callable[[], object], code: grpc.StatusCode, reason: str) -> grpc.RpcError:
    error = refusal(call)
    assert error.code() == code, error.details()
    assert reason_of(error) == reason
    return error


def alices_task(alice: rpc.FerryServiceStub) -> tuple[pb.Task, bytes]:
    """A task of alice's with blocks 0 and 2 of 4 committed."""
    data = os.urandom(4 * 64 * 1024)
    task = create(alice, data, "shared/victim.bin", block_size=64 * 1024)
    upload(alice, task, data, [0, 2])
    return task, data


def snapshot(alice: rpc.FerryServiceStub, task: pb.Task) -> tuple[object, ...]:
    now = alice.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task
    return (
        now.state,
        now.committed_bytes,
        now.update_time.ToDatetime(),
        missing_set(alice, task.task_id),
    )


# -- authentication ----------------------------------------------------------------------------


def test_calls_without_good_credentials_are_unauthenticated_and_health_stays_open(
    server: FerryServer, stubs: dict[str, rpc.FerryServiceStub]
) -> None:
    request = pb.GetTaskRequest(task_id="0" * 32)
    expect(lambda: stubs["nobody"].GetTask(request), grpc.StatusCode.UNAUTHENTICATED,
           "UNAUTHENTICATED")  # fmt: skip
    for metadata in (
        [("authorization", "Bearer fst_not-a-token")],
        [("authorization", f"Basic {ALICE.token}")],
        [("authorization", "Bearer ")],
        [("authorization", f"Bearer {ALICE.token}"), ("authorization", f"Bearer {BOB.token}")],
        [("authorization", "Bearer fut_no-such-upload-token")],
    ):
        error = expect(
            lambda m=metadata: stubs["nobody"].GetTask(request, metadata=m),  # type: ignore[misc]
            grpc.StatusCode.UNAUTHENTICATED,
            "UNAUTHENTICATED",
        )
        assert ALICE.token not in (error.details() or "")
    # Every RPC, the stream included, asks for credentials.
    upload_error = refusal(lambda: list(stubs["nobody"].UploadParts(iter([]))))
    assert upload_error.code() == grpc.StatusCode.UNAUTHENTICATED
    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service="ferry.v1.FerryService"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_refusals_are_logged_once_with_the_principal_never_the_token(
    stubs: dict[str, rpc.FerryServiceStub], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ferry.auth")
    refusal(lambda: stubs["carol"].CreateTask(
        pb.CreateTaskRequest(file_name="f", size=1, store_path="bob/f")))  # fmt: skip
    lines = [r for r in caplog.records if r.name == "ferry.auth"]
    assert len(lines) == 1
    assert lines[0].levelno == logging.WARNING
    assert "carol" in lines[0].getMessage()
    assert "PERMISSION_DENIED" in lines[0].getMessage()
    for entry in EVERYONE:
        assert entry.token not in caplog.text


# -- isolation: each attack of issue 10 -------------------------------------------------------


def test_store_path_taken_by_another_principal_names_no_task(
    stubs: dict[str, rpc.FerryServiceStub],
) -> None:
    task, data = alices_task(stubs["alice"])
    before = snapshot(stubs["alice"], task)
    # The same file, the same store_path: another principal does not resume alice's task.
    for sha256 in (hashlib.sha256(data).hexdigest(), "", "0" * 64):
        error = expect(
            lambda s=sha256: create(stubs["bob"], data, "shared/victim.bin",  # type: ignore[misc]
                                    block_size=64 * 1024, sha256=s),
            grpc.StatusCode.ALREADY_EXISTS,
            "STORE_PATH_TAKEN",
        )  # fmt: skip
        assert task.task_id not in (error.details() or "")
        trailers = dict(error.trailing_metadata())  # type: ignore[attr-defined]
        assert "ferry-task-id" not in trailers
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        assert status is not None
        assert task.task_id.encode() not in status.SerializeToString()
    assert snapshot(stubs["alice"], task) == before


@pytest.mark.parametrize(
    "attack",
    ["GetTask", "QueryMissingBlocks", "pause", "cancel", "UploadParts", "Merge",
     "IssueUploadToken"],
)  # fmt: skip
def test_another_principals_task_answers_exactly_as_an_unknown_id(
    stubs: dict[str, rpc.FerryServiceStub], attack: str
) -> None:
    task, data = alices_task(stubs["alice"])
    before = snapshot(stubs["alice"], task)
    bob = stubs["bob"]
    unknown = os.urandom(16).hex()

    def forged(task_id: str) -> list[pb.UploadPartsRequest]:
        shell = pb.Task(task_id=task_id, block_size=64 * 1024, block_count=4)
        return block_messages(shell, os.urandom(len(data)), 1)

    def attempt(task_id: str) -> grpc.RpcError:
        calls: dict[str, Callable[[], object]] = {
            "GetTask": lambda: bob.GetTask(pb.GetTaskRequest(task_id=task_id)),
            "QueryMissingBlocks": lambda: bob.QueryMissingBlocks(
                pb.QueryMissingBlocksRequest(task_id=task_id, include_committed_crc32c=True)
            ),
            "pause": lambda: bob.SetState(
                pb.SetStateRequest(task_id=task_id, state=pb.TASK_STATE_PAUSED)
            ),
            "cancel": lambda: bob.SetState(
                pb.SetStateRequest(task_id=task_id, state=pb.TASK_STATE_CANCELED)
            ),
            # Blocks that would make alice's Merge fail if they were taken.
            "UploadParts": lambda: list(
                bob.UploadParts(
                    iter(
                        block_messages(
                            pb.Task(task_id=task_id, block_size=64 * 1024, block_count=4),
                            os.urandom(len(data)),
                            1,
                        )
                    )
                )
            ),
            "Merge": lambda: bob.Merge(pb.MergeRequest(task_id=task_id)),
            "IssueUploadToken": lambda: bob.IssueUploadToken(
                pb.IssueUploadTokenRequest(task_id=task_id)
            ),
        }
        return expect(calls[attack], grpc.StatusCode.NOT_FOUND, "TASK_NOT_FOUND")

    assert shape(attempt(task.task_id), task.task_id) == shape(attempt(unknown), unknown)
    assert snapshot(stubs["alice"], task) == before
    # Alice's upload is untouched: she finishes it, and it verifies.
    upload(stubs["alice"], task, data, [1, 3])
    done = stubs["alice"].Merge(pb.MergeRequest(task_id=task.task_id)).task
    assert done.state == pb.TASK_STATE_COMPLETED


def upload_file(
    stub: rpc.FerryServiceStub, store_path: str, data: bytes, *, overwrite: bool = False
) -> pb.UploadFileResponse:
    return stub.UploadFile(
        pb.UploadFileRequest(
            file_name="f", store_path=store_path, data=data, overwrite=overwrite,
            crc32c=google_crc32c.value(data),
        )
    )  # fmt: skip


def test_upload_file_neither_replaces_nor_reveals_another_principals_files(
    server: FerryServer, stubs: dict[str, rpc.FerryServiceStub]
) -> None:
    published = os.urandom(1000)
    upload_file(stubs["alice"], "alice/report.pdf", published)
    upload_file(stubs["alice"], "shared/report.pdf", published)
    root = server.settings.resolved_storage_root
    # Outside bob's prefixes: the same refusal whether a file is there or not, and whatever
    # bytes are sent (the real ones included).
    shapes = set()
    for path in ("alice/report.pdf", "alice/nothing-here.pdf"):
        for data, overwrite in ((published, False), (b"forged", True), (b"forged", False)):
            error = expect(lambda p=path, d=data, o=overwrite: upload_file(  # type: ignore[misc]
                stubs["bob"], p, d, overwrite=o), grpc.StatusCode.PERMISSION_DENIED,
                "PERMISSION_DENIED")  # fmt: skip
            shapes.add(shape(error, path))
    assert len(shapes) == 1
    # In a shared prefix, without the overwrite permission: refused before anything is read.
    expect(lambda: upload_file(stubs["carol"], "shared/report.pdf", b"forged", overwrite=True),
           grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")  # fmt: skip
    # The same bytes sent again by another principal do not hand out alice's task.
    again = upload_file(stubs["carol"], "shared/report.pdf", published)
    assert again.task.task_id != ""
    alice_task = upload_file(stubs["alice"], "shared/report.pdf", published).task
    assert again.task.task_id != alice_task.task_id
    expect(lambda: stubs["carol"].GetTask(pb.GetTaskRequest(task_id=alice_task.task_id)),
           grpc.StatusCode.NOT_FOUND, "TASK_NOT_FOUND")  # fmt: skip
    assert (root / "alice/report.pdf").read_bytes() == published
    assert (root / "shared/report.pdf").read_bytes() == published
    assert not (root / "alice/nothing-here.pdf").exists()


def test_service_token_outside_its_prefixes_is_permission_denied(
    stubs: dict[str, rpc.FerryServiceStub],
) -> None:
    for path in ("bob/f.bin", "alicex/f.bin", "f.bin", "sharedfoo/f.bin"):
        error = expect(
            lambda p=path: create(stubs["alice"], b"x" * 10, p),  # type: ignore[misc]
            grpc.StatusCode.PERMISSION_DENIED,
            "PERMISSION_DENIED",
        )
        assert "alice" in (error.details() or "")
    assert create(stubs["alice"], b"x" * 10, "alice/deep/f.bin").state == pb.TASK_STATE_UPLOADING
    # A principal with "read" only declares nothing, anywhere.
    expect(lambda: create(stubs["reader"], b"x", "anything.bin"),
           grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")  # fmt: skip


# -- upload tokens -----------------------------------------------------------------------------


def test_upload_token_reaches_its_task_and_nothing_else(
    server: FerryServer, stubs: dict[str, rpc.FerryServiceStub]
) -> None:
    alice = stubs["alice"]
    data = os.urandom(3 * 64 * 1024 + 5)
    reply = alice.CreateTask(
        pb.CreateTaskRequest(
            file_name="up.bin", size=len(data), sha256=hashlib.sha256(data).hexdigest(),
            store_path="alice/up.bin", block_size=64 * 1024, issue_upload_token=True,
        )
    )  # fmt: skip
    task, token = reply.task, reply.upload_token
    assert token.startswith("fut_")
    assert reply.upload_token_expire_time.ToDatetime(tzinfo=UTC) > datetime.now(UTC)
    other, _ = alices_task(alice)
    with token_stub(server.address, token) as uploader:
        upload(uploader, task, data, [0, 1])
        assert missing_set(uploader, task.task_id) == {2, 3}
        assert (
            uploader.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.task_id == task.task_id
        )
        # Nothing else: another task of the same principal reads as unknown...
        for call in (
            lambda: uploader.GetTask(pb.GetTaskRequest(task_id=other.task_id)),
            lambda: uploader.Merge(pb.MergeRequest(task_id=other.task_id)),
            lambda: list(
                uploader.UploadParts(iter(block_messages(other, os.urandom(4 * 64 * 1024), 1)))
            ),
        ):
            expect(call, grpc.StatusCode.NOT_FOUND, "TASK_NOT_FOUND")
        # ...and it declares nothing, controls nothing, issues no tokens.
        for call in (
            lambda: create(uploader, b"x", "alice/new.bin"),
            lambda: upload_file(uploader, "alice/new.bin", b"x"),
            lambda: uploader.SetState(pb.SetStateRequest(task_id=task.task_id,
                                                         state=pb.TASK_STATE_CANCELED)),
            lambda: uploader.IssueUploadToken(pb.IssueUploadTokenRequest(task_id=task.task_id)),
        ):  # fmt: skip
            expect(call, grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
        upload(uploader, task, data, [2, 3])
        done = uploader.Merge(pb.MergeRequest(task_id=task.task_id)).task
    assert done.state == pb.TASK_STATE_COMPLETED
    assert (server.settings.resolved_storage_root / "alice/up.bin").read_bytes() == data
    assert alice.GetTask(pb.GetTaskRequest(task_id=other.task_id)).task.committed_bytes == (
        2 * 64 * 1024
    )


def test_expired_upload_token_is_token_expired_and_a_new_one_continues(
    server: FerryServer, stubs: dict[str, rpc.FerryServiceStub]
) -> None:
    alice = stubs["alice"]
    task, data = alices_task(alice)
    issued = alice.IssueUploadToken(pb.IssueUploadTokenRequest(task_id=task.task_id,
                                                               ttl_seconds=1))  # fmt: skip
    expires = issued.expire_time.ToDatetime(tzinfo=UTC)
    # A request asks at most the server's limit.
    capped = alice.IssueUploadToken(
        pb.IssueUploadTokenRequest(task_id=task.task_id, ttl_seconds=10**9)
    ).expire_time.ToDatetime(tzinfo=UTC)
    assert (capped - datetime.now(UTC)).total_seconds() <= server.settings.upload_token_ttl_seconds
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.05)
    with token_stub(server.address, issued.upload_token) as late:
        error = expect(lambda: list(late.UploadParts(iter(block_messages(task, data, 1)))),
                       grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")  # fmt: skip
        assert "expired" in (error.details() or "")
        expect(lambda: late.GetTask(pb.GetTaskRequest(task_id=task.task_id)),
               grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")  # fmt: skip
    assert missing_set(alice, task.task_id) == {1, 3}
    fresh = alice.IssueUploadToken(pb.IssueUploadTokenRequest(task_id=task.task_id))
    with token_stub(server.address, fresh.upload_token) as uploader:
        upload(uploader, task, data, [1, 3])
        assert uploader.Merge(pb.MergeRequest(task_id=task.task_id)).task.state == (
            pb.TASK_STATE_COMPLETED
        )
    # A finished task gets no more tokens.
    expect(lambda: alice.IssueUploadToken(pb.IssueUploadTokenRequest(task_id=task.task_id)),
           grpc.StatusCode.FAILED_PRECONDITION, "TASK_NOT_UPLOADING")  # fmt: skip


# -- operator ----------------------------------------------------------------------------------


def test_operator_reads_pauses_and_cancels_any_task_but_writes_nothing(
    stubs: dict[str, rpc.FerryServiceStub],
) -> None:
    ops, alice = stubs["ops"], stubs["alice"]
    task, data = alices_task(alice)
    assert ops.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.task_id == task.task_id
    paused = ops.SetState(pb.SetStateRequest(task_id=task.task_id, state=pb.TASK_STATE_PAUSED))
    assert paused.task.state == pb.TASK_STATE_PAUSED
    for call in (
        lambda: create(ops, b"x", "ops.bin"),
        lambda: list(ops.UploadParts(iter(block_messages(task, data, 1)))),
        lambda: ops.Merge(pb.MergeRequest(task_id=task.task_id)),
    ):
        expect(call, grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
    cancelled = ops.SetState(pb.SetStateRequest(task_id=task.task_id,
                                                state=pb.TASK_STATE_CANCELED))  # fmt: skip
    assert cancelled.task.state == pb.TASK_STATE_CANCELED
    assert alice.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.state == (
        pb.TASK_STATE_CANCELED
    )
    # A reader (no operator) sees its own tasks only, and controls none.
    expect(lambda: stubs["reader"].GetTask(pb.GetTaskRequest(task_id=task.task_id)),
           grpc.StatusCode.NOT_FOUND, "TASK_NOT_FOUND")  # fmt: skip


# -- reload and revocation ---------------------------------------------------------------------


def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for ``condition`` (the principals file is looked at once a second)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)


def test_principals_file_reload_revokes_and_adds_tokens(
    server: FerryServer, principals_file: Path, stubs: dict[str, rpc.FerryServiceStub]
) -> None:
    bob = stubs["bob"]
    assert create(bob, b"x" * 10, "bob/one.bin").state == pb.TASK_STATE_UPLOADING
    dave = Entry("dave", ["create"], ["dave"])

    def bob_refused() -> bool:
        try:
            bob.GetTask(pb.GetTaskRequest(task_id="0" * 32))
        except grpc.RpcError as exc:
            return exc.code() == grpc.StatusCode.UNAUTHENTICATED
        raise AssertionError("an unknown id cannot succeed")

    write_principals(principals_file, [e for e in EVERYONE if e is not BOB] + [dave])
    eventually(bob_refused, "bob's removed token refused")
    with token_stub(server.address, dave.token) as dave_stub:
        assert create(dave_stub, b"y", "dave/y.bin").state == pb.TASK_STATE_UPLOADING
        # A malformed edit keeps the last good file in force (and logs an ERROR).
        write_principals(principals_file, [dave], extra="[[token]\nbroken")
        server.reload_credentials()
        assert create(dave_stub, b"z", "dave/z.bin").state == pb.TASK_STATE_UPLOADING
        # SIGHUP (reload_credentials) takes effect at once.
        write_principals(principals_file, [ALICE])
        server.reload_credentials()
        expect(lambda: create(dave_stub, b"w", "dave/w.bin"), grpc.StatusCode.UNAUTHENTICATED,
               "UNAUTHENTICATED")  # fmt: skip


# -- ReadFile ----------------------------------------------------------------------------------


def read(stub: rpc.FerryServiceStub, **request: str) -> bytes:
    return b"".join(m.data for m in stub.ReadFile(pb.ReadFileRequest(**request)))


def test_read_file_reaches_only_the_callers_own_files(
    stubs: dict[str, rpc.FerryServiceStub],
) -> None:
    secret = os.urandom(2000)
    published = upload_file(stubs["alice"], "shared/secret.bin", secret).task
    upload_file(stubs["alice"], "alice/private.bin", secret)
    assert read(stubs["alice"], store_path="shared/secret.bin") == secret
    assert read(stubs["alice"], task_id=published.task_id) == secret
    bob = stubs["bob"]
    # By task id: another principal's task reads as an unknown one.
    unknown = os.urandom(16).hex()
    theirs = expect(lambda: read(bob, task_id=published.task_id), grpc.StatusCode.NOT_FOUND,
                    "TASK_NOT_FOUND")  # fmt: skip
    nothing = expect(lambda: read(bob, task_id=unknown), grpc.StatusCode.NOT_FOUND,
                     "TASK_NOT_FOUND")  # fmt: skip
    assert shape(theirs, published.task_id) == shape(nothing, unknown)
    # By store_path in a shared prefix: another principal's file reads as no file at all.
    there = expect(lambda: read(bob, store_path="shared/secret.bin"), grpc.StatusCode.NOT_FOUND,
                   "FILE_NOT_FOUND")  # fmt: skip
    absent = expect(lambda: read(bob, store_path="shared/absent.bin"), grpc.StatusCode.NOT_FOUND,
                    "FILE_NOT_FOUND")  # fmt: skip
    assert shape(there, "shared/secret.bin") == shape(absent, "shared/absent.bin")
    assert published.task_id not in (there.details() or "")
    # Outside the caller's prefixes: refused before anything is looked up.
    for path in ("alice/private.bin", "alice/absent.bin"):
        expect(lambda p=path: read(bob, store_path=p), grpc.StatusCode.PERMISSION_DENIED,  # type: ignore[misc]
               "PERMISSION_DENIED")  # fmt: skip


def test_watch_task_follows_only_the_callers_own_tasks_or_any_for_an_operator(
    stubs: dict[str, rpc.FerryServiceStub],
) -> None:
    task, _ = alices_task(stubs["alice"])
    unknown = os.urandom(16).hex()

    def first(stub: rpc.FerryServiceStub, task_id: str) -> pb.Task:
        stream = stub.WatchTask(pb.WatchTaskRequest(task_id=task_id))
        try:
            return next(iter(stream)).task
        finally:
            stream.cancel()

    assert first(stubs["alice"], task.task_id).task_id == task.task_id
    assert first(stubs["ops"], task.task_id).task_id == task.task_id
    theirs = expect(lambda: first(stubs["bob"], task.task_id), grpc.StatusCode.NOT_FOUND,
                    "TASK_NOT_FOUND")  # fmt: skip
    nothing = expect(lambda: first(stubs["bob"], unknown), grpc.StatusCode.NOT_FOUND,
                     "TASK_NOT_FOUND")  # fmt: skip
    assert shape(theirs, task.task_id) == shape(nothing, unknown)
