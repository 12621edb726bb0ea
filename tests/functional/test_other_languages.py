"""The Node and Go example clients (clients/node, clients/go) against a real ``ferry serve``:
each creates a task, commits half the blocks, loses its stream in the middle of the next block,
asks what is missing, sends the rest over two concurrent streams and merges; the published
bytes must be the file's.

They run the generated stubs of their language (stubs/node, stubs/go), so this is also the
check that those stubs speak the protocol. Without node/npm or go (``make stubs-deps``) the
tests skip, or fail when CI is set."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from ferry.v1 import ferry_pb2 as pb
from ferry.v1 import ferry_pb2_grpc as rpc

from tests.support.client_tools import KiB, make_file, sha256_of
from tests.support.components import unavailable
from tests.support.processes import ServerProcess

REPO = Path(__file__).resolve().parents[2]
NODE_CLIENT = REPO / "clients" / "node"
GO_CLIENT = REPO / "clients" / "go"
#: Where Debian's golang-*-dev packages put their sources (a GOPATH tree).
DEBIAN_GOPATH = Path("/usr/share/gocode")
BLOCK = 64 * KiB
#: 11 blocks, the last one short: the cut lands in block 5 and 6 blocks remain.
SIZE = 10 * BLOCK + 12345
TIMEOUT = 300

pytestmark = pytest.mark.languages


@pytest.fixture
def ferry_serve(tmp_path: Path, database_url: str | None) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "data", database_url=database_url) as server:
        yield server


@pytest.fixture(scope="module")
def node_command() -> list[str]:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not on PATH")
    if not (NODE_CLIENT / "node_modules" / "ferry-api").is_dir():
        unavailable("clients/node has no node_modules: run `make clients-deps` (npm ci)")
    return [node, str(NODE_CLIENT / "upload.mjs")]


@pytest.fixture(scope="module")
def go_command(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    go = shutil.which("go")
    if go is None:
        unavailable("go is not on PATH: `make stubs-deps` installs Debian's Go (needs root)")
    if not (DEBIAN_GOPATH / "src" / "google.golang.org" / "grpc").is_dir():
        unavailable("Debian's Go gRPC sources are missing: run `make stubs-deps` (needs root)")
    # GOPATH mode over Debian's packages: the stubs appear under their go_package path.
    work = tmp_path_factory.mktemp("go")
    (work / "src" / "ferry.dev").mkdir(parents=True)
    (work / "src" / "ferry.dev" / "api").symlink_to(REPO / "stubs" / "go")
    binary = work / "ferry-resume-demo"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": f"{work}:{DEBIAN_GOPATH}"}
    built = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=GO_CLIENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert built.returncode == 0, f"go build failed:\n{built.stderr}"
    return [str(binary)]


def run_client(command: list[str], server: ServerProcess, source: Path) -> Any:
    """Run one example client (Go's flag package takes ``--`` too); return its JSON line."""
    done = subprocess.run(
        [
            *command,
            "--server", server.address,
            "--block-size", str(BLOCK),
            str(source), "from-other-languages/file.bin",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"client failed ({done.returncode}):\n{done.stderr}"
    return json.loads(done.stdout)


def check_resumed_upload(server: ServerProcess, source: Path, result: Any) -> None:
    # Blocks 0..4 were acknowledged before the cut; block 5 was half sent and must be missing.
    assert result["missing_after_cut"] == [[5, 11]]
    assert result["state"] == "TASK_STATE_COMPLETED"
    assert result["sha256"] == sha256_of(source)
    published = server.data_dir / "files" / "from-other-languages" / "file.bin"
    assert published.read_bytes() == source.read_bytes()
    with grpc.insecure_channel(server.address) as channel:
        task = rpc.FerryServiceStub(channel).GetTask(pb.GetTaskRequest(task_id=result["task_id"]))
    assert task.task.state == pb.TASK_STATE_COMPLETED
    assert task.task.committed_bytes == SIZE


def test_node_client_resumes_a_cut_upload(
    node_command: list[str], ferry_serve: ServerProcess, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "source.bin", SIZE, seed=1)
    result = run_client(node_command, ferry_serve, source)
    check_resumed_upload(ferry_serve, source, result)


def test_go_client_resumes_a_cut_upload(
    go_command: list[str], ferry_serve: ServerProcess, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "source.bin", SIZE, seed=2)
    result = run_client(go_command, ferry_serve, source)
    check_resumed_upload(ferry_serve, source, result)
