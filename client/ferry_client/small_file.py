"""The small-file path: a file of at most 1 MiB read once, hashed, and sent whole in one
UploadFile request, which the server checks and publishes at once."""

from __future__ import annotations

import logging

import grpc
from ferry.v1 import ferry_pb2 as pb

from ferry_client.errors import AlreadyExists, ServerError, TransientError
from ferry_client.hashing import crc32c_extend
from ferry_client.models import UploadResult
from ferry_client.retry import RetryBudget, retrying
from ferry_client.source import Counters, UploadSource, build_result, file_name
from ferry_client.transport import Transport

log = logging.getLogger("ferry.client")


class UploadFileUnsupported(Exception):
    """The server answered UNIMPLEMENTED for UploadFile (an older version)."""


def upload_whole(
    transport: Transport, upload: UploadSource, data: bytes, budget: RetryBudget, started: float
) -> UploadResult | None:
    """Send the whole file in one UploadFile request: the result, or ``None`` when it has
    to go in blocks after all because a task is active for ``store_path`` (CreateTask resumes
    it if it is this very file's). Raises :class:`UploadFileUnsupported` for a server
    without UploadFile."""
    key = upload.key
    request = pb.UploadFileRequest(
        file_name=file_name(key),
        sha256=upload.sha256,
        store_path=key.store_path,
        metadata=upload.metadata,
        overwrite=upload.overwrite,
        crc32c=crc32c_extend(0, data),
        data=data,
    )
    counters = Counters()

    def send() -> pb.UploadFileResponse:
        # Every attempt carries the whole file; an empty file has no block to count.
        counters.add(data=len(data), blocks=1 if data else 0)
        try:
            return transport.upload_file(request)
        except TransientError as exc:
            # UploadFile's ABORTED without a reason (an older server) can only be that too.
            if exc.ferry_reason == "CHECKSUM_MISMATCH" or (
                exc.reason is None and exc.code == grpc.StatusCode.ABORTED
            ):
                # The data did not match its CRC32C on arrival.
                counters.add(mismatches=1)
            raise

    try:
        response = retrying(budget, send)
    except ServerError as exc:
        if exc.code != grpc.StatusCode.UNIMPLEMENTED:
            raise
        raise UploadFileUnsupported(str(exc)) from exc
    except AlreadyExists as exc:
        # An interrupted upload of this same file in blocks (by an older client, or after
        # the fallback to blocks) would block UploadFile until it expires; CreateTask resumes
        # it. For any other conflict CreateTask answers ALREADY_EXISTS in turn.
        log.debug("%s; trying CreateTask in case it is this file's own task", exc)
        return None
    return build_result(response.task, upload, counters, budget, started, resumed=response.resumed)
