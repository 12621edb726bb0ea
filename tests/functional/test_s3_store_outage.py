"""An object store that goes down mid-upload and comes back, on SQLite and PostgreSQL: a block
whose part cannot be stored is refused UNAVAILABLE with reason STORE_UNAVAILABLE and a retry
delay (not DATABASE_UNAVAILABLE, not INTERNAL), the client library takes it as transient, no
acknowledged block is lost, and once the store is back the same blocks sent again complete the
upload, whose object equals the source.

The SeaweedFS here is this module's own (the session's is shared by other tests, which must
not see it stop), restarted on its ports and data as a store restarted by its operator."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client.errors import TransientError, from_rpc_error
from ferry_server.app import FerryServer, create_server
from ferry_server.config import KiB, Settings
from ferry_server.domain.part_size import MIN_PART_SIZE
from ferry_server.storage.s3blocks import S3BlockStore

from tests.support.databases import fresh_postgres_schema
from tests.support.protocol import create, merge, missing, statuses, upload
from tests.support.seaweedfs import SeaweedFS, aws_credentials, running_seaweedfs

MiB = 1024 * KiB
BLOCK = MIN_PART_SIZE


@pytest.fixture(scope="module")
def own_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs-outage")) as store:
        yield store


@pytest.fixture(params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path, own_store: SeaweedFS
) -> Iterator[FerryServer]:
    endpoint = own_store.endpoint
    assert endpoint is not None
    with aws_credentials(endpoint), contextlib.ExitStack() as stack:
        url = None
        if request.param == "postgres":
            url = stack.enter_context(fresh_postgres_schema())
        settings = Settings(
            data_dir=tmp_path / "data",
            listen="127.0.0.1:0",
            database_url=url,
            storage=f"s3://{endpoint.bucket}/o-{secrets.token_hex(4)}",
            s3_endpoint_url=endpoint.url,
            s3_region=endpoint.region,
            min_block_size=64 * KiB,
            default_block_size=256 * KiB,
            max_block_size=8 * MiB,
            max_file_size=64 * MiB,
        )
        ferry = create_server(settings)
        ferry.start()
        try:
            yield ferry
        finally:
            ferry.stop(grace=0)


def test_a_store_outage_mid_upload_is_store_unavailable_and_the_upload_completes_after_it(
    server: FerryServer, own_store: SeaweedFS
) -> None:
    data = secrets.token_bytes(4 * BLOCK)
    with grpc.insecure_channel(server.address) as channel:
        stub = rpc.FerryServiceStub(channel)
        task = create(stub, data, f"outage/{secrets.token_hex(4)}.bin", block_size=BLOCK)
        acked = statuses(upload(stub, task, data, [0, 1]))
        assert acked == {0: pb.BLOCK_STATUS_COMMITTED, 1: pb.BLOCK_STATUS_COMMITTED}

        own_store.stop()
        try:
            with pytest.raises(grpc.RpcError) as caught:
                upload(stub, task, data, [2])
            error = from_rpc_error(caught.value, task_id=task.task_id)
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
            assert error.reason == "STORE_UNAVAILABLE"
            assert error.retry_delay is not None and error.retry_delay > 0
            assert isinstance(error, TransientError)
            # The database still answers: the acknowledged blocks are there. Block 2 won its
            # SQL commit but was never acknowledged: its bytes wait in this replica's spool.
            assert missing(stub, task.task_id) == [(3, 4)]
        finally:
            own_store.restart()

        # What a client does once the store is back: ask, send what is missing, merge.
        assert statuses(upload(stub, task, data, [3])) == {3: pb.BLOCK_STATUS_COMMITTED}
        assert missing(stub, task.task_id) == []
        # Merge lands block 2 from the spool (no wait for the sweeper's revert).
        assert merge(stub, task.task_id).state == pb.TASK_STATE_COMPLETED
    s3 = cast(S3BlockStore, server.store).s3
    assert b"".join(s3.read(task.store_path, 0, s3.size(task.store_path))) == data
    # Upload calls per part number: block 2's first call found the store down (nothing
    # reached it); every part reached the store once.
    counts = {number: n for (_, number), n in s3.part_upload_counts().items()}
    assert counts == {1: 1, 2: 1, 3: 2, 4: 1}
