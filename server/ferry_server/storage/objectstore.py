"""The object-store adapter: multipart uploads, reads and conditional writes in one
S3-compatible bucket under a key prefix, through boto3, with S3's failures turned into Ferry's.

What the write path needs and nothing more: a multipart upload per task (its parts are the
task's blocks, uploaded from local spool files once their SQL commit has won), ListParts to
check the store against the ETags recorded in SQL, completion from those ETags (conditional on
the key being absent when ``overwrite`` is false), abort, a listing of pending uploads for the
sweeper, ranged reads, and a small conditional put for UploadFile.

Every key given to or returned by this class is relative to the configured prefix. Each part
upload is counted per (upload id, part number), so that tests can assert that no part number
is ever uploaded twice (S3 keeps only the last upload of a part number; SeaweedFS keeps both
and completes whichever ETag it is given).

boto3 was chosen over obstore for its explicit multipart calls; see docs/design.md, "Object
store".
"""

from __future__ import annotations

import base64
import collections
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.config
import botocore.exceptions

from ferry_server.domain.errors import Corrupted, IntegrityFailure, Reason, StoreUnavailable
from ferry_server.domain.part_size import MAX_PARTS
from ferry_server.domain.ports import DestinationExists, StagingMissing
from ferry_server.storage.s3location import S3Location

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_s3.type_defs import CompletedPartTypeDef, CopySourceTypeDef

_READ_CHUNK = 1024 * 1024
#: Largest object CopyObject copies in one request (S3's limit); larger ones are copied in
#: parts of ``_COPY_PART`` with UploadPartCopy.
COPY_OBJECT_LIMIT = 5 * 1024 * 1024 * 1024
_COPY_PART = 1024 * 1024 * 1024

#: Error codes that mean the store (or our access to it) is the problem, not the request:
#: a later retry may succeed. Throttling and server errors reach us only after botocore's
#: own retries.
_UNAVAILABLE_CODES = frozenset(
    {
        "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
        "RequestTimeTooSkewed", "503", "500", "502", "504",
        "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket",
        "ExpiredToken", "TokenRefreshRequired",
    }
)  # fmt: skip
_MISSING_UPLOAD_CODES = frozenset({"NoSuchUpload"})
_MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_PRECONDITION_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})
_BAD_PART_CODES = frozenset({"InvalidPart", "InvalidPartOrder", "EntityTooSmall"})
_BAD_DIGEST_CODES = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})


class UploadMissing(StagingMissing):
    """The multipart upload is gone: completed, aborted (cancel, expiry, the sweeper, a bucket
    lifecycle rule) or never there."""


class ObjectMissing(StagingMissing):
    """No object has the key."""


class StoreMisconfigured(RuntimeError):
    """The bucket is missing or these credentials cannot use it (found at start-up)."""


@dataclass(frozen=True, slots=True)
class ListedPart:
    """A part as the store lists it."""

    number: int
    etag: str
    size: int


@dataclass(frozen=True, slots=True)
class RecordedPart:
    """A part as Ferry recorded it in SQL when its upload succeeded."""

    number: int
    etag: str
    size: int
    crc32c: int


@dataclass(frozen=True, slots=True)
class PendingUpload:
    """A multipart upload that was neither completed nor aborted."""

    key: str
    upload_id: str
    initiated: datetime


def same_etag(a: str, b: str) -> bool:
    """ETags compare without their quotes (stores differ in whether they return them)."""
    return a.strip('"') == b.strip('"')


def crc32c_base64(crc32c: int) -> str:
    """S3's form of a CRC32C: the four big-endian bytes in base64."""
    return base64.b64encode(crc32c.to_bytes(4, "big")).decode("ascii")


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3ObjectStore:
    """One bucket and prefix of an S3-compatible store. Thread-safe: one per replica."""

    def __init__(self, client: S3Client, location: S3Location) -> None:
        #: The boto3 client (thread-safe; several adapters may share one).
        self.client = client
        self._s3 = client
        self.location = location
        self._lock = threading.Lock()
        self._part_uploads: collections.Counter[tuple[str, int]] = collections.Counter()

    @classmethod
    def connect(
        cls,
        location: S3Location,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        max_connections: int = 64,
        session: boto3.Session | None = None,
    ) -> S3ObjectStore:
        """A store reached with credentials from the standard AWS chain (environment, shared
        files, instance or container roles), or from ``session`` when given."""
        config = botocore.config.Config(
            region_name=region,
            # One connection per concurrent part upload: a replica's RPC threads.
            max_pool_connections=max_connections,
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=10,
            read_timeout=120,
            # Path-style addressing works with every S3-compatible store and any bucket name.
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        client = (session or boto3.Session()).client("s3", endpoint_url=endpoint_url, config=config)
        return cls(client, location)

    def check(self) -> None:
        """Raise StoreMisconfigured unless the bucket exists and these credentials reach it;
        StoreUnavailable if the store does not answer."""
        try:
            self._s3.head_bucket(Bucket=self.location.bucket)
        except botocore.exceptions.ClientError as exc:
            raise StoreMisconfigured(
                f"bucket {self.location.bucket!r} cannot be used ({_code(exc) or exc}): "
                "check that it exists and that the credentials may write to it"
            ) from exc
        except botocore.exceptions.NoCredentialsError as exc:
            raise StoreMisconfigured(
                "no AWS credentials found (environment, shared files, instance or container "
                "role): give Ferry credentials that may write to the bucket"
            ) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise _unavailable(exc) from exc

    # --- multipart uploads ------------------------------------------------------------------

    def start_upload(self, key: str) -> str:
        """Begin a multipart upload of ``key`` whose parts carry CRC32C checksums; its id."""
        with self._errors():
            reply = self._s3.create_multipart_upload(
                Bucket=self.location.bucket, Key=self._key(key), ChecksumAlgorithm="CRC32C"
            )
        return reply["UploadId"]

    def upload_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        spool_path: Path,
        length: int,
        crc32c: int,
    ) -> str:
        """Upload the ``length`` bytes of ``spool_path`` as part ``part_number``; its ETag.

        The store checks the bytes against ``crc32c`` (S3 answers BadDigest otherwise:
        Corrupted here). Raise UploadMissing if the upload is gone.
        """
        if not 1 <= part_number <= MAX_PARTS:
            raise ValueError(f"part number {part_number} outside 1..{MAX_PARTS}")
        with self._lock:
            self._part_uploads[upload_id, part_number] += 1
        with spool_path.open("rb") as body:
            size = os.fstat(body.fileno()).st_size
            if size != length:
                raise ValueError(f"{spool_path} holds {size} bytes, not {length}")
            with self._errors(upload_id=upload_id):
                reply = self._s3.upload_part(
                    Bucket=self.location.bucket,
                    Key=self._key(key),
                    UploadId=upload_id,
                    PartNumber=part_number,
                    Body=body,
                    ContentLength=length,
                    ChecksumCRC32C=crc32c_base64(crc32c),
                )
        return reply["ETag"]

    def list_parts(self, key: str, upload_id: str) -> list[ListedPart]:
        """Every part the store holds for the upload, in its order (a store that keeps several
        uploads of one part number, as SeaweedFS does, lists each)."""
        parts: list[ListedPart] = []
        with self._errors(upload_id=upload_id):
            pages = self._s3.get_paginator("list_parts").paginate(
                Bucket=self.location.bucket, Key=self._key(key), UploadId=upload_id
            )
            for page in pages:
                parts.extend(
                    ListedPart(number=p["PartNumber"], etag=p["ETag"], size=p["Size"])
                    for p in page.get("Parts", [])
                )
        return parts

    def check_parts(self, key: str, upload_id: str, recorded: Sequence[RecordedPart]) -> None:
        """Compare what the store lists with what SQL recorded before completing: raise
        IntegrityFailure (STAGING_LOST) naming the parts that are missing, differ in ETag or
        size, or were uploaded more than once (a part replaced behind Ferry's back: S3 lists
        the new ETag, SeaweedFS lists both), or that SQL does not know."""
        listed: dict[int, list[ListedPart]] = collections.defaultdict(list)
        for part in self.list_parts(key, upload_id):
            listed[part.number].append(part)
        wrong: list[int] = []
        for want in recorded:
            have = listed.pop(want.number, [])
            if (
                len(have) != 1
                or not same_etag(have[0].etag, want.etag)
                or have[0].size != want.size
            ):
                wrong.append(want.number)
        wrong.extend(listed)
        if wrong:
            shown = ", ".join(str(n) for n in sorted(wrong)[:20])
            raise IntegrityFailure(
                f"the store's parts of upload {upload_id} differ from those Ferry recorded "
                f"(part numbers {shown}{', ...' if len(wrong) > 20 else ''}): acknowledged "
                "bytes were replaced or lost",
                reason=Reason.STAGING_LOST,
                facts={"partsDiffering": len(wrong)},
            )

    def complete(
        self,
        key: str,
        upload_id: str,
        parts: Sequence[RecordedPart],
        *,
        if_none_match: bool,
    ) -> str:
        """Assemble the object from exactly ``parts`` (the ETags recorded in SQL); its ETag.

        ``if_none_match``: only if no object has the key (DestinationExists otherwise) on
        stores that honour If-None-Match on completion (AWS since 2024, SeaweedFS). A part
        the store does not have under that ETag is IntegrityFailure (STAGING_LOST): the
        bytes Ferry acknowledged are not there.
        """
        completed: list[CompletedPartTypeDef] = [
            {"PartNumber": p.number, "ETag": p.etag, "ChecksumCRC32C": crc32c_base64(p.crc32c)}
            for p in sorted(parts, key=lambda p: p.number)
        ]
        extra: dict[str, Any] = {"IfNoneMatch": "*"} if if_none_match else {}
        with self._errors(upload_id=upload_id, key=key):
            reply = self._s3.complete_multipart_upload(
                Bucket=self.location.bucket,
                Key=self._key(key),
                UploadId=upload_id,
                MultipartUpload={"Parts": completed},
                **extra,
            )
        return reply.get("ETag", "")

    def abort(self, key: str, upload_id: str) -> None:
        """Abort the upload and free its parts; an upload already gone is no error."""
        try:
            with self._errors(upload_id=upload_id):
                self._s3.abort_multipart_upload(
                    Bucket=self.location.bucket, Key=self._key(key), UploadId=upload_id
                )
        except UploadMissing:
            # Aborting is how the sweeper and cancel make sure an upload is gone; gone it is.
            return

    def list_uploads(self, prefix: str = "") -> list[PendingUpload]:
        """Multipart uploads under ``prefix`` not completed nor aborted (for the sweeper)."""
        found: list[PendingUpload] = []
        with self._errors():
            pages = self._s3.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.location.bucket, Prefix=self._key(prefix)
            )
            for page in pages:
                found.extend(
                    PendingUpload(
                        key=self._relative(u["Key"]),
                        upload_id=u["UploadId"],
                        initiated=u["Initiated"],
                    )
                    for u in page.get("Uploads", [])
                )
        return found

    def find_part(self, key: str, upload_id: str, number: int) -> ListedPart | None:
        """Part ``number`` of the upload as the store lists it, None if it holds none (or
        several: only the first is answered, check_parts refuses those anyway)."""
        with self._errors(upload_id=upload_id):
            reply = self._s3.list_parts(
                Bucket=self.location.bucket,
                Key=self._key(key),
                UploadId=upload_id,
                PartNumberMarker=number - 1,
                MaxParts=1,
            )
        for p in reply.get("Parts", []):
            if p["PartNumber"] == number:
                return ListedPart(number=number, etag=p["ETag"], size=p["Size"])
        return None

    def part_upload_counts(self) -> dict[tuple[str, int], int]:
        """How often each (upload id, part number) was uploaded through this object."""
        with self._lock:
            return dict(self._part_uploads)

    # --- whole objects ----------------------------------------------------------------------

    def put(self, key: str, data: bytes, crc32c: int, *, if_none_match: bool) -> str:
        """Write a small object in one request, checked against ``crc32c``; its ETag.

        ``if_none_match`` as for ``complete``.
        """
        extra: dict[str, Any] = {"IfNoneMatch": "*"} if if_none_match else {}
        with self._errors(key=key):
            reply = self._s3.put_object(
                Bucket=self.location.bucket,
                Key=self._key(key),
                Body=data,
                ChecksumCRC32C=crc32c_base64(crc32c),
                **extra,
            )
        return reply["ETag"]

    def read(
        self,
        key: str,
        start: int,
        end: int,
        *,
        if_match: str | None = None,
        chunk: int = _READ_CHUNK,
    ) -> Iterator[bytes]:
        """The object's bytes ``[start, end)`` in chunks of up to ``chunk``; ObjectMissing if
        there is no such object. ``end`` past the object's end reads to its end. ``if_match``:
        only that version (its ETag), else DestinationExists (the store's 412)."""
        if not 0 <= start <= end:
            raise ValueError(f"bad range [{start}, {end})")
        if start == end:
            return
        extra: dict[str, Any] = {"IfMatch": if_match} if if_match is not None else {}
        with self._errors(key=key):
            reply = self._s3.get_object(
                Bucket=self.location.bucket, Key=self._key(key), Range=f"bytes={start}-{end - 1}",
                **extra,
            )  # fmt: skip
            body = reply["Body"]
            try:
                yield from body.iter_chunks(chunk)
            finally:
                body.close()

    def copy(
        self, source: str, key: str, *, if_none_match: bool, copy_limit: int = COPY_OBJECT_LIMIT
    ) -> None:
        """Copy object ``source`` to ``key`` inside the store (no bytes pass through Ferry):
        one CopyObject up to ``copy_limit`` bytes, else a multipart copy. ``if_none_match``
        as for ``complete``; ObjectMissing if ``source`` is gone."""
        size = self.size(source)
        extra: dict[str, Any] = {"IfNoneMatch": "*"} if if_none_match else {}
        copy_source: CopySourceTypeDef = {"Bucket": self.location.bucket, "Key": self._key(source)}
        if size <= copy_limit:
            with self._errors(key=key):
                self._s3.copy_object(
                    Bucket=self.location.bucket, Key=self._key(key), CopySource=copy_source,
                    **extra,
                )  # fmt: skip
            return
        part = max(_COPY_PART, -(-size // MAX_PARTS))
        with self._errors(key=key):
            upload_id = self._s3.create_multipart_upload(
                Bucket=self.location.bucket, Key=self._key(key)
            )["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            for number, start in enumerate(range(0, size, part), start=1):
                end = min(start + part, size) - 1
                with self._errors(upload_id=upload_id, key=source):
                    reply = self._s3.upload_part_copy(
                        Bucket=self.location.bucket, Key=self._key(key), UploadId=upload_id,
                        PartNumber=number, CopySource=copy_source,
                        CopySourceRange=f"bytes={start}-{end}",
                    )  # fmt: skip
                parts.append({"PartNumber": number, "ETag": reply["CopyPartResult"]["ETag"]})
            with self._errors(upload_id=upload_id, key=key):
                self._s3.complete_multipart_upload(
                    Bucket=self.location.bucket, Key=self._key(key), UploadId=upload_id,
                    MultipartUpload={"Parts": parts}, **extra,
                )  # fmt: skip
        except BaseException:
            self.abort(key, upload_id)
            raise

    def size(self, key: str) -> int:
        """The object's size; ObjectMissing if there is none."""
        return self.head(key)[0]

    def head(self, key: str) -> tuple[int, str]:
        """The object's size and ETag; ObjectMissing if there is none."""
        with self._errors(key=key):
            reply = self._s3.head_object(Bucket=self.location.bucket, Key=self._key(key))
        return reply["ContentLength"], reply["ETag"]

    def list_objects(self, prefix: str) -> list[tuple[str, datetime]]:
        """(key, last modified) of every object under ``prefix``."""
        found: list[tuple[str, datetime]] = []
        with self._errors():
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=self._key(prefix)
            )
            for page in pages:
                found.extend(
                    (self._relative(o["Key"]), o["LastModified"]) for o in page.get("Contents", [])
                )
        return found

    def exists(self, key: str) -> bool:
        try:
            with self._errors(key=key):
                self._s3.head_object(Bucket=self.location.bucket, Key=self._key(key))
        except ObjectMissing:
            return False
        return True

    def delete(self, key: str) -> None:
        """Delete the object; a missing one is no error (S3 answers the same)."""
        with self._errors(key=key):
            self._s3.delete_object(Bucket=self.location.bucket, Key=self._key(key))

    # --- helpers ----------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        return self.location.prefix + key

    def _relative(self, full: str) -> str:
        return full.removeprefix(self.location.prefix)

    @contextmanager
    def _errors(self, *, upload_id: str | None = None, key: str | None = None) -> Iterator[None]:
        """Turn S3's failures into Ferry's errors; anything unforeseen passes unchanged."""
        try:
            yield
        except botocore.exceptions.ClientError as exc:
            code = _code(exc)
            if code in _MISSING_UPLOAD_CODES:
                raise UploadMissing(f"multipart upload {upload_id} is gone ({code})") from exc
            if code in _MISSING_KEY_CODES:
                raise ObjectMissing(f"no object {key!r} in {self.location}") from exc
            if code in _PRECONDITION_CODES:
                raise DestinationExists(
                    f"an object already has the key {key!r} in {self.location}"
                ) from exc
            if code in _BAD_PART_CODES:
                raise IntegrityFailure(
                    f"the store does not hold the recorded parts of upload {upload_id} "
                    f"({code}): acknowledged bytes are missing or were replaced",
                    reason=Reason.STAGING_LOST,
                ) from exc
            if code in _BAD_DIGEST_CODES:
                raise Corrupted(
                    f"the store received other bytes than the part's CRC32C covers ({code})"
                ) from exc
            if code in _UNAVAILABLE_CODES:
                raise StoreUnavailable(
                    f"the object store refused the request ({code}); try again later"
                ) from exc
            raise
        except botocore.exceptions.BotoCoreError as exc:
            raise _unavailable(exc) from exc


def _unavailable(exc: botocore.exceptions.BotoCoreError) -> StoreUnavailable:
    return StoreUnavailable(f"the object store did not answer ({type(exc).__name__}): {exc}")
