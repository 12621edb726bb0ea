"""Helpers for the client's tests: source files, published files, a quick retry policy, a gate
that holds an upload at a chosen point, a lost reply, and the ``ferry`` command as a child
process."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
from ferry.v1 import ferry_pb2 as pb
from ferry_client import RetryPolicy

KiB = 1024
MiB = 1024 * KiB

#: Retries quickly and keeps trying long enough for a server to restart on a busy machine.
QUICK_RETRY = RetryPolicy(initial_backoff=0.05, max_backoff=0.5, max_attempts=None, max_elapsed=60)
#: Generous bound for waits that only guard liveness (never a timing assertion).
LIVENESS_TIMEOUT = 60.0


def make_file(path: Path, size: int, seed: int = 0) -> Path:
    """A file of ``size`` pseudo-random bytes (reproducible from ``seed``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published(data_dir: Path, store_path: str) -> Path:
    return data_dir / "files" / store_path


class Gate:
    """A progress callback that holds the upload once ``threshold`` bytes are done.

    The first call at or past the threshold sets ``reached`` and blocks until ``release()``;
    later calls pass. Everything else the upload does waits behind it, so a test can act
    (kill the server, pause the task) at a known point without racing the upload.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.reached = threading.Event()
        self._released = threading.Event()
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))
        if done >= self.threshold and not self.reached.is_set():
            self.reached.set()
            if not self._released.wait(LIVENESS_TIMEOUT):
                raise TimeoutError("the test never released the gate")

    def wait_reached(self) -> None:
        if not self.reached.wait(LIVENESS_TIMEOUT):
            raise TimeoutError(f"the upload never reached {self.threshold} bytes")

    def release(self) -> None:
        self._released.set()


class BackgroundCall:
    """Runs ``fn()`` on a thread; ``result()`` returns its value or raises its exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:
            self._error = exc

    def result(self, timeout: float = LIVENESS_TIMEOUT) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"still running after {timeout}s")
        if self._error is not None:
            raise self._error
        return self._value


class CorruptOnce(grpc.StreamStreamClientInterceptor):  # type: ignore[type-arg]
    """Flips one data byte of the first message of block ``block_index``, the first time only.

    The client sends UploadParts requests already encoded, so this decodes, alters and
    re-encodes them. The CRC32C the client computed stays as it was, so the server must
    reject the block.
    """

    def __init__(self, block_index: int) -> None:
        self.block_index = block_index
        self.corrupted = 0
        self._lock = threading.Lock()

    def intercept_stream_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request_iterator: Any
    ) -> Any:
        def requests() -> Any:
            for request in request_iterator:
                yield self._maybe_corrupt(request)

        return continuation(client_call_details, requests())

    def _maybe_corrupt(self, raw: bytes) -> bytes:
        request = pb.UploadPartsRequest.FromString(raw)
        if request.block_index != self.block_index or request.offset != 0:
            return raw
        with self._lock:
            if self.corrupted:
                return raw
            self.corrupted += 1
        request.data = bytes([request.data[0] ^ 0xFF]) + request.data[1:]
        return request.SerializeToString()


def ferry_command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "ferry_client", *args]


def run_ferry(
    args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ferry_client ARGS`` to completion, capturing its output."""
    full_env = os.environ.copy()
    full_env.update(env or {})
    return subprocess.run(
        ferry_command(args),
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def json_output(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert completed.returncode == 0, completed.stderr
    document: dict[str, Any] = json.loads(completed.stdout)
    return document


def wait_until(condition: Callable[[], bool], what: str, timeout: float = LIVENESS_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


class LoseFirstReply(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Lets the first call of ``method`` (e.g. ``"UploadFile"``) reach the server and be
    answered, then hands the client, instead of that reply, the outcome of the same call to a
    port where nothing listens: a real UNAVAILABLE, as when the connection breaks before the
    reply arrives.

    The lost attempt never reaches the server, whatever the machine's load. (A deadline of a
    few nanoseconds is not that: gRPC rounds it up to the next millisecond and the server may
    answer within it, so the client would see no failure at all.)
    """

    def __init__(self, method: str, response_type: Any) -> None:
        self._suffix = f"/{method}"
        self._response_type = response_type
        #: The reply the client did not get.
        self.answered: Any = None
        self._nowhere = grpc.insecure_channel("127.0.0.1:1")

    def close(self) -> None:
        self._nowhere.close()

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if not details.method.endswith(self._suffix) or self.answered is not None:
            return continuation(details, request)
        self.answered = continuation(details, request).result()
        lost = self._nowhere.unary_unary(
            details.method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=self._response_type.FromString,
        )
        return lost.future(request, timeout=LIVENESS_TIMEOUT)
