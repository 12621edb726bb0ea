"""The ceiling contender: the least work any grpcio upload design can do on this machine.

A sync ``grpc.server`` whose one stream-stream method has no request deserializer: each request
is raw bytes, an 8-byte big-endian file offset followed by at most 1 MiB of data, which the
handler ``os.pwrite``s into the destination file the call's metadata names (a plain file name
inside the server's directory). No protobuf, no checksum, no database, no fsync. The client
sends the file as two parallel streams (one half each) of 1 MiB messages.

Run as ``python -m bench.ceiling serve ...`` and ``python -m bench.ceiling upload ...``: the
harness starts each in its own process so that neither shares a GIL with the other.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from types import FrameType

import grpc

SERVICE = "ferry.bench.Ceiling"
METHOD = "Write"
FULL_METHOD = f"/{SERVICE}/{METHOD}"
HEADER = 8
DEST_KEY = "x-dest"
CHUNK = 1 << 20
# Room for one chunk plus its header; the default 4 MiB would do, but say what we rely on.
MAX_MESSAGE = CHUNK + 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE),
    ("grpc.max_receive_message_length", MAX_MESSAGE),
]


def write_port_file(path: Path, port: int) -> None:
    """Publish the bound port atomically, so a reader never sees a half-written number."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{port}\n")
    tmp.replace(path)


class _Writer:
    """The servicer: pwrites every chunk at its offset and acknowledges once per stream."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def write(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        name = dict(context.invocation_metadata()).get(DEST_KEY, "")
        if not isinstance(name, str) or not name or name != Path(name).name:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{DEST_KEY} must be a file name")
        # Both streams of an upload open the same file; neither truncates the other's bytes.
        fd = os.open(self._directory / name, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            received = 0
            for request in requests:
                view = memoryview(request)
                offset = int.from_bytes(view[:HEADER], "big")
                received += os.pwrite(fd, view[HEADER:], offset)
        finally:
            os.close(fd)
        yield received.to_bytes(HEADER, "big")


def serve(directory: Path, port_file: Path, workers: int) -> None:
    writer = _Writer(directory)
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            METHOD: grpc.stream_stream_rpc_method_handler(
                writer.write, request_deserializer=None, response_serializer=None
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers), options=CHANNEL_OPTIONS)
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    write_port_file(port_file, port)
    stop.wait()
    server.stop(grace=1).wait()


def _chunks(fd: int, start: int, end: int) -> Iterator[bytes]:
    offset = start
    while offset < end:
        data = os.pread(fd, min(CHUNK, end - offset), offset)
        if not data:
            raise OSError(f"short read at offset {offset}")
        yield offset.to_bytes(HEADER, "big") + data
        offset += len(data)


def upload(target: str, path: Path, streams: int, dest: str) -> dict[str, float | int | str]:
    """Send ``path`` as ``dest`` over ``streams`` parallel streams; returns the timing measured
    in this process."""
    size = path.stat().st_size
    # Split on chunk boundaries so every message but the file's last carries a full 1 MiB.
    chunks = -(-size // CHUNK)
    bounds = [min(size, (chunks * i // streams) * CHUNK) for i in range(streams + 1)]
    fd = os.open(path, os.O_RDONLY)
    acknowledged = [0] * streams
    errors: list[BaseException] = []
    with grpc.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        call = channel.stream_stream(
            FULL_METHOD, request_serializer=None, response_deserializer=None
        )

        def send(index: int) -> None:
            try:
                chunks = _chunks(fd, bounds[index], bounds[index + 1])
                for reply in call(chunks, metadata=((DEST_KEY, dest),)):
                    acknowledged[index] += int.from_bytes(reply, "big")
            except BaseException as exc:
                errors.append(exc)

        cpu0 = time.process_time()
        t0 = time.perf_counter()
        threads = [threading.Thread(target=send, args=(i,)) for i in range(streams)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    os.close(fd)
    if errors:
        raise errors[0]
    if sum(acknowledged) != size:
        raise RuntimeError(f"server acknowledged {sum(acknowledged)} of {size} bytes")
    return {"seconds": seconds, "bytes": size, "files": 1, "client_cpu_seconds": cpu, "dest": dest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the minimal servicer")
    p_serve.add_argument("--dir", type=Path, required=True, help="where uploads are written")
    p_serve.add_argument("--port-file", type=Path, required=True)
    p_serve.add_argument("--workers", type=int, default=4)
    p_up = sub.add_parser("upload", help="send one file; prints a JSON line")
    p_up.add_argument("--target", required=True)
    p_up.add_argument("--file", type=Path, required=True)
    p_up.add_argument("--streams", type=int, default=2)
    p_up.add_argument("--dest", required=True, help="file name to write on the server")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.dir, args.port_file, args.workers)
    else:
        json.dump(upload(args.target, args.file, args.streams, args.dest), sys.stdout)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
