"""The object-store adapter against a real SeaweedFS: multipart round trips, ListParts, abort,
conditional writes as SeaweedFS does them, a part replaced behind Ferry's back, ranged reads,
and S3's failures as Ferry's errors. No mocks: the store is ``weed server -s3`` on loopback."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import botocore.config
import google_crc32c
import pytest
from ferry_server.domain.errors import Corrupted, IntegrityFailure, Reason, StoreUnavailable
from ferry_server.domain.part_size import MIN_PART_SIZE
from ferry_server.domain.ports import DestinationExists
from ferry_server.storage.objectstore import (
    ObjectMissing,
    RecordedPart,
    S3ObjectStore,
    StoreMisconfigured,
    UploadMissing,
    crc32c_base64,
)
from ferry_server.storage.s3location import S3Location

from tests.support.seaweedfs import S3Endpoint


def _session(endpoint: S3Endpoint) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=endpoint.access_key, aws_secret_access_key=endpoint.secret_key
    )


@pytest.fixture
def prefix() -> str:
    """Each test owns its own prefix in the one bucket of the session's SeaweedFS."""
    return f"t-{secrets.token_hex(4)}/"


@pytest.fixture(scope="module")
def connected(s3_endpoint: S3Endpoint) -> S3ObjectStore:
    """The adapter as the server will build it (one boto3 client: building one takes ~1 s)."""
    return S3ObjectStore.connect(
        S3Location(s3_endpoint.bucket),
        endpoint_url=s3_endpoint.url,
        region=s3_endpoint.region,
        session=_session(s3_endpoint),
    )


@pytest.fixture
def store(connected: S3ObjectStore, s3_endpoint: S3Endpoint, prefix: str) -> S3ObjectStore:
    """A fresh adapter (fresh upload counts) under this test's prefix, on the shared client."""
    return S3ObjectStore(connected.client, S3Location(s3_endpoint.bucket, prefix))


@pytest.fixture
def raw(s3_endpoint: S3Endpoint) -> Iterator[object]:
    """A plain boto3 client: what an operator or an attacker does behind Ferry's back."""
    yield s3_endpoint.client()


def _spool(tmp_path: Path, name: str, data: bytes) -> tuple[Path, int, int]:
    path = tmp_path / name
    path.write_bytes(data)
    return path, len(data), google_crc32c.value(data)


def _upload_all(
    store: S3ObjectStore, key: str, upload: str, blocks: list[bytes], tmp_path: Path
) -> list[RecordedPart]:
    recorded = []
    for number, data in enumerate(blocks, 1):
        path, length, crc = _spool(tmp_path, f"{key.replace('/', '_')}.{number}", data)
        etag = store.upload_part(key, upload, number, path, length, crc)
        recorded.append(RecordedPart(number, etag, length, crc))
    return recorded


def _read_all(store: S3ObjectStore, key: str, size: int) -> bytes:
    return b"".join(store.read(key, 0, size))


def _blocks() -> list[bytes]:
    # Two full-size parts and a short last one: the smallest shape S3 accepts.
    return [os.urandom(MIN_PART_SIZE), os.urandom(MIN_PART_SIZE), os.urandom(123_457)]


def test_multipart_round_trip_is_byte_identical_and_each_part_uploaded_once(
    store: S3ObjectStore, tmp_path: Path
) -> None:
    blocks = _blocks()
    upload = store.start_upload("file.bin")
    # Out of order, as several streams commit them.
    recorded = _upload_all(store, "file.bin", upload, blocks, tmp_path)
    store.check_parts("file.bin", upload, recorded)
    store.complete("file.bin", upload, list(reversed(recorded)), if_none_match=True)

    whole = b"".join(blocks)
    got = _read_all(store, "file.bin", len(whole))
    assert hashlib.sha256(got).digest() == hashlib.sha256(whole).digest()
    assert store.part_upload_counts() == {(upload, 1): 1, (upload, 2): 1, (upload, 3): 1}
    assert store.exists("file.bin")


def test_parts_uploaded_concurrently_each_once(store: S3ObjectStore, tmp_path: Path) -> None:
    """Several streams upload their committed blocks at once through one adapter."""
    blocks = [os.urandom(MIN_PART_SIZE) for _ in range(6)] + [b"tail"]
    spools = [_spool(tmp_path, f"c.{n}", data) for n, data in enumerate(blocks, 1)]
    upload = store.start_upload("concurrent")

    def one(number: int) -> RecordedPart:
        path, length, crc = spools[number - 1]
        return RecordedPart(
            number, store.upload_part("concurrent", upload, number, path, length, crc), length, crc
        )

    with ThreadPoolExecutor(4) as pool:
        recorded = list(pool.map(one, range(len(blocks), 0, -1)))

    assert set(store.part_upload_counts().values()) == {1}
    assert len(store.part_upload_counts()) == len(blocks)
    store.check_parts("concurrent", upload, recorded)
    store.complete("concurrent", upload, recorded, if_none_match=True)
    assert _read_all(store, "concurrent", 7 * MIN_PART_SIZE) == b"".join(blocks)


def test_list_parts_matches_what_was_uploaded(store: S3ObjectStore, tmp_path: Path) -> None:
    blocks = _blocks()
    upload = store.start_upload("k")
    recorded = _upload_all(store, "k", upload, blocks, tmp_path)

    listed = store.list_parts("k", upload)
    assert [(p.number, p.etag.strip('"'), p.size) for p in listed] == [
        (r.number, r.etag.strip('"'), r.size) for r in recorded
    ]


def test_abort_removes_the_upload(store: S3ObjectStore, tmp_path: Path) -> None:
    upload = store.start_upload("gone")
    _upload_all(store, "gone", upload, [b"x" * 1000], tmp_path)
    assert [(u.key, u.upload_id) for u in store.list_uploads()] == [("gone", upload)]

    store.abort("gone", upload)

    assert store.list_uploads() == []
    with pytest.raises(UploadMissing):
        store.list_parts("gone", upload)
    path, length, crc = _spool(tmp_path, "late", b"late writer")
    with pytest.raises(UploadMissing):
        store.upload_part("gone", upload, 2, path, length, crc)
    store.abort("gone", upload)  # an upload already gone is no error
    assert not store.exists("gone")


def test_list_uploads_sees_pending_uploads_under_a_prefix_only(
    store: S3ObjectStore, tmp_path: Path
) -> None:
    first = store.start_upload("tasks/a")
    second = store.start_upload("tasks/b")
    store.start_upload("other/c")
    found = {(u.key, u.upload_id) for u in store.list_uploads("tasks/")}
    assert found == {("tasks/a", first), ("tasks/b", second)}
    recorded = _upload_all(store, "tasks/a", first, [b"done"], tmp_path)
    store.complete("tasks/a", first, recorded, if_none_match=False)
    assert {u.key for u in store.list_uploads("tasks/")} == {"tasks/b"}


def test_conditional_complete_refuses_an_existing_key_and_leaves_it_alone(
    store: S3ObjectStore, tmp_path: Path
) -> None:
    """SeaweedFS honours If-None-Match: * on CompleteMultipartUpload (412 PreconditionFailed)."""
    store.put("published", b"the first file", google_crc32c.value(b"the first file"),
              if_none_match=True)  # fmt: skip
    blocks = _blocks()
    upload = store.start_upload("published")
    recorded = _upload_all(store, "published", upload, blocks, tmp_path)

    with pytest.raises(DestinationExists):
        store.complete("published", upload, recorded, if_none_match=True)

    assert _read_all(store, "published", 1 << 20) == b"the first file"
    # The upload survives the refusal: overwrite=true may still complete it.
    store.check_parts("published", upload, recorded)
    store.complete("published", upload, recorded, if_none_match=False)
    assert _read_all(store, "published", 1 << 24) == b"".join(blocks)


def test_conditional_put_refuses_an_existing_key(store: S3ObjectStore) -> None:
    """SeaweedFS honours If-None-Match: * on PutObject too."""
    store.put("small", b"one", google_crc32c.value(b"one"), if_none_match=True)
    with pytest.raises(DestinationExists):
        store.put("small", b"two", google_crc32c.value(b"two"), if_none_match=True)
    assert _read_all(store, "small", 100) == b"one"
    store.put("small", b"three", google_crc32c.value(b"three"), if_none_match=False)
    assert _read_all(store, "small", 100) == b"three"


def test_a_part_replaced_behind_ferrys_back_is_detected(
    store: S3ObjectStore, raw: object, prefix: str, s3_endpoint: S3Endpoint, tmp_path: Path
) -> None:
    blocks = _blocks()
    upload = store.start_upload("victim")
    recorded = _upload_all(store, "victim", upload, blocks, tmp_path)

    other = os.urandom(MIN_PART_SIZE)
    raw.upload_part(  # type: ignore[attr-defined]
        Bucket=s3_endpoint.bucket, Key=prefix + "victim", UploadId=upload, PartNumber=2,
        Body=other, ChecksumCRC32C=crc32c_base64(google_crc32c.value(other)),
    )  # fmt: skip

    with pytest.raises(IntegrityFailure) as caught:
        store.check_parts("victim", upload, recorded)
    assert caught.value.reason == Reason.STAGING_LOST
    assert "part numbers 2)" in caught.value.message
    # What completion does here is the store's: SeaweedFS keeps both uploads of part 2 and
    # completes the one whose ETag it is given (AWS would keep only the new one and answer
    # InvalidPart). Either way the object never holds the replacement bytes.
    store.complete("victim", upload, recorded, if_none_match=True)
    assert _read_all(store, "victim", 3 * MIN_PART_SIZE) == b"".join(blocks)


def test_a_missing_or_extra_part_is_detected(store: S3ObjectStore, tmp_path: Path) -> None:
    upload = store.start_upload("holes")
    recorded = _upload_all(store, "holes", upload, _blocks(), tmp_path)
    with pytest.raises(IntegrityFailure, match="part numbers 4"):
        store.check_parts("holes", upload, [*recorded, RecordedPart(4, '"x"', 1, 0)])
    with pytest.raises(IntegrityFailure, match="part numbers 3"):
        store.check_parts("holes", upload, recorded[:2])


def test_completing_with_an_etag_the_store_lacks_is_data_loss(
    store: S3ObjectStore, tmp_path: Path
) -> None:
    upload = store.start_upload("lost")
    recorded = _upload_all(store, "lost", upload, _blocks(), tmp_path)
    forged = [recorded[0], RecordedPart(2, '"0123456789abcdef0123456789abcdef"', 0, 0), recorded[2]]
    with pytest.raises(IntegrityFailure) as caught:
        store.complete("lost", upload, forged, if_none_match=True)
    assert caught.value.reason == Reason.STAGING_LOST
    assert not store.exists("lost")


def test_ranged_reads(store: S3ObjectStore, tmp_path: Path) -> None:
    blocks = _blocks()
    whole = b"".join(blocks)
    upload = store.start_upload("ranges")
    store.complete("ranges", upload, _upload_all(store, "ranges", upload, blocks, tmp_path),
                   if_none_match=True)  # fmt: skip
    size = len(whole)
    for start, end in [
        (0, 1),
        (MIN_PART_SIZE - 3, MIN_PART_SIZE + 5),  # across a part boundary
        (2 * MIN_PART_SIZE, size),  # the last part exactly
        (size - 1, size),
        (1234, 3 * (1 << 20) + 17),  # several chunks
        (size - 10, size + 1000),  # past the end reads to the end
    ]:
        assert b"".join(store.read("ranges", start, end)) == whole[start:end], (start, end)
    assert list(store.read("ranges", 7, 7)) == []


def test_missing_objects_and_uploads(store: S3ObjectStore, tmp_path: Path) -> None:
    assert not store.exists("nothing")
    with pytest.raises(ObjectMissing):
        b"".join(store.read("nothing", 0, 10))
    path, length, crc = _spool(tmp_path, "p", b"data")
    with pytest.raises(UploadMissing):
        store.upload_part("nothing", "no-such-upload", 1, path, length, crc)
    with pytest.raises(UploadMissing):
        store.list_parts("nothing", "no-such-upload")


def test_a_part_whose_bytes_do_not_match_its_crc32c_is_refused(
    store: S3ObjectStore, tmp_path: Path
) -> None:
    """The store checks each part against the CRC32C Ferry recorded (SeaweedFS: BadDigest)."""
    upload = store.start_upload("bad-digest")
    path, length, crc = _spool(tmp_path, "p", b"the spooled bytes")
    with pytest.raises(Corrupted):
        store.upload_part("bad-digest", upload, 1, path, length, crc ^ 1)
    assert store.list_parts("bad-digest", upload) == []


def test_keys_live_under_the_prefix(
    store: S3ObjectStore, raw: object, prefix: str, s3_endpoint: S3Endpoint
) -> None:
    store.put("a/b", b"x", google_crc32c.value(b"x"), if_none_match=True)
    head = raw.head_object(Bucket=s3_endpoint.bucket, Key=prefix + "a/b")  # type: ignore[attr-defined]
    assert head["ContentLength"] == 1


def test_an_unreachable_store_is_a_retryable_error(s3_endpoint: S3Endpoint) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    # A client that gives up at once: the adapter's own client retries for seconds first.
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{closed_port}",
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    store = S3ObjectStore(client, S3Location(s3_endpoint.bucket))
    with pytest.raises(StoreUnavailable) as caught:
        store.start_upload("k")
    assert caught.value.retry_after is not None
    with pytest.raises(StoreUnavailable):
        store.check()


def test_check_refuses_a_missing_bucket(s3_endpoint: S3Endpoint) -> None:
    store = S3ObjectStore.connect(
        S3Location("no-such-bucket-here"),
        endpoint_url=s3_endpoint.url,
        region=s3_endpoint.region,
        session=_session(s3_endpoint),
    )
    with pytest.raises(StoreMisconfigured, match="no-such-bucket-here"):
        store.check()


def test_check_accepts_the_configured_bucket(store: S3ObjectStore) -> None:
    store.check()


def test_credentials_come_from_the_standard_aws_chain(
    s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No session given: boto3's default chain (here its environment variables) is used."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_endpoint.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_endpoint.secret_key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    store = S3ObjectStore.connect(
        S3Location(s3_endpoint.bucket, f"chain-{secrets.token_hex(4)}/"),
        endpoint_url=s3_endpoint.url,
        region=s3_endpoint.region,
    )
    store.check()
    store.put("k", b"v", google_crc32c.value(b"v"), if_none_match=True)
    assert b"".join(store.read("k", 0, 1)) == b"v"


def test_no_credentials_anywhere_is_a_configuration_error(
    s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    # No instance metadata service on this machine: do not wait for one.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = S3ObjectStore.connect(
        S3Location(s3_endpoint.bucket), endpoint_url=s3_endpoint.url, region=s3_endpoint.region
    )
    with pytest.raises(StoreMisconfigured, match="no AWS credentials"):
        store.check()
