"""``python -m bench.write_cost``: what one upload costs the server: bytes written to disk per
byte uploaded, CPU seconds, and Merge latency (last acknowledgement to Merge's reply).

A quick probe, not part of ``make bench``: it starts ``python -m ferry_server`` (whichever is
importable, so the same script measures main), sends one file in ascending blocks over one
stream with raw stubs, merges, and reads the server's ``/proc/<pid>/io`` and CPU times.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import google_crc32c
import grpc
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc

MiB = 1 << 20


def _io_written(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/<pid>/io")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _requests(task: pb.Task, data: bytes):
    for index in range(task.block_count):
        start = index * task.block_size
        block = memoryview(data)[start : start + task.block_size]
        crc = google_crc32c.value(bytes(block))
        for offset in range(0, len(block), MiB):
            piece = bytes(block[offset : offset + MiB])
            message = pb.UploadPartsRequest(
                task_id=task.task_id, block_index=index, offset=offset, data=piece
            )
            if offset + len(piece) == len(block):
                message.crc32c = crc
            yield message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data = os.urandom(args.size_mib * MiB)
    digest = hashlib.sha256(data).hexdigest()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as scratch:
        port_file = Path(scratch) / "port"
        server = subprocess.Popen(
            [sys.executable, "-m", "ferry_server", "--listen", "127.0.0.1:0",
             "--data-dir", str(Path(scratch) / "data"), "--port-file", str(port_file),
             "--log-level", os.environ.get("BENCH_LOG_LEVEL", "WARNING")],
        )  # fmt: skip
        try:
            while not port_file.exists():
                time.sleep(0.05)
            address = f"127.0.0.1:{int(port_file.read_text())}"
            with grpc.insecure_channel(
                address, options=[("grpc.max_send_message_length", 4 * MiB)]
            ) as channel:
                stub = rpc.FerryServiceStub(channel)
                for run in range(args.runs):
                    task = stub.CreateTask(pb.CreateTaskRequest(
                        file_name="f", size=len(data), sha256=digest, store_path=f"cost/{run}.bin",
                    )).task  # fmt: skip
                    written, cpu = _io_written(server.pid), _cpu_seconds(server.pid)
                    started = time.perf_counter()
                    acks = list(stub.UploadParts(_requests(task, data)))
                    last_ack = time.perf_counter()
                    assert all(a.status == pb.BLOCK_STATUS_COMMITTED for a in acks)
                    done = stub.Merge(pb.MergeRequest(task_id=task.task_id)).task
                    merged = time.perf_counter()
                    assert done.state == pb.TASK_STATE_COMPLETED
                    time.sleep(1)  # let the assembler's last writeback be counted
                    gib = len(data) / (1 << 30)
                    print(
                        f"run {run}: {len(data) / MiB / (last_ack - started):.0f} MiB/s upload, "
                        f"merge {1000 * (merged - last_ack):.1f} ms, "
                        f"disk {(_io_written(server.pid) - written) / gib / (1 << 30):.2f} "
                        f"GiB written per GiB, server CPU "
                        f"{(_cpu_seconds(server.pid) - cpu) / gib:.2f} s/GiB"
                    )
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
