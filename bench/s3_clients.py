"""Which S3 client library the object-store backend should use: a multipart upload of one file
in 16 MiB parts to a real SeaweedFS on loopback, by each candidate, with throughput and CPU.

Not part of ``make bench``: run it by hand when the choice needs revisiting::

    .venv/bin/python -m bench.s3_clients [--size 1G] [--runs 3] [--concurrency 8]

Candidates:
- ``boto3 upload_part``: boto3's low-level calls, one spool file per part (Ferry's shape),
  botocore computing its default checksum;
- ``ferry adapter``: the same through ``S3ObjectStore.upload_part``, which hands the part's
  CRC32C to the store instead of letting botocore compute one;
- ``s3transfer``: boto3's managed ``upload_file`` (what a user would pick instead of Ferry);
- ``obstore``: obstore's ``put`` of the file with multipart chunks (Rust, object_store).

Reported per candidate: the median of ``runs`` of MB/s, the client's CPU seconds per GiB
(this process, all threads) and weed's CPU seconds per GiB.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import boto3.s3.transfer
import google_crc32c
import obstore
from ferry_server.storage.objectstore import RecordedPart, S3ObjectStore
from ferry_server.storage.s3location import S3Location
from obstore.store import S3Store

from bench.workload import parse_size
from tests.support.seaweedfs import S3Endpoint, SeaweedFS

GiB = 1 << 30
PART = 16 << 20


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_pid(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _split(source: Path, directory: Path) -> list[tuple[Path, int, int]]:
    """Spool files of PART bytes (the last shorter), with their lengths and CRC32Cs."""
    parts = []
    with source.open("rb") as f:
        for number in range(1, 1 << 20):
            data = f.read(PART)
            if not data:
                break
            path = directory / f"part{number}"
            path.write_bytes(data)
            parts.append((path, len(data), google_crc32c.value(data)))
    return parts


def boto3_parts(endpoint: S3Endpoint, concurrency: int) -> Callable[[Path, list, str], None]:
    s3 = endpoint.client(max_pool_connections=concurrency)

    def run(_source: Path, spools: list, key: str) -> None:
        upload = s3.create_multipart_upload(Bucket=endpoint.bucket, Key=key)["UploadId"]

        def one(item: tuple[int, tuple[Path, int, int]]) -> dict:
            number, (path, length, _) = item
            with path.open("rb") as body:
                reply = s3.upload_part(
                    Bucket=endpoint.bucket, Key=key, UploadId=upload, PartNumber=number,
                    Body=body, ContentLength=length,
                )  # fmt: skip
            return {"PartNumber": number, "ETag": reply["ETag"]}

        with ThreadPoolExecutor(concurrency) as pool:
            done = list(pool.map(one, enumerate(spools, 1)))
        s3.complete_multipart_upload(
            Bucket=endpoint.bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done}
        )

    return run


def ferry_adapter(endpoint: S3Endpoint, concurrency: int) -> Callable[[Path, list, str], None]:
    session = boto3.Session(
        aws_access_key_id=endpoint.access_key, aws_secret_access_key=endpoint.secret_key
    )
    store = S3ObjectStore.connect(
        S3Location(endpoint.bucket), endpoint_url=endpoint.url, region=endpoint.region,
        max_connections=concurrency, session=session,
    )  # fmt: skip

    def run(_source: Path, spools: list, key: str) -> None:
        upload = store.start_upload(key)

        def one(item: tuple[int, tuple[Path, int, int]]) -> RecordedPart:
            number, (path, length, crc) = item
            etag = store.upload_part(key, upload, number, path, length, crc)
            return RecordedPart(number, etag, length, crc)

        with ThreadPoolExecutor(concurrency) as pool:
            done = list(pool.map(one, enumerate(spools, 1)))
        store.complete(key, upload, done, if_none_match=True)

    return run


def s3transfer(endpoint: S3Endpoint, concurrency: int) -> Callable[[Path, list, str], None]:
    s3 = endpoint.client(max_pool_connections=concurrency)
    config = boto3.s3.transfer.TransferConfig(
        multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=concurrency
    )

    def run(source: Path, _spools: list, key: str) -> None:
        s3.upload_file(str(source), endpoint.bucket, key, Config=config)

    return run


def obstore_put(endpoint: S3Endpoint, concurrency: int) -> Callable[[Path, list, str], None]:
    store = S3Store(
        endpoint.bucket,
        endpoint=endpoint.url,
        access_key_id=endpoint.access_key,
        secret_access_key=endpoint.secret_key,
        region=endpoint.region,
        client_options={"allow_http": True},
    )

    def run(source: Path, _spools: list, key: str) -> None:
        obstore.put(store, key, source, chunk_size=PART, max_concurrency=concurrency)

    return run


def conditional_writes(endpoint: S3Endpoint) -> list[str]:
    """Whether the store refuses a second write of a key under If-None-Match: *, per call."""
    s3 = endpoint.client()
    store = S3Store(
        endpoint.bucket, endpoint=endpoint.url, access_key_id=endpoint.access_key,
        secret_access_key=endpoint.secret_key, region=endpoint.region,
        client_options={"allow_http": True},
    )  # fmt: skip
    found = []

    def refused(name: str, write: Callable[[], object]) -> None:
        try:
            write()
        except Exception as exc:  # any refusal counts; its type is reported
            found.append(f"{name}: refused ({type(exc).__name__})")
            return
        found.append(f"{name}: NOT refused (the condition was ignored)")

    s3.put_object(Bucket=endpoint.bucket, Key="cond/x", Body=b"first")
    refused("boto3 put_object IfNoneMatch", lambda: s3.put_object(
        Bucket=endpoint.bucket, Key="cond/x", Body=b"2", IfNoneMatch="*"))  # fmt: skip
    upload = s3.create_multipart_upload(Bucket=endpoint.bucket, Key="cond/x")["UploadId"]
    etag = s3.upload_part(
        Bucket=endpoint.bucket, Key="cond/x", UploadId=upload, PartNumber=1, Body=b"p"
    )["ETag"]
    refused("boto3 complete_multipart_upload IfNoneMatch", lambda: s3.complete_multipart_upload(
        Bucket=endpoint.bucket, Key="cond/x", UploadId=upload, IfNoneMatch="*",
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}))  # fmt: skip
    s3.abort_multipart_upload(Bucket=endpoint.bucket, Key="cond/x", UploadId=upload)
    refused("obstore put mode=create", lambda: obstore.put(store, "cond/x", b"3", mode="create"))
    return found


CANDIDATES = {
    "boto3 upload_part": boto3_parts,
    "ferry adapter (boto3 + CRC32C)": ferry_adapter,
    "s3transfer upload_file": s3transfer,
    "obstore put": obstore_put,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=GiB)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="ferry-s3bench-") as tmp:
        work = Path(tmp)
        source = work / "source"
        with source.open("wb") as f:
            for _ in range(args.size // (8 << 20)):
                f.write(os.urandom(8 << 20))
        spool_dir = work / "spool"
        spool_dir.mkdir()
        spools = _split(source, spool_dir)
        weed = SeaweedFS(work / "weed")
        endpoint = weed.start()
        print(f"SeaweedFS answered in {weed.start_seconds:.1f} s")
        pid = weed.pid()
        assert pid is not None
        s3 = endpoint.client()
        try:
            for name, make in CANDIDATES.items():
                run = make(endpoint, args.concurrency)
                rates, cpus, weeds = [], [], []
                for i in range(args.runs):
                    key = f"bench/{name.split()[0]}-{i}"
                    c0, w0, t0 = _cpu_self(), _cpu_pid(pid), time.perf_counter()
                    run(source, spools, key)
                    t1, c1, w1 = time.perf_counter(), _cpu_self(), _cpu_pid(pid)
                    size = s3.head_object(Bucket=endpoint.bucket, Key=key)["ContentLength"]
                    assert size == args.size, (name, size)
                    s3.delete_object(Bucket=endpoint.bucket, Key=key)
                    gib = args.size / GiB
                    rates.append(args.size / (t1 - t0) / 1e6)
                    cpus.append((c1 - c0) / gib)
                    weeds.append((w1 - w0) / gib)
                print(
                    f"{name:32s} {statistics.median(rates):7.1f} MB/s  "
                    f"client {statistics.median(cpus):5.2f} CPU s/GiB  "
                    f"weed {statistics.median(weeds):5.2f} CPU s/GiB  "
                    f"(runs: {', '.join(f'{r:.0f}' for r in rates)} MB/s)",
                    flush=True,
                )
            for line in conditional_writes(endpoint):
                print(line)
        finally:
            weed.stop()
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
