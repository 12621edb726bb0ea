"""The client side of the open-streams scenario, in processes of its own: ``streams`` holds many
UploadParts streams open on one server (most idle, some sending real blocks of real tasks as
fast as flow control lets them), ``probe`` times GetTask calls on a channel of its own.

Both talk to the harness over stdin/stdout, one JSON object a line, so the harness can order
the steps (streams opened, then probe, then stop) without timing guesses:

- ``streams`` prints ``{"event": "opened", ...}`` once every stream it holds has sent its
  headers, then waits for a ``stop`` line (or EOF, or ``--max-seconds``), cancels what is left,
  and prints ``{"event": "done", ...}`` with what happened to every stream.
- ``probe`` connects, makes one untimed call, prints ``{"event": "ready"}``, waits for a ``go``
  line, then sends ``--calls`` GetTask calls ``--interval`` apart whatever the earlier ones do
  (open loop: a slow answer does not delay the next call, so a stall shows in the figures
  instead of hiding in fewer calls) and prints ``{"event": "done", ...}``.

Every call has a deadline, so a server that answers nothing (the thread-pool server with all
its workers held by idle streams) gives figures and a clean end instead of a hang.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import google_crc32c
import grpc
import grpc.aio
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as pb_grpc
from google.rpc import error_details_pb2, status_pb2

MiB = 1 << 20
#: Streams sharing one HTTP/2 connection; distinct channel arguments keep grpc from pooling
#: the channels onto one connection.
STREAMS_PER_CHANNEL = 100
STATUS_DETAILS_KEY = "grpc-status-details-bin"


def say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def describe_error(error: grpc.aio.AioRpcError) -> str:
    """``CODE`` or ``CODE/REASON`` when the status carries a google.rpc.ErrorInfo."""
    code = error.code().name
    for key, value in error.trailing_metadata() or ():
        if key != STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return f"{code}/{info.reason}"
    return code


@dataclass
class Block:
    """One block's bytes in ``message``-sized pieces and its CRC32C."""

    pieces: list[bytes]
    crc32c: int


def make_blocks(block_size: int, message: int, count: int) -> list[Block]:
    blocks = []
    for _ in range(count):
        data = os.urandom(block_size)
        pieces = [data[i : i + message] for i in range(0, block_size, message)]
        blocks.append(Block(pieces, google_crc32c.value(data)))
    return blocks


@dataclass
class Tally:
    """What happened to this process's streams."""

    opened: int = 0
    open_failed: Counter[str] = field(default_factory=Counter)
    #: Streams the server ended before we stopped: status (CODE/REASON) -> seconds after
    #: the stream opened, one entry a stream.
    ended: dict[str, list[float]] = field(default_factory=dict)
    acks: Counter[str] = field(default_factory=Counter)
    acked_bytes: int = 0
    #: Active streams that received at least one acknowledgement.
    active_served: int = 0


async def status_of(call: Any) -> str:
    """``CODE`` or ``CODE/REASON`` of a finished call."""
    code = await call.code()
    for key, value in await call.trailing_metadata() or ():
        if key != STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return f"{code.name}/{info.reason}"
    return str(code.name)


async def watch(call: Any, opened_at: float, tally: Tally, stop: asyncio.Event) -> None:
    """Until we stop: note how and when the server ends ``call``; then cancel it."""
    stopping = asyncio.create_task(stop.wait())
    ending = asyncio.create_task(status_of(call))
    await asyncio.wait({stopping, ending}, return_when=asyncio.FIRST_COMPLETED)
    if ending.done() and not stop.is_set():
        name = ending.result()
        tally.ended.setdefault(name, []).append(time.monotonic() - opened_at)
    else:
        call.cancel()
    stopping.cancel()
    ending.cancel()


async def open_stream(
    stub: pb_grpc.FerryServiceStub, tally: Tally, opened: asyncio.Event
) -> tuple[Any, float] | None:
    call = stub.UploadParts()
    try:
        await call.wait_for_connection()
    except grpc.aio.AioRpcError as error:
        tally.open_failed[describe_error(error)] += 1
        return None
    finally:
        opened.set()
    tally.opened += 1
    return call, time.monotonic()


async def send_blocks(
    call: Any, task_id: str, block_count: int, blocks: list[Block], stop: asyncio.Event
) -> None:
    index = 0
    while not stop.is_set() and index < block_count:
        block = blocks[index % len(blocks)]
        offset = 0
        last = len(block.pieces) - 1
        for i, piece in enumerate(block.pieces):
            request = pb.UploadPartsRequest(
                task_id=task_id, block_index=index, offset=offset, data=piece
            )
            if i == last:
                request.crc32c = block.crc32c
            # Flow control: write() waits while the server reads no further.
            await call.write(request)
            offset += len(piece)
        index += 1
    if not stop.is_set():
        await call.done_writing()


async def active_stream(
    stub: pb_grpc.FerryServiceStub,
    task_id: str,
    block_count: int,
    blocks: list[Block],
    block_size: int,
    tally: Tally,
    opened: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    """Sends the task's blocks one after the other, without waiting for acknowledgements."""
    started = await open_stream(stub, tally, opened)
    if started is None:
        return
    call, opened_at = started
    served = False

    async def read_acks() -> None:
        nonlocal served
        async for ack in call:
            tally.acks[pb.BlockStatus.Name(ack.status)] += 1
            if ack.status == pb.BLOCK_STATUS_COMMITTED:
                tally.acked_bytes += block_size
            served = True

    async def quietly(coroutine: Any) -> None:
        # The call's end (an error, or our cancel) reaches watch(); here it only stops work.
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            await coroutine

    workers = [
        asyncio.create_task(quietly(read_acks())),
        asyncio.create_task(quietly(send_blocks(call, task_id, block_count, blocks, stop))),
    ]
    await watch(call, opened_at, tally, stop)
    await asyncio.gather(*workers, return_exceptions=True)
    if served:
        tally.active_served += 1


async def idle_stream(
    stub: pb_grpc.FerryServiceStub, tally: Tally, opened: asyncio.Event, stop: asyncio.Event
) -> None:
    """Opens a stream and sends nothing; notes how and whether the server ends it."""
    started = await open_stream(stub, tally, opened)
    if started is not None:
        await watch(*started, tally, stop)


async def read_line() -> str:
    loop = asyncio.get_running_loop()
    return (await loop.run_in_executor(None, sys.stdin.readline)).strip()


async def run_streams(args: argparse.Namespace) -> None:
    tasks = json.loads(args.tasks)
    blocks = make_blocks(args.block_size, args.message, 4)
    tally = Tally()
    stop = asyncio.Event()
    total = args.idle + len(tasks)
    channels = [
        grpc.aio.insecure_channel(
            args.target,
            options=[
                ("grpc.max_send_message_length", 4 * MiB),
                ("bench.channel", f"{args.name}-{i}"),
            ],
        )
        for i in range((total + STREAMS_PER_CHANNEL - 1) // STREAMS_PER_CHANNEL)
    ]
    stubs = [pb_grpc.FerryServiceStub(c) for c in channels]
    # Active streams are spread among the idle ones (every n-th), as a real mix would be.
    every = max(1, total // max(1, len(tasks)))
    coroutines = []
    opened_events = []
    active = iter(tasks)
    t0 = time.monotonic()
    cpu0 = _cpu_seconds()
    for i in range(total):
        opened = asyncio.Event()
        opened_events.append(opened)
        stub = stubs[i // STREAMS_PER_CHANNEL]
        task_id = next(active, None) if i % every == 0 else None
        if task_id is not None:
            coroutines.append(
                active_stream(
                    stub, task_id, args.block_count, blocks, args.block_size, tally, opened, stop
                )
            )
        else:
            coroutines.append(idle_stream(stub, tally, opened, stop))
    running = [asyncio.create_task(c) for c in coroutines]
    waiting = asyncio.gather(*(e.wait() for e in opened_events))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(waiting, args.open_timeout)
    opened_at = time.monotonic()
    say(
        {
            "event": "opened",
            "seconds": opened_at - t0,
            "opened": tally.opened,
            "open_failed": dict(tally.open_failed),
        }
    )
    line_task = asyncio.create_task(read_line())
    await asyncio.wait({line_task}, timeout=max(0.0, args.max_seconds - (opened_at - t0)))
    window = time.monotonic() - opened_at
    bytes_in_window = tally.acked_bytes
    ended_in_window = {k: list(v) for k, v in tally.ended.items()}
    stop.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*running, return_exceptions=True), 10)
    cpu = _cpu_seconds() - cpu0
    for channel in channels:
        await channel.close()
    say(
        {
            "event": "done",
            "streams": total,
            "active": len(tasks),
            "opened": tally.opened,
            "open_failed": dict(tally.open_failed),
            "ended": ended_in_window,
            "acks": dict(tally.acks),
            "acked_bytes": bytes_in_window,
            "active_served": tally.active_served,
            "window_seconds": window,
            "cpu_seconds": cpu,
            "wall_seconds": time.monotonic() - t0,
        }
    )
    line_task.cancel()


async def run_probe(args: argparse.Namespace) -> None:
    async with grpc.aio.insecure_channel(args.target) as channel:
        stub = pb_grpc.FerryServiceStub(channel)
        request = pb.GetTaskRequest(task_id=args.task_id)
        with contextlib.suppress(grpc.aio.AioRpcError):
            await stub.GetTask(request, timeout=args.timeout)
        say({"event": "ready"})
        await read_line()
        latencies: list[float] = []
        failures: Counter[str] = Counter()

        async def one() -> None:
            start = time.perf_counter()
            try:
                await stub.GetTask(request, timeout=args.timeout)
            except grpc.aio.AioRpcError as error:
                failures[describe_error(error)] += 1
                return
            latencies.append(time.perf_counter() - start)

        t0 = time.monotonic()
        calls = []
        for i in range(args.calls):
            delay = t0 + i * args.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            calls.append(asyncio.create_task(one()))
        await asyncio.gather(*calls)
        say(
            {
                "event": "done",
                "calls": args.calls,
                "latencies": latencies,
                "failures": dict(failures),
                "timeout": args.timeout,
                "seconds": time.monotonic() - t0,
            }
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stream_load", description=__doc__)
    parser.add_argument("--target", required=True, help="HOST:PORT of the Ferry server")
    sub = parser.add_subparsers(dest="mode", required=True)
    streams = sub.add_parser("streams", help="hold UploadParts streams open")
    streams.add_argument("--name", default="g", help="tells this process's channels apart")
    streams.add_argument("--idle", type=int, required=True, help="streams that send nothing")
    streams.add_argument("--tasks", required=True, help="JSON list: one active stream a task")
    streams.add_argument("--block-size", type=int, required=True, help="the tasks' block size")
    streams.add_argument("--block-count", type=int, required=True, help="the tasks' blocks")
    streams.add_argument("--message", type=int, default=MiB, help="data bytes per message")
    streams.add_argument("--open-timeout", type=float, default=60.0)
    streams.add_argument("--max-seconds", type=float, default=150.0)
    probe = sub.add_parser("probe", help="time GetTask calls")
    probe.add_argument("--task-id", required=True)
    probe.add_argument("--calls", type=int, default=300)
    probe.add_argument("--interval", type=float, default=0.05)
    probe.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    asyncio.run(run_streams(args) if args.mode == "streams" else run_probe(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
