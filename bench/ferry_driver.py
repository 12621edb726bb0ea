"""Ferry's client side in the benchmark: drives ``ferry_client.FerryClient`` in a process of its
own (so the OS can tell its peak memory apart from the harness's) and prints one JSON line.

``one``: a single file with the client's defaults (two streams, the server's block size, full
SHA-256 verification; the timing includes hashing). With ``--instrument`` it also notes, through
gRPC client interceptors (a hook ``FerryClient`` offers), when the last block acknowledgement
arrived and when Merge was sent and answered.

``many``: every file of a directory, ``--concurrency`` uploads at a time on one shared client
(``FerryClient`` allows calls from several threads).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from ferry_client import FerryClient


class _AckStream:
    """Stands in for an UploadParts call, noting when each acknowledgement arrives."""

    def __init__(self, call: Any, on_ack: Callable[[], None]) -> None:
        self._call = call
        self._on_ack = on_ack

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        ack = next(self._call)
        self._on_ack()
        return ack

    def __getattr__(self, name: str) -> Any:
        # cancel(), code(), details() and the rest belong to the real call.
        return getattr(self._call, name)


class Timeline(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamStreamClientInterceptor,  # type: ignore[type-arg]
):
    """When the last acknowledgement and the Merge call happened (perf_counter seconds)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.acks = 0
        self.last_ack: float | None = None
        self.merge_sent: float | None = None
        self.merge_answered: float | None = None
        self.hashed: float | None = None

    def _ack(self) -> None:
        now = time.perf_counter()
        with self._lock:
            self.acks += 1
            self.last_ack = now

    def hash_progress(self, done: int, total: int) -> None:
        if done == total:
            self.hashed = time.perf_counter()

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if not details.method.endswith("/Merge"):
            return continuation(details, request)
        sent = time.perf_counter()
        outcome = continuation(details, request)
        # The client sees an error through the outcome; only the time matters here.
        with contextlib.suppress(grpc.RpcError):
            outcome.result()
        self.merge_sent, self.merge_answered = sent, time.perf_counter()
        return outcome

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return _AckStream(continuation(details, requests), self._ack)


def upload_one(
    target: str, path: Path, prefix: str, state_file: Path, instrument: bool
) -> dict[str, Any]:
    timeline = Timeline() if instrument else None
    interceptors = [timeline] if timeline is not None else []
    with FerryClient(target, state_file=state_file, interceptors=interceptors) as client:
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        result = client.upload(
            path,
            f"{prefix}/{path.name}",
            hash_progress=timeline.hash_progress if timeline is not None else None,
        )
        t1 = time.perf_counter()
        cpu = time.process_time() - cpu0
    report: dict[str, Any] = {
        "seconds": t1 - t0,
        "bytes": result.size,
        "files": 1,
        "client_cpu_seconds": cpu,
        "store_path": result.store_path,
        "block_size": result.block_size,
        "retries": result.retries,
        "bytes_resent": result.bytes_resent,
    }
    if timeline is not None:
        last_ack, sent, answered = timeline.last_ack, timeline.merge_sent, timeline.merge_answered
        if last_ack is None or sent is None or answered is None or timeline.hashed is None:
            raise RuntimeError("the interceptors saw no acknowledgement, no hash or no Merge")
        report["instrumented"] = {
            "hash_seconds": timeline.hashed - t0,
            "acks": timeline.acks,
            "last_ack_to_merge_reply": answered - last_ack,
            "merge_rpc_seconds": answered - sent,
            "merge_reply_to_return": t1 - answered,
        }
    return report


def upload_many(
    target: str, directory: Path, prefix: str, concurrency: int, state_file: Path
) -> dict[str, Any]:
    paths = sorted(p for p in directory.iterdir() if p.is_file())
    with FerryClient(target, state_file=state_file) as client:

        def send(path: Path) -> int:
            return client.upload(path, f"{prefix}/{path.name}").size

        cpu0 = time.process_time()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            sizes = list(pool.map(send, paths))
        t1 = time.perf_counter()
        cpu = time.process_time() - cpu0
    return {
        "seconds": t1 - t0,
        "bytes": sum(sizes),
        "files": len(sizes),
        "client_cpu_seconds": cpu,
        "store_dir": prefix,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ferry_driver", description=__doc__)
    parser.add_argument("--target", required=True, help="HOST:PORT of the Ferry server")
    parser.add_argument("--state-file", type=Path, required=True, help="the client's state file")
    parser.add_argument("--prefix", default="bench", help="directory of the store paths")
    sub = parser.add_subparsers(dest="mode", required=True)
    one = sub.add_parser("one", help="upload one file")
    one.add_argument("file", type=Path)
    one.add_argument("--instrument", action="store_true", help="time the last ack and Merge")
    many = sub.add_parser("many", help="upload every file of a directory")
    many.add_argument("directory", type=Path)
    many.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    if args.mode == "one":
        report = upload_one(args.target, args.file, args.prefix, args.state_file, args.instrument)
    else:
        report = upload_many(
            args.target, args.directory, args.prefix, args.concurrency, args.state_file
        )
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
