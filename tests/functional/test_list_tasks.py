"""ListTasks and GetStats on a real server (both databases): every filter, both orders, keyset
pages that stay stable while tasks are created, hostile page tokens and filters, isolation
between principals, and the client library's and CLI's listing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import FerryClient, TaskState
from ferry_client.cli import main as ferry_main
from ferry_server.app import FerryServer
from ferry_server.config import Settings
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support.identity import Entry, token_stub, write_principals
from tests.support.protocol import KiB, create, upload

ALICE = Entry("alice", ["create", "upload", "read", "control"], ["alice"])
BOB = Entry("bob", ["create", "upload", "read", "control"], ["bob"])
OPS = Entry("ops", ["operator", "read"], [])


def listed(stub: rpc.FerryServiceStub, **fields: object) -> list[pb.Task]:
    """Every task of a listing, following next_page_token."""
    request = pb.ListTasksRequest(**fields)  # type: ignore[arg-type]
    tasks: list[pb.Task] = []
    while True:
        page = stub.ListTasks(request)
        tasks.extend(page.tasks)
        if not page.next_page_token:
            return tasks
        request.page_token = page.next_page_token


def paths(tasks: list[pb.Task]) -> list[str]:
    return [t.store_path for t in tasks]


def refused(call: object, request: object) -> tuple[grpc.StatusCode, str, str]:
    """The code, reason and field of a refused call."""
    with pytest.raises(grpc.RpcError) as info:
        call(request)  # type: ignore[operator]
    status = rpc_status.from_call(info.value)  # type: ignore[arg-type]
    assert status is not None
    reason = field = ""
    for detail in status.details:
        error_info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(error_info):
            reason = error_info.reason
        elif detail.Unpack(bad) and bad.field_violations:
            field = bad.field_violations[0].field
    return info.value.code(), reason, field  # type: ignore[attr-defined]


def published(stub: rpc.FerryServiceStub, store_path: str, data: bytes) -> pb.Task:
    reply = stub.UploadFile(
        pb.UploadFileRequest(file_name="f", store_path=store_path, data=data,
                             crc32c=google_crc32c.value(data))
    )  # fmt: skip
    return reply.task


def test_filters_select_tasks_by_state_prefix_metadata_and_creation_time(
    stub: rpc.FerryServiceStub,
) -> None:
    first = create(stub, bytes(10), "docs/a.bin", metadata={"order": "1", 'we"ird key': "x=y"})
    middle = datetime.now(UTC)
    create(stub, bytes(20), "docs/b.bin", metadata={"order": "2"})
    create(stub, bytes(30), "Docs/c.bin", metadata={"order": "1"})
    canceled = create(stub, bytes(40), "docs/d.bin")
    stub.SetState(pb.SetStateRequest(task_id=canceled.task_id, state=pb.TASK_STATE_CANCELED))
    published(stub, "docs/e.bin", b"hello")

    assert paths(listed(stub)) == ["docs/e.bin", "docs/d.bin", "Docs/c.bin", "docs/b.bin",
                                   "docs/a.bin"]  # fmt: skip
    # A prefix is plain and case-sensitive (SQLite's LIKE would ignore the case).
    assert paths(listed(stub, store_path_prefix="docs/")) == [
        "docs/e.bin", "docs/d.bin", "docs/b.bin", "docs/a.bin"
    ]  # fmt: skip
    assert paths(listed(stub, store_path_prefix="do%")) == []
    assert paths(listed(stub, states=[pb.TASK_STATE_CANCELED, pb.TASK_STATE_COMPLETED])) == [
        "docs/e.bin", "docs/d.bin"
    ]  # fmt: skip
    assert paths(listed(stub, metadata=["order=1"])) == ["Docs/c.bin", "docs/a.bin"]
    assert paths(listed(stub, metadata=["order=1", 'we"ird key=x=y'])) == ["docs/a.bin"]
    assert paths(listed(stub, metadata=["order=3"])) == []
    after = Timestamp()
    after.FromDatetime(middle)
    newer = listed(stub, created_after=after)
    assert first.task_id not in {t.task_id for t in newer} and len(newer) == 4
    assert paths(listed(stub, created_before=after)) == ["docs/a.bin"]
    assert paths(listed(stub, order_by="create_time", states=[pb.TASK_STATE_UPLOADING])) == [
        "docs/a.bin", "docs/b.bin", "Docs/c.bin"
    ]  # fmt: skip
    # Entries are whole tasks, committed bytes included.
    done = listed(stub, states=[pb.TASK_STATE_COMPLETED])[0]
    assert (done.size, done.committed_bytes, done.sha256) == (5, 5, done.sha256)


@pytest.mark.parametrize("order_by", ["", "create_time"])
def test_pages_stay_stable_while_tasks_are_created(
    stub: rpc.FerryServiceStub, order_by: str
) -> None:
    before = [create(stub, bytes(1), f"p/{n:02}.bin").task_id for n in range(25)]
    first = stub.ListTasks(pb.ListTasksRequest(page_size=10, order_by=order_by))
    assert len(first.tasks) == 10 and first.next_page_token
    later = [create(stub, bytes(1), f"q/{n:02}.bin").task_id for n in range(5)]
    seen = [t.task_id for t in first.tasks]
    token = first.next_page_token
    while token:
        page = stub.ListTasks(pb.ListTasksRequest(page_size=10, order_by=order_by,
                                                  page_token=token))  # fmt: skip
        seen.extend(t.task_id for t in page.tasks)
        token = page.next_page_token
    assert len(seen) == len(set(seen))
    if order_by:  # oldest first: the new tasks come at the end
        assert seen == before + later
    else:  # newest first: the new tasks are newer than the first page, so not in this listing
        assert seen == before[::-1]


def test_hostile_requests_are_invalid_arguments_naming_the_field(
    stub: rpc.FerryServiceStub,
) -> None:
    for n in range(3):
        create(stub, bytes(1), f"h/{n}.bin")
    token = stub.ListTasks(pb.ListTasksRequest(page_size=1)).next_page_token
    forged = base64.urlsafe_b64encode(b'{"v":1,"f":"0","t":"x","i":"y"}').decode()
    nested = base64.urlsafe_b64encode(b"[" * 100_000).decode()
    stamp = Timestamp(seconds=2**62)
    cases = [
        (pb.ListTasksRequest(page_size=-1), "page_size"),
        (pb.ListTasksRequest(order_by="size desc"), "order_by"),
        (pb.ListTasksRequest(order_by="create_time; drop table ferry_tasks"), "order_by"),
        (pb.ListTasksRequest(states=[pb.TASK_STATE_UNSPECIFIED]), "states"),
        (pb.ListTasksRequest(states=[99]), "states"),  # type: ignore[list-item]
        (pb.ListTasksRequest(metadata=["no-equals"]), "metadata"),
        (pb.ListTasksRequest(metadata=["=v"]), "metadata"),
        (pb.ListTasksRequest(store_path_prefix="h/\u202e"), "store_path_prefix"),
        (pb.ListTasksRequest(store_path_prefix="h/\x00"), "store_path_prefix"),
        (pb.ListTasksRequest(metadata=["k=\x00"]), "metadata"),
        (pb.ListTasksRequest(created_after=stamp), "created_after"),
        (pb.ListTasksRequest(page_token="garbage!"), "page_token"),
        (pb.ListTasksRequest(page_token=forged), "page_token"),
        (pb.ListTasksRequest(page_token=nested), "page_token"),
        (pb.ListTasksRequest(page_token=token[:-3]), "page_token"),
        # A token is bound to the filters and order it was issued for.
        (pb.ListTasksRequest(page_token=token, order_by="create_time"), "page_token"),
        (pb.ListTasksRequest(page_token=token, store_path_prefix="h/"), "page_token"),
    ]
    later, earlier = Timestamp(seconds=2_000_000_000), Timestamp(seconds=1_000_000_000)
    cases.append((pb.ListTasksRequest(created_after=later, created_before=earlier),
                  "created_after"))  # fmt: skip
    for request, field in cases:
        code, reason, named = refused(stub.ListTasks, request)
        assert (code, reason, named) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD",
                                         field), request  # fmt: skip
    # The same token with its own listing still works: nothing was changed by the refusals.
    assert len(stub.ListTasks(pb.ListTasksRequest(page_size=1, page_token=token)).tasks) == 1


def test_stats_count_states_and_bytes(stub: rpc.FerryServiceStub) -> None:
    data = bytes(range(256)) * 1024  # 256 KiB: 4 blocks of 64 KiB
    task = create(stub, data, "s/staged.bin", block_size=64 * KiB)
    upload(stub, task, data, [0, 1])
    canceled = create(stub, bytes(7), "s/canceled.bin")
    stub.SetState(pb.SetStateRequest(task_id=canceled.task_id, state=pb.TASK_STATE_CANCELED))
    published(stub, "s/one.bin", b"12345")
    published(stub, "s/two.bin", b"123")

    stats = stub.GetStats(pb.GetStatsRequest())
    by_state = {s.state: (s.tasks, s.declared_bytes) for s in stats.states}
    assert by_state == {
        pb.TASK_STATE_UPLOADING: (1, len(data)),
        pb.TASK_STATE_COMPLETED: (2, 8),
        pb.TASK_STATE_CANCELED: (1, 7),
    }
    assert (stats.staged_bytes, stats.published_bytes) == (128 * KiB, 8)


class TestIsolation:
    @pytest.fixture
    def settings(self, settings: Settings, tmp_path: Path) -> Settings:
        principals = tmp_path / "principals.toml"
        write_principals(principals, [ALICE, BOB, OPS])
        return settings.replace(principals_file=principals)

    @pytest.fixture
    def principals(self, server: FerryServer) -> Iterator[dict[str, rpc.FerryServiceStub]]:
        with (
            token_stub(server.address, ALICE.token) as alice,
            token_stub(server.address, BOB.token) as bob,
            token_stub(server.address, OPS.token) as ops,
        ):
            yield {"alice": alice, "bob": bob, "ops": ops}

    def test_each_principal_lists_and_counts_only_its_own_tasks(
        self, principals: dict[str, rpc.FerryServiceStub]
    ) -> None:
        alice, bob, ops = principals["alice"], principals["bob"], principals["ops"]
        mine = {create(alice, bytes(3), f"alice/{n}.bin").task_id for n in range(3)}
        theirs = create(bob, bytes(5), "bob/1.bin").task_id
        assert {t.task_id for t in listed(alice)} == mine
        assert {t.task_id for t in listed(bob)} == {theirs}
        assert {t.task_id for t in listed(ops, all_principals=True)} == mine | {theirs}
        assert listed(ops) == []  # the operator's own tasks: none
        # A page token is bound to the listing it was issued for, its principal included.
        token = alice.ListTasks(pb.ListTasksRequest(page_size=1)).next_page_token
        code, _, field = refused(bob.ListTasks, pb.ListTasksRequest(page_token=token))
        assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "page_token")
        assert [(s.tasks, s.declared_bytes) for s in alice.GetStats(pb.GetStatsRequest()).states
                ] == [(3, 9)]  # fmt: skip
        everyone = ops.GetStats(pb.GetStatsRequest(all_principals=True))
        assert [(s.tasks, s.declared_bytes) for s in everyone.states] == [(4, 14)]

    def test_everyone_and_upload_tokens_are_refused(
        self, principals: dict[str, rpc.FerryServiceStub], server: FerryServer
    ) -> None:
        alice = principals["alice"]
        reply = alice.CreateTask(pb.CreateTaskRequest(
            file_name="t", size=4, store_path="alice/t.bin", issue_upload_token=True))  # fmt: skip
        for call, request in [
            (alice.ListTasks, pb.ListTasksRequest(all_principals=True)),
            (alice.GetStats, pb.GetStatsRequest(all_principals=True)),
        ]:
            code, reason, _ = refused(call, request)
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
        with token_stub(server.address, reply.upload_token) as uploader:
            for call, request in [
                (uploader.ListTasks, pb.ListTasksRequest()),
                (uploader.GetStats, pb.GetStatsRequest()),
            ]:
                code, reason, _ = refused(call, request)
                assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
            # The refusals changed nothing: the token still uploads.
            assert uploader.GetTask(pb.GetTaskRequest(task_id=reply.task.task_id)).task.size == 4


def test_the_client_and_cli_list_every_page_and_count(
    server: FerryServer, stub: rpc.FerryServiceStub, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(7):
        create(stub, bytes(n + 1), f"c/{n}.bin", metadata={"batch": "7" if n % 2 else "8"})
    published(stub, "c/done.bin", b"xyz")
    with FerryClient(server.address, remember_uploads=False) as client:
        newest = list(client.list_tasks(page_size=2))
        assert [t.store_path for t in newest][:2] == ["c/done.bin", "c/6.bin"]
        assert len(newest) == 8
        odd = client.list_tasks(metadata={"batch": "7"}, oldest_first=True, page_size=1)
        assert [t.store_path for t in odd] == ["c/1.bin", "c/3.bin", "c/5.bin"]
        since = client.list_tasks(created_after=datetime.now(UTC) - timedelta(hours=1),
                                  states=[TaskState.COMPLETED])  # fmt: skip
        assert [t.store_path for t in since] == ["c/done.bin"]
        stats = client.stats()
        assert (stats.count(TaskState.UPLOADING), stats.count(TaskState.COMPLETED)) == (7, 1)
        assert stats.published_bytes == 3

    assert ferry_main(["ls", "c/", "--server", server.address, "--json", "--state",
                       "uploading", "--limit", "3"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["store_path"] for line in lines] == ["c/6.bin", "c/5.bin", "c/4.bin"]
    assert ferry_main(["stats", "--server", server.address, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["states"]["UPLOADING"] == {"tasks": 7, "declared_bytes": 28}
    assert ferry_main(["ls", "--server", server.address, "--meta", "batch=8"]) == 0
    text = capsys.readouterr().out
    assert "c/0.bin" in text and "c/1.bin" not in text
