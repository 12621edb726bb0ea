"""Small files through the client against a real server: a file of at most UPLOAD_FILE_MAX_SIZE
bytes goes whole in one UploadFile request (at the limit's edges, corrupted in transit, sent twice,
refused), and in blocks when the server lacks UploadFile or a task already holds its store_path."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_client import (
    AlreadyExists,
    FerryClient,
    IntegrityError,
    InvalidRequest,
    TaskState,
)
from ferry_client.transport import UPLOAD_FILE_MAX_SIZE
from ferry_server.app import FerryServer

from tests.support.client_tools import (
    QUICK_RETRY,
    KiB,
    LoseFirstReply,
    make_file,
    published,
    sha256_of,
)

BLOCK = 64 * KiB
#: What one upload in blocks calls, in order, for a file of at least one block (each of its
#: streams is an UploadParts call; ``MethodLog.sequence`` counts them as one).
BLOCK_PATH = ["CreateTask", "QueryMissingBlocks", "UploadParts", "QueryMissingBlocks", "Merge"]


class MethodLog(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamStreamClientInterceptor,  # type: ignore[type-arg]
):
    """Records the name of every RPC the client starts, in order (e.g. ``"UploadFile"``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.methods: list[str] = []

    @property
    def sequence(self) -> list[str]:
        """``methods`` with repeats in a row counted once (parallel streams, retries)."""
        return [m for n, m in enumerate(self.methods) if n == 0 or self.methods[n - 1] != m]

    def _note(self, details: Any) -> None:
        with self._lock:
            self.methods.append(details.method.rsplit("/", 1)[-1])

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self._note(details)
        return continuation(details, request)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        self._note(details)
        return continuation(details, requests)


class DamageUploadFile(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Flips the first data byte of the first ``times`` UploadFile requests, after the client
    computed their CRC32C; with ``fix_crc`` it then recomputes the CRC32C, so that only the
    declared SHA-256 can tell."""

    def __init__(self, *, times: int = 1, fix_crc: bool = False) -> None:
        self.times = times
        self.fix_crc = fix_crc
        self.damaged = 0

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if details.method.endswith("/UploadFile") and request.data and self.damaged < self.times:
            self.damaged += 1
            damaged = pb.UploadFileRequest()
            damaged.CopyFrom(request)
            damaged.data = bytes([request.data[0] ^ 0xFF]) + request.data[1:]
            if self.fix_crc:
                damaged.crc32c = google_crc32c.value(damaged.data)
            request = damaged
        return continuation(details, request)


class ServerWithoutUploadFile(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """A gRPC server standing in for an older Ferry: it passes every FerryService call on to
    ``target`` untouched (raw bytes), except UploadFile, which it does not know, so gRPC
    answers UNIMPLEMENTED."""

    def __init__(self, target: str) -> None:
        self._upstream = grpc.insecure_channel(target)
        self._server = grpc.server(ThreadPoolExecutor(max_workers=8))
        self._server.add_generic_rpc_handlers((self,))
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"

    def __enter__(self) -> ServerWithoutUploadFile:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)
        self._upstream.close()

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:  # type: ignore[type-arg]
        method: str = details.method
        if not method.startswith("/ferry.v1.FerryService/") or method.endswith("/UploadFile"):
            return None
        if method.endswith("/UploadParts"):
            return grpc.stream_stream_rpc_method_handler(self._stream(method))
        return grpc.unary_unary_rpc_method_handler(self._unary(method))

    def _unary(self, method: str) -> Callable[[bytes, grpc.ServicerContext], bytes]:
        call = self._upstream.unary_unary(
            method, request_serializer=None, response_deserializer=None
        )

        def forward(request: bytes, context: grpc.ServicerContext) -> bytes:
            try:
                response: bytes = call(request, timeout=context.time_remaining())
            except grpc.RpcError as exc:
                context.abort(exc.code(), exc.details() or "")
            return response

        return forward

    def _stream(
        self, method: str
    ) -> Callable[[Iterator[bytes], grpc.ServicerContext], Iterator[bytes]]:
        call = self._upstream.stream_stream(
            method, request_serializer=None, response_deserializer=None
        )

        def forward(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
            responses = call(requests)
            context.add_callback(responses.cancel)
            try:
                yield from responses
            except grpc.RpcError as exc:
                context.abort(exc.code(), exc.details() or "")

        return forward


@pytest.fixture
def calls() -> MethodLog:
    return MethodLog()


@pytest.fixture
def client(server: FerryServer, tmp_path: Path, calls: MethodLog) -> Iterator[FerryClient]:
    with FerryClient(
        server.address,
        state_file=tmp_path / "state.json",
        retry=QUICK_RETRY,
        interceptors=[calls],
    ) as c:
        yield c


@pytest.mark.parametrize(
    "size",
    [0, 1, BLOCK, UPLOAD_FILE_MAX_SIZE],
    ids=["empty", "one-byte", "one-block", "exactly-the-limit"],
)
def test_small_file_goes_whole_in_one_upload_file_request(
    client: FerryClient, server: FerryServer, calls: MethodLog, tmp_path: Path, size: int
) -> None:
    source = make_file(tmp_path / "src.bin", size, seed=size)
    progress: list[tuple[int, int]] = []
    hashing: list[tuple[int, int]] = []

    result = client.upload(
        source,
        "small/file.bin",
        metadata={"owner": "tests"},
        progress=lambda done, total: progress.append((done, total)),
        hash_progress=lambda done, total: hashing.append((done, total)),
    )

    assert calls.methods == ["UploadFile"]
    assert published(server.settings.data_dir, "small/file.bin").read_bytes() == source.read_bytes()
    assert (result.size, result.sha256, result.store_path) == (
        size,
        sha256_of(source),
        "small/file.bin",
    )
    assert result.metadata == {"owner": "tests"}
    assert (result.resumed, result.committed_at_start, result.hashed_bytes) == (False, 0, size)
    assert (result.bytes_sent, result.bytes_resent) == (size, 0)
    assert result.blocks_sent == (1 if size else 0)
    assert (result.retries, result.checksum_mismatches) == (0, 0)
    # Whatever block size the server recorded, the task is consistent with it.
    assert result.block_size > 0 and result.block_count == -(-size // result.block_size)
    assert progress == [(size, size)] and hashing == [(size, size)]
    assert client.status(result.task_id).state is TaskState.COMPLETED
    assert client.state_file is not None and not client.state_file.exists()


def test_one_byte_over_the_limit_goes_in_blocks(
    client: FerryClient, server: FerryServer, calls: MethodLog, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", UPLOAD_FILE_MAX_SIZE + 1)

    result = client.upload(source, "over.bin", block_size=BLOCK)

    assert calls.sequence == BLOCK_PATH
    assert result.block_count == UPLOAD_FILE_MAX_SIZE // BLOCK + 1
    assert published(server.settings.data_dir, "over.bin").read_bytes() == source.read_bytes()


def test_block_size_and_parallelism_do_not_stop_a_small_file_going_whole(
    client: FerryClient, server: FerryServer, calls: MethodLog, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 3 * BLOCK)

    client.upload(source, "whole.bin", block_size=BLOCK, parallelism=3)

    assert calls.methods == ["UploadFile"]
    assert published(server.settings.data_dir, "whole.bin").read_bytes() == source.read_bytes()


def test_payload_corrupted_in_transit_is_refused_and_sent_again(
    server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 100 * KiB + 7)
    size = source.stat().st_size
    damage, calls = DamageUploadFile(), MethodLog()
    with FerryClient(
        server.address,
        state_file=tmp_path / "state.json",
        retry=QUICK_RETRY,
        interceptors=[calls, damage],
    ) as client:
        result = client.upload(source, "damaged.bin")

    assert damage.damaged == 1
    assert calls.methods == ["UploadFile", "UploadFile"]
    assert (result.retries, result.checksum_mismatches) == (1, 1)
    assert (result.bytes_sent, result.bytes_resent, result.blocks_sent) == (2 * size, size, 2)
    assert published(server.settings.data_dir, "damaged.bin").read_bytes() == source.read_bytes()


def test_lost_reply_is_retried_and_answered_with_the_task_already_published(
    server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 30 * KiB)
    lose = LoseFirstReply("UploadFile", pb.UploadFileResponse)
    with FerryClient(
        server.address, state_file=tmp_path / "state.json", retry=QUICK_RETRY, interceptors=[lose]
    ) as client:
        result = client.upload(source, "lost-reply.bin")
    lose.close()

    assert lose.answered is not None
    assert result.retries == 1 and result.checksum_mismatches == 0
    # The retry found the bytes its lost first attempt published.
    assert (result.task_id, result.resumed) == (lose.answered.task.task_id, True)
    assert published(server.settings.data_dir, "lost-reply.bin").read_bytes() == source.read_bytes()


def test_bytes_that_do_not_match_the_declared_sha256_are_not_published(
    server: FerryServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 5000)
    damage = DamageUploadFile(fix_crc=True)
    with (
        FerryClient(
            server.address, state_file=tmp_path / "state.json", interceptors=[damage]
        ) as client,
        pytest.raises(IntegrityError) as caught,
    ):
        client.upload(source, "lost.bin")

    assert caught.value.code == grpc.StatusCode.DATA_LOSS
    assert "SHA-256" in caught.value.message
    assert not published(server.settings.data_dir, "lost.bin").exists()


def test_same_small_file_again_returns_the_first_task_and_publishes_nothing(
    client: FerryClient, server: FerryServer, calls: MethodLog, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 10 * KiB)
    target = published(server.settings.data_dir, "twice.bin")

    first = client.upload(source, "twice.bin")
    before = target.stat()
    second = client.upload(source, "twice.bin")

    # The server recognises the bytes it already published there (as it would a retry whose
    # reply was lost) and answers with that task, saying so; the client did send the bytes
    # again.
    assert calls.methods == ["UploadFile", "UploadFile"]
    assert second.task_id == first.task_id
    assert (first.resumed, second.resumed) == (False, True)
    assert second.sha256 == first.sha256 == sha256_of(source)
    assert second.bytes_sent == source.stat().st_size
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_different_small_file_at_a_taken_store_path_needs_overwrite(
    client: FerryClient, server: FerryServer, tmp_path: Path
) -> None:
    one = make_file(tmp_path / "one.bin", 1000, seed=1)
    other = make_file(tmp_path / "other.bin", 1000, seed=2)
    first = client.upload(one, "taken.bin")

    with pytest.raises(AlreadyExists) as caught:
        client.upload(other, "taken.bin")
    assert "already exists" in caught.value.message
    target = published(server.settings.data_dir, "taken.bin")
    assert target.read_bytes() == one.read_bytes()

    replaced = client.upload(other, "taken.bin", overwrite=True)
    assert replaced.task_id != first.task_id
    assert target.read_bytes() == other.read_bytes()


def test_hostile_store_path_is_refused_with_the_servers_message(
    client: FerryClient, server: FerryServer, calls: MethodLog, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "src.bin", 100)
    hostile = ("../outside.bin", "/etc/passwd", "a/../../b", "bad\x00name")
    for store_path in hostile:
        with pytest.raises(InvalidRequest) as caught:
            client.upload(source, store_path)
        assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "store_path" in caught.value.message

    # Refused by UploadFile itself: nothing retried, no fall back to blocks.
    assert calls.methods == ["UploadFile"] * len(hostile)
    assert not any(published(server.settings.data_dir, "").iterdir())


def test_active_task_for_the_same_file_is_resumed_in_blocks(
    client: FerryClient,
    server: FerryServer,
    stub: rpc.FerryServiceStub,
    calls: MethodLog,
    tmp_path: Path,
) -> None:
    # As an interrupted upload in blocks (an older client, or a fall back) leaves it.
    source = make_file(tmp_path / "src.bin", 3 * BLOCK)
    created = stub.CreateTask(
        pb.CreateTaskRequest(
            file_name=source.name,
            size=source.stat().st_size,
            sha256=sha256_of(source),
            store_path="held.bin",
            block_size=BLOCK,
        )
    ).task

    result = client.upload(source, "held.bin")

    assert calls.sequence == ["UploadFile", *BLOCK_PATH]
    assert (result.task_id, result.resumed, result.block_size) == (created.task_id, True, BLOCK)
    assert result.hashed_bytes == source.stat().st_size  # read and hashed once
    assert published(server.settings.data_dir, "held.bin").read_bytes() == source.read_bytes()


def test_active_task_for_another_file_conflicts(
    client: FerryClient, stub: rpc.FerryServiceStub, calls: MethodLog, tmp_path: Path
) -> None:
    stub.CreateTask(pb.CreateTaskRequest(file_name="x", size=10, store_path="busy.bin"))
    source = make_file(tmp_path / "src.bin", 20)

    with pytest.raises(AlreadyExists) as caught:
        client.upload(source, "busy.bin")

    assert calls.methods == ["UploadFile", "CreateTask"]
    assert "busy.bin" in caught.value.message


@pytest.mark.parametrize("size", [0, 1, 3 * BLOCK + 5], ids=["empty", "one-byte", "blocks"])
def test_server_without_upload_file_gets_small_files_in_blocks(
    server: FerryServer, tmp_path: Path, size: int
) -> None:
    sources = [make_file(tmp_path / f"src{n}.bin", size, seed=n) for n in range(2)]
    calls = MethodLog()
    with (
        ServerWithoutUploadFile(server.address) as old,
        FerryClient(
            old.address,
            state_file=tmp_path / "state.json",
            retry=QUICK_RETRY,
            interceptors=[calls],
        ) as client,
    ):
        first = client.upload(sources[0], "old/0.bin", block_size=BLOCK)
        second = client.upload(sources[1], "old/1.bin", block_size=BLOCK)

    in_blocks = BLOCK_PATH if size else ["CreateTask", "QueryMissingBlocks", "Merge"]
    # UNIMPLEMENTED once; the client remembers it and asks no more.
    assert calls.sequence == ["UploadFile", *in_blocks, *in_blocks]
    for n, result in enumerate((first, second)):
        target = published(server.settings.data_dir, f"old/{n}.bin")
        assert target.read_bytes() == sources[n].read_bytes()
        assert (result.block_size, result.retries, result.hashed_bytes) == (BLOCK, 0, size)
