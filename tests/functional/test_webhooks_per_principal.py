"""Webhooks per principal and per task (issue 11), with real HTTP receivers on loopback ports:
each principal's notices go to its own URL from the principals file, a URL given at CreateTask
is used only under the principal's allowed prefixes (compared parsed: look-alike hosts are
refused, and nothing is created), the server's --webhook-url serves principals without one,
the URL is fixed when the task is declared, and private addresses are still refused at
delivery unless allowed."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import FerryClient
from ferry_server.app import FerryServer, create_server
from ferry_server.config import Settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.identity import Entry, IdentityProvider, token_stub, write_principals
from tests.support.protocol import (
    KiB,
    create,
    merge,
    notification,
    reason_of,
    set_state,
    upload,
)
from tests.support.receiver import Receiver, webhook_receiver

BLOCK = 64 * KiB
PERMISSIONS = ["create", "upload", "read", "control"]
ALICE = Entry("alice", PERMISSIONS, ["alice"])
BOB = Entry("bob", PERMISSIONS, ["bob"])
#: No [[principal]] entry: the server's --webhook-url.
CAROL = Entry("carol", PERMISSIONS, ["carol"])


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    with (
        webhook_receiver() as alice,
        webhook_receiver() as bob,
        webhook_receiver() as fallback,
    ):
        yield {"alice": alice, "bob": bob, "fallback": fallback}


def principal_entries(receivers: dict[str, Receiver], *, alice_url: str | None = None) -> str:
    """``[[principal]]`` entries: alice has a URL and may choose URLs under her receiver's
    /tasks/; bob has a URL and a secret of his own (bob.secret, beside the file) and may
    choose no URL; carol has no entry."""
    alice = receivers["alice"]
    return (
        "\n[[principal]]\n"
        'name = "alice"\n'
        f"webhook_url = {json.dumps(alice_url or alice.url)}\n"
        f"webhook_allow = {json.dumps([alice.origin + '/tasks/'])}\n"
        "\n[[principal]]\n"
        'name = "bob"\n'
        f"webhook_url = {json.dumps(receivers['bob'].url)}\n"
        'webhook_secret_file = "bob.secret"\n'
    )


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def secret() -> str:
    """The server's secret (--webhook-secret-file)."""
    return new_secret()


@pytest.fixture
def bob_secret() -> str:
    return new_secret()


@pytest.fixture
def settings(
    settings: Settings,
    tmp_path: Path,
    receivers: dict[str, Receiver],
    secret: str,
    bob_secret: str,
) -> Settings:
    (tmp_path / "bob.secret").write_text(bob_secret + "\n")
    principals = tmp_path / "principals.toml"
    write_principals(principals, [ALICE, BOB, CAROL], principal_entries(receivers))
    secret_file = tmp_path / "webhook.secret"
    secret_file.write_text(secret)
    return settings.replace(
        principals_file=principals,
        webhook_url=receivers["fallback"].url,
        webhook_secret_file=secret_file,
        webhook_allow_private=True,  # the receivers are on loopback
        webhook_poll_seconds=0.05,
    )


@pytest.fixture
def stubs(server: FerryServer) -> Iterator[dict[str, rpc.FerryServiceStub]]:
    with (
        token_stub(server.address, ALICE.token) as alice,
        token_stub(server.address, BOB.token) as bob,
        token_stub(server.address, CAROL.token) as carol,
    ):
        yield {"alice": alice, "bob": bob, "carol": carol}


def finish(stub: rpc.FerryServiceStub, store_path: str, webhook_url: str = "") -> pb.Task:
    data = os.urandom(BLOCK + 5)
    task = create(stub, data, store_path, block_size=BLOCK, webhook_url=webhook_url)
    upload(stub, task, data)
    return merge(stub, task.task_id)


def told(receiver: Receiver) -> dict[str, str]:
    """The task ids of the notices ``receiver`` got, and the path each was POSTed to."""
    return {json.loads(post.body)["data"]["task_id"]: post.path for post in receiver.posts}


def test_each_principal_s_notices_go_to_its_own_url_and_the_rest_to_the_server_s(
    stubs: dict[str, rpc.FerryServiceStub],
    receivers: dict[str, Receiver],
    secret: str,
    bob_secret: str,
) -> None:
    tasks = {name: finish(stubs[name], f"{name}/done.bin") for name in ("alice", "bob", "carol")}
    for name, task in tasks.items():
        notification(stubs[name], task.task_id, pb.NOTIFICATION_STATE_DELIVERED)

    assert told(receivers["alice"]) == {tasks["alice"].task_id: "/hooks/ferry"}
    assert told(receivers["bob"]) == {tasks["bob"].task_id: "/hooks/ferry"}
    assert told(receivers["fallback"]) == {tasks["carol"].task_id: "/hooks/ferry"}
    # Bob's notices are signed with his own secret, the others' with the server's: a
    # receiver holding one cannot forge notices to the other.
    [post] = receivers["bob"].posts
    assert Webhook(bob_secret).verify(post.body, post.headers)["data"]["state"] == "COMPLETED"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(post.body, post.headers)
    for receiver in ("alice", "fallback"):
        [post] = receivers[receiver].posts
        Webhook(secret).verify(post.body, post.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(bob_secret).verify(post.body, post.headers)
    # GetTask shows where each notice goes.
    for name, receiver in (("alice", "alice"), ("bob", "bob"), ("carol", "fallback")):
        shown = stubs[name].GetTask(pb.GetTaskRequest(task_id=tasks[name].task_id)).task
        assert shown.webhook_url == receivers[receiver].url


def test_a_url_given_at_create_inside_the_allowlist_is_used(
    server: FerryServer, stubs: dict[str, rpc.FerryServiceStub], receivers: dict[str, Receiver]
) -> None:
    alice = receivers["alice"]
    chosen = alice.origin + "/tasks/video-42?tenant=7"
    task = finish(stubs["alice"], "alice/chosen.bin", webhook_url=chosen)
    assert task.webhook_url == chosen
    small = stubs["alice"].UploadFile(
        pb.UploadFileRequest(
            file_name="small.bin",
            store_path="alice/small.bin",
            data=b"small",
            crc32c=google_crc32c.value(b"small"),
            webhook_url=alice.origin + "/tasks/small",
        )
    )
    canceled = create(
        stubs["alice"], b"x" * 10, "alice/canceled.bin", webhook_url=alice.origin + "/tasks/gone"
    )
    set_state(stubs["alice"], canceled.task_id, pb.TASK_STATE_CANCELED)
    # The client library's declare() (a backend handing an upload token to an uploader).
    with FerryClient(server.address, token=ALICE.token, remember_uploads=False) as client:
        grant = client.declare("alice/declared.bin", 10, webhook_url=alice.origin + "/tasks/d")
        assert grant.task.webhook_url == alice.origin + "/tasks/d"
        client.cancel(grant.task.task_id)
    for task_id in (task.task_id, small.task.task_id, canceled.task_id, grant.task.task_id):
        notification(stubs["alice"], task_id, pb.NOTIFICATION_STATE_DELIVERED)

    assert told(alice) == {
        task.task_id: "/tasks/video-42?tenant=7",
        small.task.task_id: "/tasks/small",
        canceled.task_id: "/tasks/gone",
        grant.task.task_id: "/tasks/d",
    }
    assert receivers["fallback"].posts == []


#: (principal, URL given at CreateTask, status): formatted with the receivers' addresses.
REFUSED = [
    # Another receiver (another port): outside alice's prefix.
    ("alice", "{bob}", grpc.StatusCode.PERMISSION_DENIED),
    # Look-alikes of the allowed http://127.0.0.1:PORT/tasks/.
    (
        "alice",
        "http://{alice_host}.evil.test:{alice_port}/tasks/x",
        grpc.StatusCode.PERMISSION_DENIED,
    ),
    ("alice", "{alice_origin}/tasksx", grpc.StatusCode.PERMISSION_DENIED),
    ("alice", "{alice_origin}/tasks", grpc.StatusCode.PERMISSION_DENIED),
    ("alice", "https://{alice_host}:{alice_port}/tasks/x", grpc.StatusCode.PERMISSION_DENIED),
    ("alice", "http://{alice_host}/tasks/x", grpc.StatusCode.PERMISSION_DENIED),
    ("alice", "{alice_origin}/tasks/../admin", grpc.StatusCode.INVALID_ARGUMENT),
    ("alice", "{alice_origin}/tasks/%2e%2e/admin", grpc.StatusCode.INVALID_ARGUMENT),
    ("alice", "{alice_origin}@evil.test/tasks/x", grpc.StatusCode.INVALID_ARGUMENT),
    ("alice", "file:///etc/passwd", grpc.StatusCode.INVALID_ARGUMENT),
    # bob may choose no URL at all, not even his own.
    ("bob", "{bob}", grpc.StatusCode.PERMISSION_DENIED),
]


def test_a_url_outside_the_allowlist_is_refused_and_nothing_is_created(
    stubs: dict[str, rpc.FerryServiceStub], receivers: dict[str, Receiver]
) -> None:
    alice = receivers["alice"]
    host, _, port = alice.origin.removeprefix("http://").partition(":")
    for number, (who, url, code) in enumerate(REFUSED):
        given = url.format(
            bob=receivers["bob"].url, alice_origin=alice.origin, alice_host=host, alice_port=port
        )
        store_path = f"{who}/refused-{number}.bin"
        with pytest.raises(grpc.RpcError) as refused:
            create(stubs[who], b"x" * 10, store_path, webhook_url=given)
        assert (refused.value.code(), reason_of(refused.value)) == (code, "WEBHOOK_URL_REFUSED"), (
            given
        )
        with pytest.raises(grpc.RpcError) as small:
            stubs[who].UploadFile(
                pb.UploadFileRequest(
                    file_name="refused.bin",
                    store_path=store_path,
                    data=b"x",
                    crc32c=google_crc32c.value(b"x"),
                    webhook_url=given,
                )
            )
        assert small.value.code() == code, given

        # Nothing was created: the same declaration without the URL is a new task.
        reply = stubs[who].CreateTask(
            pb.CreateTaskRequest(file_name="refused.bin", size=10, store_path=store_path)
        )
        assert not reply.resumed, given


def test_the_url_is_fixed_when_the_task_is_declared(
    server: FerryServer,
    settings: Settings,
    stubs: dict[str, rpc.FerryServiceStub],
    receivers: dict[str, Receiver],
) -> None:
    data = os.urandom(BLOCK)
    task = create(stubs["alice"], data, "alice/early.bin", block_size=BLOCK)
    # The operator points alice's notices elsewhere while the upload runs.
    assert settings.principals_file is not None
    write_principals(
        settings.principals_file,
        [ALICE, BOB, CAROL],
        principal_entries(receivers, alice_url=receivers["bob"].origin + "/new"),
    )
    server.reload_credentials()
    upload(stubs["alice"], task, data)
    merge(stubs["alice"], task.task_id)
    later = finish(stubs["alice"], "alice/later.bin")
    for task_id in (task.task_id, later.task_id):
        notification(stubs["alice"], task_id, pb.NOTIFICATION_STATE_DELIVERED)

    assert told(receivers["alice"]) == {task.task_id: "/hooks/ferry"}
    assert told(receivers["bob"]) == {later.task_id: "/new"}


def test_private_addresses_are_still_refused_at_delivery_unless_allowed(
    settings: Settings, receivers: dict[str, Receiver]
) -> None:
    server = create_server(settings.replace(webhook_allow_private=False))
    server.start()
    try:
        with token_stub(server.address, ALICE.token) as alice:
            chosen = receivers["alice"].origin + "/tasks/private"
            task = finish(alice, "alice/private.bin", webhook_url=chosen)
            status = notification(alice, task.task_id, pb.NOTIFICATION_STATE_UNDELIVERABLE)
    finally:
        server.stop(grace=0)
    assert "--webhook-allow-private" in status.last_error
    assert receivers["alice"].posts == [], "nothing was sent to the loopback address"


def test_a_jwt_principal_gets_its_principals_file_url_and_claims_choose_none(
    settings: Settings, tmp_path: Path, receivers: dict[str, Receiver]
) -> None:
    idp = IdentityProvider()
    jwks = tmp_path / "jwks.json"
    idp.write_jwks(jwks)
    with_jwt = settings.replace(
        jwt_jwks=str(jwks), jwt_issuer=idp.issuer, jwt_audience=idp.audience
    )
    # "bob" from a JWT is the principal of bob's [[principal]] entry; a claim naming another
    # URL changes nothing.
    token = idp.token("bob", prefixes=["bob"], claims={"ferry_webhook_url": receivers["alice"].url})
    server = create_server(with_jwt)
    server.start()
    try:
        with token_stub(server.address, token) as bob:
            task = finish(bob, "bob/jwt.bin")
            notification(bob, task.task_id, pb.NOTIFICATION_STATE_DELIVERED)
    finally:
        server.stop(grace=0)
    assert task.webhook_url == receivers["bob"].url
    assert told(receivers["bob"]) == {task.task_id: "/hooks/ferry"}
    assert receivers["alice"].posts == []
