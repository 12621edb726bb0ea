"""The emulated long link's life: build linkemu, make two network namespaces each holding a TUN
device with an address, start linkemu between them at a setting, and take it all down again
(even when something on the way fails).

Namespace A holds the clients (10.77.0.1), namespace B the servers (10.77.0.2). Run a program
on a side with :meth:`Link.argv` (``ip netns exec``, which execs, so the PID is the program's).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LINK_DIR = Path(__file__).resolve().parent
SOURCE = LINK_DIR / "linkemu.c"
CLIENT_ADDR = "10.77.0.1"
SERVER_ADDR = "10.77.0.2"
MTU = 1500


class LinkUnavailable(Exception):
    """The long link cannot be built here; the message says why."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One link: rate in bit/s both ways, round-trip time in seconds."""

    name: str
    rate: float
    rtt: float

    @property
    def bdp_bytes(self) -> int:
        return int(self.rate * self.rtt / 8)

    @property
    def queue_bytes(self) -> int:
        # Drop-tail of about one BDP, as the issue asks; never below a few full packets, or a
        # 1 ms link would drop every burst of segments.
        return max(self.bdp_bytes, 16 * MTU * 2)


SETTINGS = (
    Setting("1 Gbit/s, 1 ms RTT", 1e9, 0.001),
    Setting("500 Mbit/s, 40 ms RTT", 500e6, 0.040),
    Setting("100 Mbit/s, 150 ms RTT", 100e6, 0.150),
)


def check_possible() -> None:
    """Raise :class:`LinkUnavailable` unless this is Linux, as root, with ip, gcc and TUN."""
    if platform.system() != "Linux":
        raise LinkUnavailable(f"needs Linux network namespaces (this is {platform.system()})")
    if os.geteuid() != 0:
        raise LinkUnavailable("needs root (network namespaces and TUN devices)")
    for tool in ("ip", "gcc"):
        if shutil.which(tool) is None:
            raise LinkUnavailable(f"`{tool}` is not on PATH (apt-get install iproute2 gcc)")
    if not Path("/dev/net/tun").exists():
        raise LinkUnavailable("/dev/net/tun does not exist (no TUN support)")


def build(out_dir: Path) -> Path:
    """Compile linkemu.c into ``out_dir`` when the source is newer than the binary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / "linkemu"
    if binary.exists() and binary.stat().st_mtime >= SOURCE.stat().st_mtime:
        return binary
    done = subprocess.run(
        ["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(binary), str(SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise LinkUnavailable(f"gcc failed to build linkemu:\n{done.stderr}")
    return binary


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class Link:
    """Two namespaces joined by linkemu; a context manager that always cleans up."""

    def __init__(self, binary: Path, tag: str = "ferryll") -> None:
        self.binary = binary
        self.ns_client = f"{tag}-a"
        self.ns_server = f"{tag}-b"
        self.dev = f"{tag}0"
        self._emu: subprocess.Popen[str] | None = None
        self.setting: Setting | None = None

    # -- namespaces ----------------------------------------------------------------------------

    def __enter__(self) -> Link:
        self._remove_namespaces()
        try:
            for ns, addr in ((self.ns_client, CLIENT_ADDR), (self.ns_server, SERVER_ADDR)):
                _ip("netns", "add", ns)
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("-n", ns, "tuntap", "add", "dev", self.dev, "mode", "tun")
                _ip("-n", ns, "link", "set", self.dev, "mtu", str(MTU), "up")
                _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", self.dev)
                # The default 500 packets would be a second queue ahead of the emulated one.
                _ip("-n", ns, "link", "set", self.dev, "txqueuelen", "10000")
        except BaseException:
            self._remove_namespaces()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self._remove_namespaces()

    def _remove_namespaces(self) -> None:
        for ns in (self.ns_client, self.ns_server):
            if Path(f"/var/run/netns/{ns}").exists():
                # Deleting the namespace deletes its TUN device with it.
                subprocess.run(["ip", "netns", "delete", ns], capture_output=True, check=False)

    def argv(self, side: str, argv: list[str]) -> list[str]:
        """``argv`` run inside the client's (``"client"``) or the server's namespace."""
        ns = {"client": self.ns_client, "server": self.ns_server}[side]
        return ["ip", "netns", "exec", ns, *argv]

    # -- the emulator --------------------------------------------------------------------------

    def start(self, setting: Setting) -> None:
        """Run linkemu at ``setting`` (stopping the one running, if any)."""
        self.stop()
        argv = [
            str(self.binary),
            f"/var/run/netns/{self.ns_client}", self.dev,
            f"/var/run/netns/{self.ns_server}", self.dev,
            str(int(setting.rate)), str(int(setting.rtt / 2 * 1e6)), str(setting.queue_bytes),
        ]  # fmt: skip
        self._emu = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._emu.stdout is not None
        line = self._emu.stdout.readline().strip()
        if line != "ready":
            _, err = self._emu.communicate(timeout=5)
            self._emu = None
            raise RuntimeError(f"linkemu did not start: {line} {err.strip()}")
        self.setting = setting

    def stop(self) -> dict[str, object] | None:
        """Stop linkemu; its packet counters, or None if it was not running."""
        emu, self._emu = self._emu, None
        if emu is None:
            return None
        emu.terminate()
        out, err = emu.communicate(timeout=10)
        if emu.returncode != 0:
            print(f"linkemu exited with {emu.returncode}: {err.strip()}", file=sys.stderr)
            return None
        counters: dict[str, object] = json.loads(out.strip().splitlines()[-1])
        return counters
