"""Raw measurements of the emulated link, run inside a namespace: ICMP echo round-trip times,
and one TCP connection's goodput (a receiver that discards, a sender that sends a file with
sendfile()). Each prints one JSON line on stdout.

``python -m bench.link.probe ping HOST --count N``
``python -m bench.link.probe receive --listen HOST --port-file FILE`` (until SIGTERM)
``python -m bench.link.probe send HOST PORT FILE``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import struct
import sys
import time
from pathlib import Path
from typing import Any

_ECHO_REQUEST, _ECHO_REPLY = 8, 0


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(host: str, count: int, interval: float) -> dict[str, Any]:
    """ICMP echo over a raw socket (root): the link's round-trip time as the kernel sees it."""
    ident = os.getpid() & 0xFFFF
    rtts: list[float] = []
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.settimeout(2.0)
        for seq in range(count):
            payload = b"ferry-longlink-probe".ljust(56, b".")
            header = struct.pack("!BBHHH", _ECHO_REQUEST, 0, 0, ident, seq)
            header = struct.pack(
                "!BBHHH", _ECHO_REQUEST, 0, _checksum(header + payload), ident, seq
            )
            sent = time.perf_counter()
            sock.sendto(header + payload, (host, 0))
            while True:
                try:
                    packet = sock.recv(2048)
                except TimeoutError:
                    break
                ihl = (packet[0] & 0x0F) * 4
                kind, _, _, rid, rseq = struct.unpack("!BBHHH", packet[ihl : ihl + 8])
                if kind == _ECHO_REPLY and rid == ident and rseq == seq:
                    rtts.append(time.perf_counter() - sent)
                    break
            time.sleep(interval)
    if not rtts:
        raise SystemExit(f"probe: no echo reply from {host}")
    return {
        "sent": count,
        "received": len(rtts),
        "rtt_median_ms": statistics.median(rtts) * 1000,
        "rtt_min_ms": min(rtts) * 1000,
        "rtt_max_ms": max(rtts) * 1000,
    }


def receive(listen: str, port_file: Path) -> None:
    """Accept connections one after another; read each to EOF, answer with the byte count."""
    stop = False

    def on_term(signum: int, frame: object) -> None:  # noqa: ARG001
        nonlocal stop
        stop = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    with socket.create_server((listen, 0)) as server:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(f"{server.getsockname()[1]}\n")
        tmp.rename(port_file)
        buf = bytearray(4 << 20)
        try:
            while not stop:
                conn, _ = server.accept()
                with conn:
                    total = 0
                    while n := conn.recv_into(buf):
                        total += n
                    conn.sendall(struct.pack("!Q", total))
        except KeyboardInterrupt:
            return


def send(host: str, port: int, path: Path) -> dict[str, Any]:
    """One connection: the whole file, then wait for the receiver to count it all."""
    size = path.stat().st_size
    t0 = time.perf_counter()
    with socket.create_connection((host, port)) as sock, path.open("rb") as f:
        sent = 0
        while sent < size:
            sent += os.sendfile(sock.fileno(), f.fileno(), sent, size - sent)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while len(answer) < 8:
            chunk = sock.recv(8 - len(answer))
            if not chunk:
                raise SystemExit("probe: the receiver closed without counting")
            answer += chunk
    seconds = time.perf_counter() - t0
    (received,) = struct.unpack("!Q", answer)
    if received != size:
        raise SystemExit(f"probe: sent {size} bytes, the receiver counted {received}")
    return {
        "seconds": seconds,
        "bytes": size,
        "files": 1,
        "client_cpu_seconds": time.process_time(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.link.probe", description=__doc__)
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("ping")
    p.add_argument("host")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--interval", type=float, default=0.05)
    r = sub.add_parser("receive")
    r.add_argument("--listen", required=True)
    r.add_argument("--port-file", type=Path, required=True)
    s = sub.add_parser("send")
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.mode == "receive":
        receive(args.listen, args.port_file)
        return 0
    if args.mode == "ping":
        report = ping(args.host, args.count, args.interval)
    else:
        report = send(args.host, args.port, args.file)
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
