"""QueryMissingBlocks on tasks of 1,000,000 blocks, on both databases: every page is bounded
(ranges and bytes), and following next_page_token lists exactly the blocks that have no row,
whatever the pattern (all committed, none, every other, random with most committed). Tokens
the server did not issue and negative page sizes are INVALID_ARGUMENT."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client.reachability import FirstContact
from ferry_client.transport import Transport
from ferry_server.app import FerryServer, create_server
from ferry_server.config import Settings
from ferry_server.domain.model import missing_ranges
from ferry_server.domain.service import ANONYMOUS, MISSING_PAGE_MAX
from ferry_server.persistence.database import DatabaseTimeouts, create_database_engine

from tests.support.big_tasks import BLOCK_SIZE, BLOCKS, PATTERNS, committed_in, insert_big_task
from tests.support.databases import fresh_postgres_schema

#: A page of 10,000 ranges is ~110 KiB; the default message size limit is 4 MiB.
PAGE_BYTES_BOUND = 256 << 10


@dataclass
class BigTasks:
    server: FerryServer
    stub: rpc.FerryServiceStub
    tasks: dict[str, str]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def big(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BigTasks]:
    tmp = tmp_path_factory.mktemp(f"big-{request.param}")
    if request.param == "sqlite":
        with _serving(tmp, None) as big:
            yield big
    else:
        with fresh_postgres_schema() as url, _serving(tmp, url) as big:
            yield big


@contextmanager
def _serving(tmp: Path, url: str | None) -> Iterator[BigTasks]:
    settings = Settings(data_dir=tmp / "data", listen="127.0.0.1:0", database_url=url)
    server = create_server(settings)
    server.start()
    # Bulk inserts of a million rows may rightly take longer than a call's bounds.
    unbounded = DatabaseTimeouts(statement=None, call=None)
    engine = create_database_engine(
        settings.resolved_database_url, fsync=False, pool_size=1, timeouts=unbounded
    )
    try:
        tasks = {p: insert_big_task(engine, ANONYMOUS, p) for p in PATTERNS}
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield BigTasks(server, rpc.FerryServiceStub(channel), tasks)
    finally:
        engine.dispose()
        server.stop(grace=0)


def _walk(
    stub: rpc.FerryServiceStub, task_id: str, page_size: int = 0, most_pages: int = BLOCKS
) -> tuple[list[pb.BlockRange], int]:
    ranges: list[pb.BlockRange] = []
    token, pages = "", 0
    while pages < most_pages:
        reply = stub.QueryMissingBlocks(
            pb.QueryMissingBlocksRequest(task_id=task_id, page_size=page_size, page_token=token)
        )
        pages += 1
        assert reply.ByteSize() < PAGE_BYTES_BOUND
        assert len(reply.missing) <= (page_size or MISSING_PAGE_MAX)
        assert reply.block_count == BLOCKS
        ranges.extend(reply.missing)
        token = reply.next_page_token
        if not token:
            return ranges, pages
    return ranges, pages


@pytest.mark.parametrize("pattern", PATTERNS)
def test_following_every_page_lists_exactly_the_blocks_without_a_row(
    big: BigTasks, pattern: str
) -> None:
    ranges, pages = _walk(big.stub, big.tasks[pattern])
    expected = missing_ranges(BLOCKS, committed_in(pattern))
    assert [(r.start, r.end) for r in ranges] == [(r.start, r.end) for r in expected]
    first = big.stub.QueryMissingBlocks(pb.QueryMissingBlocksRequest(task_id=big.tasks[pattern]))
    # More blocks than one page spans: the first page does not count them (that would look at
    # every block row); GetTask does.
    assert first.committed_bytes == 0
    task = big.stub.GetTask(pb.GetTaskRequest(task_id=big.tasks[pattern])).task
    assert task.committed_bytes == len(committed_in(pattern)) * BLOCK_SIZE
    if pattern == "none":
        assert pages == 1  # one range, found with one index lookup past the first window


def test_a_small_page_size_is_honoured_and_the_pages_join_up(big: BigTasks) -> None:
    ranges, pages = _walk(big.stub, big.tasks["every-other"], page_size=7, most_pages=10)
    assert pages == 10
    expected = missing_ranges(BLOCKS, committed_in("every-other"))
    assert [(r.start, r.end) for r in ranges] == [(r.start, r.end) for r in expected[:70]]


def test_the_python_client_follows_every_page(big: BigTasks) -> None:
    target = f"127.0.0.1:{big.server.port}"
    with grpc.insecure_channel(target) as channel:
        contact = FirstContact(channel, target, tls=False, timeout=10)
        transport = Transport(channel, timeout=60, contact=contact, target=target)
        report = transport.query_all_missing(big.tasks["random"])
    expected = missing_ranges(BLOCKS, committed_in("random"))
    assert [(r.start, r.end) for r in report.missing] == [(r.start, r.end) for r in expected]
    assert not report.next_page_token


@pytest.mark.parametrize(
    ("page_size", "token", "field"),
    [
        (-1, "", "page_size"),
        (0, "nonsense", "page_token"),
        (0, f"m{BLOCKS}", "page_token"),  # past the last block
        (0, "m-1", "page_token"),
        (0, "m" + "9" * 40, "page_token"),
    ],
)
def test_a_bad_page_size_or_token_is_invalid_argument(
    big: BigTasks, page_size: int, token: str, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as excinfo:
        big.stub.QueryMissingBlocks(
            pb.QueryMissingBlocksRequest(
                task_id=big.tasks["random"], page_size=page_size, page_token=token
            )
        )
    assert excinfo.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in (excinfo.value.details() or "")
