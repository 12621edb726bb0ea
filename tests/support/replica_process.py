"""A replica built by ``create_server`` in a process of its own (spawned, not forked), so that a
test's many-stream client does not share the server's GIL, while the test still knows the
server's metrics address and process id."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from ferry_server.app import create_server
from ferry_server.config import Settings

#: Longest the child may take to start or stop (a loaded machine; no timing is asserted).
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Replica:
    address: str
    metrics_address: str | None
    pid: int


def _serve(settings: Settings, log_path: Path, conn: Connection) -> None:
    logging.basicConfig(
        filename=log_path, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    server = create_server(settings)
    server.start()
    conn.send((server.address, server.metrics_address))
    conn.recv()  # any message, or the parent gone: stop
    server.stop(0)


@contextmanager
def replica_process(settings: Settings, log_path: Path) -> Iterator[Replica]:
    """Run a replica for ``settings`` in a spawned child until the block ends."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(settings, log_path, child), daemon=True)
    process.start()
    try:
        if not parent.poll(START_TIMEOUT):
            raise RuntimeError(f"the replica did not start; see {log_path}")
        address, metrics_address = parent.recv()
        assert process.pid is not None
        yield Replica(address, metrics_address, process.pid)
    finally:
        # A child gone already has nothing to be told.
        with contextlib.suppress(BrokenPipeError, OSError):
            parent.send("stop")
        process.join(START_TIMEOUT)
        if process.is_alive():
            process.kill()
            process.join()
