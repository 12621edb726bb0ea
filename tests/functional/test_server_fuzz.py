"""Random and mutated bytes to every RPC: no answer is INTERNAL or UNKNOWN (those mean a bug in
Ferry), nothing is logged above INFO or with a traceback, and a bystander task is intact after.

A seeded generator (a failure's message gives the seed; ``FERRY_FUZZ_SEED=N`` replays it)
mutates valid requests (bit flips, cuts, insertions, splices, hostile strings) and makes up
random ones. Requests go through a raw channel with identity serializers, so the bytes reach
the server as they are.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Iterator

import google_crc32c
import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc
from ferry_server.app import FerryServer

from tests.conftest import Bystander
from tests.support.protocol import KiB, create

SERVICE = "/ferry.v1.FerryService/"
#: Requests per unary RPC, and UploadParts streams; a few seconds per database in all.
ROUNDS = 200
#: Codes that mean Ferry failed, not the request.
BUG_CODES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
HOSTILE_TEXT = [
    "",
    "\x00",
    "a\x00b",
    "\n2026-11-22 04:00:00 ERROR forged",
    "\u202egnp.exe",
    "\u0085\u009b\u2028\u2029\u200b\ufeff",
    "e\u0301",
    "../../etc/passwd",
    "/abs",
    "a" * 9000,
    "\u00e9" * 5000,
    "\U0001f600" * 300,
    "0" * 31 + "G",
    "%s%s%n",
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        at = rng.randint(0, len(buf))
        if op == 0 and buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            del buf[at:]
        elif op == 2:
            buf[at:at] = rng.randbytes(rng.randint(1, 12))
        elif op == 3 and buf:
            i = rng.randrange(len(buf))
            buf[i] = rng.choice([0x00, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x1A, 0x22])
        elif op == 4:
            buf[at:at] = buf[rng.randint(0, len(buf)) :][: rng.randint(1, 40)]
        else:
            # A huge length or varint where the parser expects a small one.
            buf[at:at] = b"\x0a\xff\xff\xff\xff\x0f"
    return bytes(buf)


def _text(rng: random.Random, valid: str) -> str:
    return valid if rng.random() < 0.5 else rng.choice(HOSTILE_TEXT)


def _valid_requests(rng: random.Random, task_id: str) -> dict[str, Callable[[], bytes]]:
    """A well-formed request per unary RPC, some of its strings hostile."""

    def ident() -> str:
        return _text(rng, task_id)

    def data() -> bytes:
        return rng.randbytes(rng.choice([0, 1, 100, 4096]))

    def upload_file() -> bytes:
        payload = data()
        return pb.UploadFileRequest(
            file_name=_text(rng, "f.bin"),
            store_path=_text(rng, f"fuzz/{rng.randrange(10**6)}.bin"),
            sha256=rng.choice(["", "0" * 64, "zz"]),
            metadata={_text(rng, "k"): _text(rng, "v")},
            overwrite=rng.random() < 0.5,
            crc32c=google_crc32c.value(payload) if rng.random() < 0.8 else rng.randrange(2**32),
            data=payload,
        ).SerializeToString()

    return {
        "CreateTask": lambda: pb.CreateTaskRequest(
            file_name=_text(rng, "f.bin"),
            size=rng.choice([0, 1, 64 * KiB, 2**40, 2**63 - 1]),
            sha256=rng.choice(["", "0" * 64, "Z" * 64]),
            store_path=_text(rng, f"fuzz/{rng.randrange(10**6)}.bin"),
            metadata={_text(rng, "k"): _text(rng, "v")},
            block_size=rng.choice([0, 64 * KiB, 3, 2**31 - 1]),
            overwrite=rng.random() < 0.5,
        ).SerializeToString(),
        "QueryMissingBlocks": lambda: pb.QueryMissingBlocksRequest(
            task_id=ident()
        ).SerializeToString(),
        "SetState": lambda: pb.SetStateRequest(
            task_id=ident(),
            state=rng.choice([0, 1, 2, 3, 4, 99, -1]),  # type: ignore[arg-type]
        ).SerializeToString(),
        "Merge": lambda: pb.MergeRequest(
            task_id=ident(), sha256=rng.choice(["", "0" * 64, "x"])
        ).SerializeToString(),
        "UploadFile": upload_file,
        "GetTask": lambda: pb.GetTaskRequest(task_id=ident()).SerializeToString(),
        "ListTasks": lambda: pb.ListTasksRequest(
            page_size=rng.choice([0, 1, -1, 2**31 - 1]),
            page_token=rng.choice(["", _text(rng, "eyJ2IjoxfQ"), ident()]),
            states=rng.sample([0, 1, 3, 6, 99, -1], k=rng.randint(0, 2)),  # type: ignore[arg-type]
            store_path_prefix=_text(rng, "fuzz/"),
            metadata=rng.choice([[], [_text(rng, "k=v")], ["=", "k"]]),
            order_by=rng.choice(["", "create_time", "size desc", _text(rng, "x")]),
            all_principals=rng.random() < 0.5,
        ).SerializeToString(),
        "GetStats": lambda: pb.GetStatsRequest(
            all_principals=rng.random() < 0.5
        ).SerializeToString(),
        "ReadFile": lambda: pb.ReadFileRequest(
            store_path=rng.choice(["", _text(rng, READABLE)]),
            task_id=rng.choice(["", ident()]),
            offset=rng.choice([0, 1, 3, 2**40, 2**64 - 1]),
            length=rng.choice([0, 1, 2**63]),
            if_generation=rng.choice(["", ident()]),
        ).SerializeToString(),
    }


#: A file published for ReadFile to find.
READABLE = "fuzz/readable.bin"


def _request(rng: random.Random, valid: Callable[[], bytes]) -> bytes:
    roll = rng.random()
    if roll < 0.2:
        return rng.randbytes(rng.randint(0, 64))
    if roll < 0.4:
        return valid()
    return _mutate(rng, valid())


def _seed() -> int:
    chosen = os.environ.get("FERRY_FUZZ_SEED")
    return int(chosen) if chosen else random.randrange(2**32)


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[attr-defined, no-any-return]
    return grpc.StatusCode.OK


@pytest.fixture
def target(stub: rpc.FerryServiceStub, bystander: Bystander) -> pb.Task:
    """A task the fuzzed requests aim at (the bystander is never named)."""
    return create(stub, bytes(4 * 64 * KiB), "fuzz/target.bin", block_size=64 * KiB)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log_records(
    caplog: pytest.LogCaptureFixture, server: FerryServer
) -> Iterator[list[logging.LogRecord]]:
    """What the server logs from now on (the test's call included; caplog.records taken here
    would be the setup phase's alone), not what it logged starting (e.g. the WARNING that no
    credentials are configured)."""
    caplog.set_level(logging.DEBUG)
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)


def _assert_quiet(records: list[logging.LogRecord]) -> None:
    loud = [r for r in records if r.levelno > logging.INFO or r.exc_info]
    assert not loud, [r.getMessage()[:200] for r in loud]


@pytest.mark.parametrize("method", ["CreateTask", "QueryMissingBlocks", "SetState", "Merge",
                                    "UploadFile", "GetTask", "ListTasks",
                                    "GetStats"])  # fmt: skip
def test_random_and_mutated_bytes_to_a_unary_rpc_are_never_a_bug(
    server: FerryServer,
    channel: grpc.Channel,
    target: pb.Task,
    log_records: list[logging.LogRecord],
    method: str,
) -> None:
    seed = _seed()
    rng = random.Random(seed)
    valid = _valid_requests(rng, target.task_id)[method]
    call = channel.unary_unary(
        SERVICE + method, request_serializer=None, response_deserializer=None
    )
    codes = {}
    for _ in range(ROUNDS):
        request = _request(rng, valid)
        code = _code(lambda request=request: call(request, timeout=30))
        assert code not in BUG_CODES, f"{method} {request[:200]!r} -> {code} (seed {seed})"
        codes[code] = codes.get(code, 0) + 1
    # The generator reaches past the parser: some requests are parsed and judged.
    assert set(codes) - {grpc.StatusCode.INVALID_ARGUMENT}, codes
    _assert_quiet(log_records)


def test_random_and_mutated_bytes_to_read_file_are_never_a_bug(
    server: FerryServer,
    stub: rpc.FerryServiceStub,
    channel: grpc.Channel,
    target: pb.Task,
    log_records: list[logging.LogRecord],
) -> None:
    stub.UploadFile(
        pb.UploadFileRequest(file_name="readable.bin", store_path=READABLE, data=b"abc",
                             crc32c=google_crc32c.value(b"abc"))
    )  # fmt: skip
    seed = _seed()
    rng = random.Random(seed)
    valid = _valid_requests(rng, target.task_id)["ReadFile"]
    call = channel.unary_stream(
        SERVICE + "ReadFile", request_serializer=None, response_deserializer=None
    )
    codes = {}
    for _ in range(ROUNDS):
        request = _request(rng, valid)
        code = _code(lambda request=request: list(call(request, timeout=30)))
        assert code not in BUG_CODES, f"ReadFile {request[:200]!r} -> {code} (seed {seed})"
        codes[code] = codes.get(code, 0) + 1
    assert set(codes) - {grpc.StatusCode.INVALID_ARGUMENT}, codes
    _assert_quiet(log_records)


def test_random_and_mutated_upload_parts_streams_are_never_a_bug(
    server: FerryServer,
    channel: grpc.Channel,
    target: pb.Task,
    log_records: list[logging.LogRecord],
) -> None:
    seed = _seed()
    rng = random.Random(seed)
    call = channel.stream_stream(
        SERVICE + "UploadParts", request_serializer=None, response_deserializer=None
    )

    def part() -> bytes:
        data = rng.randbytes(rng.choice([0, 10, 64 * KiB]))
        message = pb.UploadPartsRequest(
            task_id=_text(rng, target.task_id),
            block_index=rng.choice([0, 1, 3, 4, 2**32 - 1]),
            offset=rng.choice([0, 10, 2**63]),
            data=data,
        )
        if rng.random() < 0.8:
            message.crc32c = google_crc32c.value(data)
        return message.SerializeToString()

    for _ in range(ROUNDS):
        messages = [_request(rng, part) for _ in range(rng.randint(1, 3))]
        code = _code(lambda messages=messages: list(call(iter(messages), timeout=30)))
        assert code not in BUG_CODES, f"UploadParts {messages!r:.300} -> {code} (seed {seed})"
    _assert_quiet(log_records)
