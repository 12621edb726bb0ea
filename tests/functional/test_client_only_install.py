"""A client-only install: the project installed without its ``server`` extra, by pip, in a
fresh virtual environment (one per run), gives the client library, the generated stubs and the
``ferry`` command, uploads to a real server, and does not pull the server's dependencies;
``ferry serve`` there says in one line what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.client_tools import MiB, make_file
from tests.support.processes import ServerProcess

REPO = Path(__file__).resolve().parents[2]
#: What a source distribution of the project holds (pyproject.toml's package roots).
SOURCES = ["pyproject.toml", "README.md", "server", "client", "stubs/python"]
#: The server extra's distributions, by import name.
SERVER_ONLY = ["sqlalchemy", "alembic", "psycopg"]
TIMEOUT = 600

pytestmark = pytest.mark.packaging


def _environment() -> dict[str, str]:
    # Nothing from the development environment may leak into the fresh one.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


@pytest.fixture(scope="module")
def client_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bin/`` of a fresh virtual environment where ``pip install <project>`` ran, no extras."""
    work = tmp_path_factory.mktemp("client-only")
    source = work / "src"
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(
                origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    venv.create(work / "venv", with_pip=True)
    bin_dir = work / "venv" / "bin"
    installed = subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(source)],
        env=_environment(), capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, f"pip install failed:\n{installed.stderr}"
    return bin_dir


def run(bin_dir: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        env=_environment(),
        cwd=bin_dir.parent,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture
def ferry_serve(tmp_path: Path, database_url: str | None) -> Iterator[ServerProcess]:
    # The server runs from the development environment, where the server extra is installed.
    with ServerProcess(tmp_path / "data", database_url=database_url) as server:
        yield server


def test_client_imports_without_the_server_dependencies(client_bin: Path) -> None:
    probe = (
        "import importlib.util, sys\n"
        "import ferry_client, ferry.v1.ferry_pb2, ferry.v1.ferry_pb2_grpc\n"
        f"missing = [m for m in {SERVER_ONLY!r} if importlib.util.find_spec(m) is None]\n"
        "print(','.join(missing))\n"
    )
    done = run(client_bin, client_bin / "python", "-c", probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split(",") == SERVER_ONLY


def test_ferry_help_works(client_bin: Path) -> None:
    done = run(client_bin, client_bin / "ferry", "--help")
    assert done.returncode == 0, done.stderr
    assert "upload" in done.stdout


def test_ferry_serve_says_what_to_install(client_bin: Path) -> None:
    done = run(client_bin, client_bin / "ferry", "serve")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "pip install 'ferry[server]'" in lines[0]


def test_ferry_upload_reaches_a_real_server(
    client_bin: Path, ferry_serve: ServerProcess, tmp_path: Path
) -> None:
    # Larger than one UploadFile request, so it goes in blocks over UploadParts and Merge.
    source = make_file(tmp_path / "source.bin", 3 * MiB // 2, seed=3)
    done = run(
        client_bin,
        client_bin / "ferry", "upload", source, "client-only/file.bin",
        "--server", ferry_serve.address, "--block-size", "256K", "--quiet",
        "--state-file", tmp_path / "uploads.json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    published = ferry_serve.data_dir / "files" / "client-only" / "file.bin"
    assert published.read_bytes() == source.read_bytes()
