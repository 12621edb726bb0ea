"""``python -m bench.commit_rate``: block commits per second and their latency for one task with
many concurrent committers, at the repository level (no gRPC, no disk), on PostgreSQL.

This isolates the SQL of the write path: each commit is ``TaskRepository.commit_block`` for a
distinct block of one task, from ``--committers`` threads at once. Not part of ``make test``.
Runs against whichever ``ferry_server`` is importable (so the same script measures main).
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
from ferry_server.domain import ports
from ferry_server.persistence.database import create_database_engine, migrate
from ferry_server.persistence.repository import SqlTaskRepository

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _commit(task_id: str, index: int) -> ports.BlockCommit:
    now = datetime.now(UTC)
    # The fields differ between versions (attempt since issue 7; expires_at before it).
    known = {
        "task_id": task_id, "index": index, "length": 8 << 20, "crc32c": index, "now": now,
        "attempt": secrets.token_hex(8), "expires_at": now + timedelta(days=7),
    }  # fmt: skip
    names = {f.name for f in dataclasses.fields(ports.BlockCommit)}
    return ports.BlockCommit(**{k: v for k, v in known.items() if k in names})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--committers", type=int, default=16)
    parser.add_argument("--blocks", type=int, default=4000)
    args = parser.parse_args()
    schema = f"ferry_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    engine = create_database_engine(
        f"{PG_URL}?options=-csearch_path%3D{schema}", fsync=True, pool_size=args.committers
    )
    try:
        migrate(engine)
        repo = SqlTaskRepository(engine)
        now = datetime.now(UTC)
        task_id = secrets.token_hex(16)
        repo.insert(
            ports.NewTask(
                task_id=task_id, principal="bench", file_name="f", size=args.blocks * (8 << 20),
                sha256=None, store_path=f"bench/{task_id}", metadata={}, block_size=8 << 20,
                block_count=args.blocks, overwrite=False, now=now,
                expires_at=now + timedelta(days=1),
            )
        )  # fmt: skip
        latencies: list[float] = []
        lock = threading.Lock()
        next_index = iter(range(args.blocks))

        def committer() -> None:
            mine = []
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    break
                started = time.perf_counter()
                outcome = repo.commit_block(_commit(task_id, index))
                mine.append(time.perf_counter() - started)
                # Before issue 7 a first commit on PostgreSQL read as ALREADY_COMMITTED (rowcount
                # -1), though the row was inserted: count it, this measures the SQL's cost.
                assert outcome.name in ("COMMITTED", "ALREADY_COMMITTED"), outcome
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=committer) for _ in range(args.committers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        latencies.sort()
        p99 = latencies[int(0.99 * (len(latencies) - 1))]
        print(
            f"{args.blocks} commits, {args.committers} committers: {args.blocks / elapsed:.0f}/s, "
            f"median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        )
    finally:
        engine.dispose()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
