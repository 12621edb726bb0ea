"""``python -m bench.missing_blocks`` (part of ``make bench``): QueryMissingBlocks latency on
tasks of 1,000,000 blocks, through a real server, on SQLite and PostgreSQL, for four patterns of
committed blocks (all, none, every other, random with 99% committed). Reports the first page
(what a reconnecting client waits for before it can send), a later page, and the walk of every
page, each the median of several calls; writes its section of bench/RESULTS.md."""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import psycopg
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import create_server
from ferry_server.config import Settings
from ferry_server.domain.service import ANONYMOUS
from ferry_server.persistence.database import DatabaseTimeouts, create_database_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.big_tasks import BLOCKS, PATTERNS, insert_big_task

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).parent / "RESULTS.md"
HEADING = "## QueryMissingBlocks at 1,000,000 blocks"


def _median_ms(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _walk(stub: rpc.FerryServiceStub, task_id: str) -> int:
    token, pages = "", 0
    while True:
        reply = stub.QueryMissingBlocks(
            pb.QueryMissingBlocksRequest(task_id=task_id, page_token=token)
        )
        pages += 1
        token = reply.next_page_token
        if not token:
            return pages


def _measure(database: str, url: str | None, work: Path, runs: int) -> list[list[str]]:
    settings = Settings(data_dir=work / database, listen="127.0.0.1:0", database_url=url)
    server = create_server(settings)
    server.start()
    unbounded = DatabaseTimeouts(statement=None, call=None)
    engine = create_database_engine(
        settings.resolved_database_url, fsync=False, pool_size=1, timeouts=unbounded
    )
    rows = []
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = rpc.FerryServiceStub(channel)
            for pattern in PATTERNS:
                task_id = insert_big_task(engine, ANONYMOUS, pattern)
                first = pb.QueryMissingBlocksRequest(task_id=task_id)
                stub.QueryMissingBlocks(first)  # warm the caches once, as a live task has them
                first_ms = _median_ms(lambda r=first: stub.QueryMissingBlocks(r), runs)
                reply = stub.QueryMissingBlocks(first)
                later_ms = "-"
                if reply.next_page_token:
                    later = pb.QueryMissingBlocksRequest(
                        task_id=task_id, page_token=reply.next_page_token
                    )
                    later_ms = f"{_median_ms(lambda r=later: stub.QueryMissingBlocks(r), runs):.0f}"
                pages = _walk(stub, task_id)
                walk_ms = _median_ms(lambda t=task_id: _walk(stub, t), max(3, runs // 2))
                row = [database, pattern, f"{first_ms:.0f}", later_ms, str(pages), f"{walk_ms:.0f}"]
                print(" | ".join(row), flush=True)
                rows.append(row)
    finally:
        engine.dispose()
        server.stop(grace=0)
    return rows


def _write(rows: list[list[str]], runs: int) -> None:
    load = os.getloadavg()
    lines = [
        HEADING,
        "",
        f"`python -m bench.missing_blocks` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} cores, {platform.python_version()}, load average at the end "
        f"{load[0]:.1f}): a real server on loopback, the task's rows inserted in bulk; "
        "milliseconds, "
        f"median of {runs} calls (the walk: of {max(3, runs // 2)}). A page looks at 8,192 "
        "blocks at most and holds 10,000 ranges at most; committed bytes are counted on the "
        "first page of a task of at most 8,192 blocks only, so no page here counts them.",
        "",
        "| database | committed | first page ms | later page ms | pages | every page ms |",
        "|---|---|---|---|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]
    text = RESULTS.read_text() if RESULTS.exists() else ""
    section = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    block = "\n".join(lines) + "\n"
    text = section.sub(block, text) if section.search(text) else text.rstrip() + "\n\n" + block
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    print(f"tasks of {BLOCKS} blocks; database | committed | first | later | pages | walk")
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="ferry-bench-missing-") as work:
        rows += _measure("SQLite", None, Path(work), args.runs)
        schema = f"ferry_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            rows += _measure("PostgreSQL", url, Path(work), args.runs)
        finally:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    if not args.no_write:
        _write(rows, args.runs)


if __name__ == "__main__":
    main()
