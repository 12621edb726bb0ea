"""``python -m bench.sql_per_block``: SQL statements and transactions per committed block, counted
with SQLAlchemy engine events in this process (a measuring helper, not production code), for
one upload through a real in-process server and the Python client, on SQLite and PostgreSQL
(and PostgreSQL with --db-transaction-pooling, whose SET LOCAL adds one per transaction)."""

from __future__ import annotations

import argparse
import collections
import os
import secrets
import tempfile
import threading
from pathlib import Path
from typing import Any

import psycopg
from ferry_client import FerryClient
from ferry_server.app import create_server
from ferry_server.config import KiB, Settings
from sqlalchemy import Engine, event

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class Counter:
    """Statements by kind and commits of every engine in this process while ``counting``."""

    def __init__(self) -> None:
        self.counting = False
        self.lock = threading.Lock()
        self.statements: collections.Counter[str] = collections.Counter()
        self.commits = 0
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.counting:
            words = statement.split()
            kind = " ".join(words[:2]).upper() if words else "?"
            if words and words[0].upper() in ("SELECT", "UPDATE", "DELETE"):
                table = next((w for w in words if w.startswith("ferry_")), "")
                kind = f"{words[0].upper()} {table}".strip()
            elif words and words[0].upper() == "INSERT":
                kind = f"INSERT {words[2]}" if len(words) > 2 else "INSERT"
            with self.lock:
                self.statements[kind] += 1

    def _commit(self, _conn: Any) -> None:
        if self.counting:
            with self.lock:
                self.commits += 1


def run(
    counter: Counter, name: str, url: str | None, work: Path, blocks: int, **extra: Any
) -> None:
    settings = Settings(
        data_dir=work / name, listen="127.0.0.1:0", database_url=url,
        min_block_size=64 * KiB, default_block_size=256 * KiB,
        health_interval_seconds=3600, sweep_interval_seconds=3600, **extra,
    )  # fmt: skip
    server = create_server(settings)
    server.start()
    source = work / f"{name}.bin"
    source.write_bytes(os.urandom(blocks * 256 * KiB))
    try:
        with FerryClient(f"127.0.0.1:{server.port}", state_file=work / f"{name}.json") as client:
            counter.statements.clear()
            counter.commits = 0
            counter.counting = True
            client.upload(source, f"bench/{name}.bin")
            counter.counting = False
    finally:
        server.stop(grace=0)
    total = sum(counter.statements.values())
    print(f"{name}: {blocks} blocks: {total / blocks:.2f} statements and "
          f"{counter.commits / blocks:.2f} commits per block (whole upload, incl. "
          f"CreateTask, QueryMissingBlocks, Merge)")  # fmt: skip
    for kind, count in counter.statements.most_common():
        print(f"    {count / blocks:6.2f}  {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=256)
    args = parser.parse_args()
    counter = Counter()
    with tempfile.TemporaryDirectory(prefix="ferry-bench-sql-") as tmp:
        work = Path(tmp)
        run(counter, "sqlite", None, work, args.blocks)
        schema = f"ferry_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            run(counter, "postgresql", url, work, args.blocks)
        finally:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
