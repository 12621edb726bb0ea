"""Completion notifications (issue 11): a signed POST per ended task, written to the outbox with
the state change and delivered at least once, across failures, restarts and replicas."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer, StartupError, create_server
from ferry_server.config import Settings
from standardwebhooks.webhooks import Webhook

from tests.support.databases import fresh_postgres_schema
from tests.support.processes import ServerProcess, two_replicas
from tests.support.protocol import KiB, create, merge, notification, set_state, upload
from tests.support.receiver import Receiver, webhook_receiver

BLOCK = 64 * KiB


@pytest.fixture
def secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def secret_file(tmp_path: Path, secret: str) -> Path:
    path = tmp_path / "webhook.secret"
    path.write_text(secret + "\n")
    return path


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def hooked(settings: Settings, receiver: Receiver, secret_file: Path) -> Settings:
    return settings.replace(
        webhook_url=receiver.url,
        webhook_secret_file=secret_file,
        webhook_allow_private=True,  # the receiver is on loopback
        webhook_poll_seconds=0.05,
    )


def serve(settings: Settings) -> Iterator[tuple[FerryServer, rpc.FerryServiceStub]]:
    server = create_server(settings)
    server.start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            yield server, rpc.FerryServiceStub(channel)
    finally:
        server.stop(0)


def upload_and_merge(stub: rpc.FerryServiceStub, store_path: str) -> tuple[pb.Task, bytes]:
    data = os.urandom(3 * BLOCK + 17)
    task = create(stub, data, store_path, block_size=BLOCK, metadata={"video_id": "42"})
    upload(stub, task, data)
    return merge(stub, task.task_id), data


def test_a_signed_notice_arrives_after_merge(
    hooked: Settings, receiver: Receiver, secret: str
) -> None:
    for _server, stub in serve(hooked):
        task, data = upload_and_merge(stub, "hooks/done.bin")

        [post] = receiver.wait_for(1)
        status = notification(stub, task.task_id, pb.NOTIFICATION_STATE_DELIVERED)

    # What a business backend does with it: verify, then trust.
    envelope = Webhook(secret).verify(post.body, post.headers)
    assert envelope["type"] == "task.completed"
    body = envelope["data"]
    assert body["task_id"] == task.task_id
    assert body["state"] == "COMPLETED"
    assert body["store_path"] == "hooks/done.bin"
    assert body["size"] == len(data)
    assert body["sha256"] == task.sha256
    assert body["metadata"] == {"video_id": "42"}
    assert body["event_id"] == post.headers["webhook-id"] == status.event_id
    assert status.attempts == 1
    assert status.last_error == ""
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + base64.b64encode(b"another secret").decode()).verify(
            post.body, post.headers
        )
    tampered = post.body.replace(b"COMPLETED", b"CANCELED")
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(tampered, post.headers)


def test_a_small_file_published_in_one_request_is_told_too(
    hooked: Settings, receiver: Receiver
) -> None:
    for _server, stub in serve(hooked):
        reply = stub.UploadFile(
            pb.UploadFileRequest(
                file_name="small.bin",
                store_path="hooks/small.bin",
                data=b"small",
                crc32c=google_crc32c.value(b"small"),
            )
        )

        [post] = receiver.wait_for(1)
        status = notification(stub, reply.task.task_id, pb.NOTIFICATION_STATE_DELIVERED)

    body = json.loads(post.body)
    assert body["type"] == "task.completed"
    assert body["data"]["task_id"] == reply.task.task_id
    assert body["data"]["size"] == len(b"small")
    assert post.headers["webhook-id"] == status.event_id


def test_cancel_and_a_failed_merge_are_told_too(hooked: Settings, receiver: Receiver) -> None:
    for _server, stub in serve(hooked):
        data = os.urandom(2 * BLOCK)
        canceled = create(stub, data, "hooks/canceled.bin", block_size=BLOCK)
        set_state(stub, canceled.task_id, pb.TASK_STATE_CANCELED)
        failed = create(stub, data, "hooks/failed.bin", block_size=BLOCK, sha256="0" * 64)
        upload(stub, failed, data)
        with pytest.raises(grpc.RpcError) as mismatch:
            merge(stub, failed.task_id)
        assert mismatch.value.code() == grpc.StatusCode.DATA_LOSS
        paused = create(stub, data, "hooks/paused.bin", block_size=BLOCK)
        set_state(stub, paused.task_id, pb.TASK_STATE_PAUSED)

        posts = receiver.wait_for(2)
        time.sleep(0.3)  # a notice for the pause would have come by now

    kinds = {json.loads(p.body)["data"]["task_id"]: json.loads(p.body) for p in receiver.posts}
    assert set(kinds) == {canceled.task_id, failed.task_id}, "a pause is no end: no notice"
    assert kinds[canceled.task_id]["type"] == "task.canceled"
    assert kinds[failed.task_id]["type"] == "task.failed"
    assert "SHA-256 mismatch" in kinds[failed.task_id]["data"]["failure_reason"]
    assert len(posts) == 2


def test_a_receiver_that_fails_for_a_while_gets_the_notice_once_it_recovers(
    hooked: Settings, receiver: Receiver
) -> None:
    receiver.script = [500, 503]
    for _server, stub in serve(hooked):
        task, _ = upload_and_merge(stub, "hooks/retried.bin")

        status = notification(stub, task.task_id, pb.NOTIFICATION_STATE_DELIVERED)

    assert status.attempts == 3
    ids = [p.headers["webhook-id"] for p in receiver.posts]
    assert ids == [status.event_id] * 3, "a stable id for the receiver to de-duplicate by"


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ({"script": [302] * 50}, "redirects are not followed"),
        ({"delay": 2.0}, "Timeout"),
        ({"script": [500] * 50, "answer_bytes": 4 * 1024 * 1024}, "HTTP 500"),
    ],
    ids=["redirect", "too-slow", "flood"],
)
def test_a_broken_receiver_makes_the_notice_undeliverable_after_the_retry_time(
    hooked: Settings, receiver: Receiver, hostile: dict[str, object], expected: str
) -> None:
    for name, value in hostile.items():
        setattr(receiver, name, value)
    # Long enough for a second attempt whatever the jitter (the first retry is due 0.5-1 s
    # after a failure), short enough for a test.
    settings = hooked.replace(webhook_retry_seconds=2.0, webhook_timeout_seconds=0.3)
    for _server, stub in serve(settings):
        task, _ = upload_and_merge(stub, "hooks/broken.bin")

        status = notification(stub, task.task_id, pb.NOTIFICATION_STATE_UNDELIVERABLE)

    assert expected in status.last_error
    assert status.attempts >= 2
    assert all(p.headers["webhook-id"] == status.event_id for p in receiver.posts)


def test_a_private_address_is_refused_unless_allowed(hooked: Settings, receiver: Receiver) -> None:
    for _server, stub in serve(hooked.replace(webhook_allow_private=False)):
        task, _ = upload_and_merge(stub, "hooks/private.bin")

        status = notification(stub, task.task_id, pb.NOTIFICATION_STATE_UNDELIVERABLE)

    assert "--webhook-allow-private" in status.last_error
    assert status.attempts == 1
    assert receiver.posts == [], "nothing was sent to the private address"


def test_without_a_webhook_no_notice_is_recorded(settings: Settings) -> None:
    for _server, stub in serve(settings):
        task, _ = upload_and_merge(stub, "hooks/silent.bin")
        reply = stub.GetTask(pb.GetTaskRequest(task_id=task.task_id))
        assert not reply.HasField("notification")


def test_a_bad_secret_stops_the_server_at_start(hooked: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.secret"
    bad.write_text("whsec_not base64 at all!")
    with pytest.raises(StartupError, match="webhook secret"):
        create_server(hooked.replace(webhook_secret_file=bad))


def _hook_args(receiver: Receiver, secret_file: Path, poll: float) -> list[str]:
    return [
        "--webhook-url", receiver.url, "--webhook-secret-file", str(secret_file),
        "--webhook-allow-private", "--webhook-poll", str(poll),
    ]  # fmt: skip


def test_a_server_killed_after_the_state_change_delivers_after_restart(
    tmp_path: Path, database_url: str | None, receiver: Receiver, secret_file: Path
) -> None:
    # First life: never looks at the outbox (poll of an hour), killed right after Merge
    # recorded COMPLETED, so the notice exists only in SQL.
    server = ServerProcess(
        tmp_path / "data",
        database_url=database_url,
        extra_args=[
            *_hook_args(receiver, secret_file, 3600),
            "--test-fault", "merge-after-record:kill",
        ],
    )  # fmt: skip
    with server:
        with grpc.insecure_channel(server.address) as channel:
            stub = server.stub(channel)
            data = os.urandom(2 * BLOCK)
            task = create(stub, data, "hooks/killed.bin", block_size=BLOCK)
            upload(stub, task, data)
            with pytest.raises(grpc.RpcError) as killed:
                merge(stub, task.task_id)
            assert killed.value.code() == grpc.StatusCode.UNAVAILABLE
        server.proc.wait(timeout=30)  # type: ignore[union-attr]
        assert receiver.posts == []

        server.extra_args = _hook_args(receiver, secret_file, 0.05)
        server.start()
        with grpc.insecure_channel(server.address) as channel:
            stub = server.stub(channel)
            [post] = receiver.wait_for(1)
            status = notification(stub, task.task_id, pb.NOTIFICATION_STATE_DELIVERED)
    assert json.loads(post.body)["data"]["task_id"] == task.task_id
    assert post.headers["webhook-id"] == status.event_id


def test_two_replicas_deliver_each_notice_once(
    tmp_path: Path, receiver: Receiver, secret_file: Path
) -> None:
    with (
        fresh_postgres_schema() as url,
        two_replicas(tmp_path / "data", url, _hook_args(receiver, secret_file, 0.02)) as (a, b),
        grpc.insecure_channel(a.address) as channel_a,
        grpc.insecure_channel(b.address) as channel_b,
    ):
        stubs = [a.stub(channel_a), b.stub(channel_b)]
        tasks = []
        for i in range(12):
            stub = stubs[i % 2]
            data = os.urandom(BLOCK + i)
            task = create(stub, data, f"hooks/replicas/{i}.bin", block_size=BLOCK)
            upload(stub, task, data)
            tasks.append(merge(stubs[(i + 1) % 2], task.task_id))
        receiver.wait_for(12)
        for task in tasks:
            notification(stubs[0], task.task_id, pb.NOTIFICATION_STATE_DELIVERED)
        time.sleep(0.3)  # a second delivery of any of them would have come by now

    counts = Counter(p.headers["webhook-id"] for p in receiver.posts)
    assert len(counts) == 12
    assert set(counts.values()) == {1}
