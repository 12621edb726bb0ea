"""The long-link benchmark's link emulator (bench/link): two real network namespaces joined by
linkemu carry ICMP and TCP intact, never sooner than the delay and never faster than the rate
allow (lower bounds only: what an emulator must not do, whatever the machine's load). Needs root
on Linux, as the benchmark does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.link.netns import SERVER_ADDR, Link, LinkUnavailable, Setting, build, check_possible
from tests.support.client_tools import MiB, make_file
from tests.support.components import unavailable

REPO_ROOT = Path(__file__).resolve().parents[2]


def probe(link: Link, side: str, *args: str) -> list[str]:
    return link.argv(side, [sys.executable, "-m", "bench.link.probe", *args])


def test_the_link_delays_limits_and_carries_bytes_intact(tmp_path: Path) -> None:
    try:
        check_possible()
        binary = build(tmp_path / "build")
    except LinkUnavailable as exc:
        unavailable(f"the link emulator cannot run here: {exc}")
    setting = Setting("test", rate=20e6, rtt=0.020)
    source = make_file(tmp_path / "src.bin", 2 * MiB)
    port_file = tmp_path / "port"
    # Names of our own (at most 15 characters for the device), so parallel runs never meet.
    with Link(binary, tag=f"fl{os.getpid() % 100000}") as link:
        link.start(setting)
        ping = subprocess.run(
            probe(link, "client", "ping", SERVER_ADDR, "--count", "5"),
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        receiver = subprocess.Popen(
            probe(
                link, "server", "receive", "--listen", SERVER_ADDR, "--port-file", str(port_file)
            ),
            cwd=REPO_ROOT,
        )
        try:
            while not port_file.exists():
                assert receiver.poll() is None, "the receiver exited before listening"
                time.sleep(0.05)
            sent = subprocess.run(
                probe(link, "client", "send", SERVER_ADDR, port_file.read_text().strip(),
                      str(source)),
                cwd=REPO_ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
        finally:
            receiver.terminate()
            receiver.wait(timeout=10)
        counters = link.stop()

    rtt = json.loads(ping.stdout)
    assert rtt["received"] == 5
    assert rtt["rtt_min_ms"] >= 20.0
    report = json.loads(sent.stdout)
    # The sender checked that the receiver counted every byte; the link let them through no
    # faster than 20 Mbit/s (and TCP/IP headers come on top of the file's bytes).
    assert report["bytes"] == 2 * MiB
    assert report["seconds"] >= 2 * MiB * 8 / 20e6
    assert counters is not None
    a_to_b = counters["a_to_b"]
    assert isinstance(a_to_b, dict)
    assert a_to_b["bytes"] > 2 * MiB
    assert not Path(f"/var/run/netns/{link.ns_client}").exists()
