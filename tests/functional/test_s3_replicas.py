"""Three ``ferry serve`` replicas sharing nothing but PostgreSQL and a SeaweedFS bucket (each
its own data directory and spool): blocks through random replicas and Merge through another,
a replica SIGKILLed between a part's upload and its recorded ETag, one SIGKILLed mid-Merge, the
same block through two replicas with different bytes, a part replaced behind Ferry's back.

Each time the object equals the source, or the task fails and nothing is published. No part
number is uploaded twice: SeaweedFS keeps every upload of a part number and ListParts lists
each, so one listing per number before Merge proves it across processes.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
from collections.abc import Iterator

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.domain.part_size import MIN_PART_SIZE
from ferry_server.storage.objectstore import S3ObjectStore, crc32c_base64
from ferry_server.storage.s3blocks import STAGING
from ferry_server.storage.s3location import S3Location

from tests.support.databases import fresh_postgres_schema
from tests.support.processes import ServerProcess, object_store_replicas
from tests.support.protocol import block_messages, create, merge, statuses
from tests.support.seaweedfs import S3Endpoint

BLOCK = MIN_PART_SIZE
#: Short, so that a killed merger's lease goes stale within the test.
LEASE = "1"


class Cluster:
    def __init__(self, replicas: list[ServerProcess], s3: S3ObjectStore) -> None:
        self.replicas = replicas
        self.s3 = s3
        self._channels: list[grpc.Channel] = []
        self.stubs: list[rpc.FerryServiceStub] = []
        self.connect()

    def connect(self) -> None:
        """Fresh channels: one to a replica that was killed may still be backing off."""
        self.close()
        self._channels = [grpc.insecure_channel(r.address) for r in self.replicas]
        self.stubs = [rpc.FerryServiceStub(c) for c in self._channels]

    def close(self) -> None:
        for channel in self._channels:
            channel.close()

    def parts_listed(self, task_id: str) -> list[int]:
        """Part numbers the store lists for the task's upload, one entry per upload."""
        key = f"{STAGING}/{task_id}"
        (upload,) = [u for u in self.s3.list_uploads(key) if u.key == key]
        return sorted(p.number for p in self.s3.list_parts(key, upload.upload_id))

    def published(self, store_path: str) -> bytes:
        return b"".join(self.s3.read(store_path, 0, self.s3.size(store_path)))


#: The replicas' own faults: 0 and 1 none, 2 dies after uploading a part before recording its
#: ETag, 3 dies inside Merge before publishing. A killed replica is restarted by the next test.
FAULTS = ["", "", "block-before-receipt:kill", "merge-before-publish:kill"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: S3Endpoint) -> Iterator[Cluster]:
    """One cluster for the module: starting replicas costs seconds on two cores."""
    location = S3Location(s3_endpoint.bucket, f"r-{secrets.token_hex(4)}/")
    s3 = S3ObjectStore(s3_endpoint.client(), location)
    credentials = {
        "AWS_ACCESS_KEY_ID": s3_endpoint.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_endpoint.secret_key,
        "AWS_DEFAULT_REGION": s3_endpoint.region,
    }
    common = ["--merge-lease", LEASE, "--block-size", str(BLOCK)]
    args = [[*common, *(["--test-fault", f] if f else [])] for f in FAULTS]
    base = tmp_path_factory.mktemp("s3-replicas")
    with (
        fresh_postgres_schema() as url,
        object_store_replicas(base, url, str(location), s3_endpoint.url, credentials, args) as rs,
    ):
        cluster = Cluster(rs, s3)
        try:
            yield cluster
        finally:
            cluster.close()


@pytest.fixture
def replicas(cluster: Cluster) -> Cluster:
    dead = [r for r in cluster.replicas if r.proc is None or r.proc.poll() is not None]
    for replica in dead:
        replica.start()
    if dead:
        cluster.connect()
    return cluster


def send(stub: rpc.FerryServiceStub, task: pb.Task, data: bytes, indices: list[int]) -> dict:
    def requests() -> Iterator[pb.UploadPartsRequest]:
        for index in indices:
            yield from block_messages(task, data, index, chunk=1024 * 1024)

    return statuses(list(stub.UploadParts(requests())))


def test_blocks_through_random_replicas_merge_through_another(replicas: Cluster):
    cluster = replicas
    data = os.urandom(6 * BLOCK - 99)
    seed = secrets.randbits(32)
    chooser = random.Random(seed)
    a, b, c, m = cluster.stubs
    task = create(a, data, "random/one.bin")
    assert task.block_count == 6
    for index in range(task.block_count):
        # Through random replicas, some blocks through two (duplicates); c merges, having none.
        for stub in chooser.sample([a, b, m], chooser.choice([1, 2])):
            assert send(stub, task, data, [index]) == {index: pb.BLOCK_STATUS_COMMITTED}, seed
    assert cluster.parts_listed(task.task_id) == list(range(1, 7)), seed
    done = merge(c, task.task_id)
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert cluster.published("random/one.bin") == data


def test_the_same_block_through_two_replicas_with_different_bytes(replicas: Cluster):
    cluster = replicas
    a, b, c, _ = cluster.stubs
    data = os.urandom(2 * BLOCK)
    other = bytes([data[0] ^ 0xFF]) + data[1:]
    task = create(a, data, "differs.bin")
    assert send(a, task, data, [0]) == {0: pb.BLOCK_STATUS_COMMITTED}
    assert send(b, task, other, [0]) == {0: pb.BLOCK_STATUS_COMMITTED_DIFFERENT}
    assert send(a, task, data, [1]) == {1: pb.BLOCK_STATUS_COMMITTED}
    assert cluster.parts_listed(task.task_id) == [1, 2]
    merge(c, task.task_id)
    assert cluster.published("differs.bin") == data


def test_a_replica_killed_between_a_parts_upload_and_its_etag(replicas: Cluster):
    """The part reached the store, its ETag never reached SQL, nothing was acknowledged: the
    client's retry through another replica finds the part (ListParts) instead of uploading it
    again, and records its ETag."""
    cluster = replicas
    b, c, killed, _ = cluster.stubs
    data = os.urandom(3 * BLOCK)
    task = create(b, data, "killed-upload.bin")
    assert send(b, task, data, [0]) == {0: pb.BLOCK_STATUS_COMMITTED}
    with pytest.raises(grpc.RpcError) as caught:
        send(killed, task, data, [1])
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert cluster.replicas[2].proc is not None and cluster.replicas[2].proc.wait(30) != 0
    assert send(c, task, data, [1, 2]) == {
        1: pb.BLOCK_STATUS_COMMITTED,
        2: pb.BLOCK_STATUS_COMMITTED,
    }
    assert cluster.parts_listed(task.task_id) == [1, 2, 3]
    merge(c, task.task_id)
    assert cluster.published("killed-upload.bin") == data


def test_a_replica_killed_mid_merge_and_another_completes_it(replicas: Cluster):
    cluster = replicas
    b, c, _, killed = cluster.stubs
    data = os.urandom(2 * BLOCK + 5)
    task = create(b, data, "killed-merge.bin")
    send(killed, task, data, [0])
    send(b, task, data, [1, 2])
    with pytest.raises(grpc.RpcError) as caught:
        merge(killed, task.task_id)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert not cluster.s3.exists("killed-merge.bin")
    # The killed merger sealed the upload; the taker reads the staged object back once.
    done = _merge_until_done(c, task.task_id)
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert cluster.published("killed-merge.bin") == data


def test_a_part_replaced_behind_ferrys_back_fails_the_task_and_publishes_nothing(
    replicas: Cluster,
):
    cluster = replicas
    a, b, c, _ = cluster.stubs
    data = os.urandom(2 * BLOCK)
    task = create(a, data, "replaced.bin")
    send(a, task, data, [0])
    send(b, task, data, [1])
    key = f"{STAGING}/{task.task_id}"
    (upload,) = cluster.s3.list_uploads(key)
    other = os.urandom(BLOCK)
    cluster.s3.client.upload_part(
        Bucket=cluster.s3.location.bucket,
        Key=cluster.s3.location.prefix + key,
        UploadId=upload.upload_id,
        PartNumber=1,
        Body=other,
        ChecksumCRC32C=crc32c_base64(google_crc32c.value(other)),
    )
    with pytest.raises(grpc.RpcError) as caught:
        merge(c, task.task_id)
    assert caught.value.code() == grpc.StatusCode.DATA_LOSS
    assert not cluster.s3.exists("replaced.bin")
    assert a.GetTask(pb.GetTaskRequest(task_id=task.task_id)).task.state == pb.TASK_STATE_FAILED


def _merge_until_done(stub: rpc.FerryServiceStub, task_id: str) -> pb.Task:
    """Merge, retrying while the killed merger's lease is still live (ABORTED)."""
    for _ in range(100):
        try:
            return merge(stub, task_id)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ABORTED:
                raise
    raise AssertionError("merge never completed")
