"""The registry of open upload streams: once shutdown began, a new stream is refused as
SHUTTING_DOWN (retryable), and nothing is left registered."""

from __future__ import annotations

from typing import cast

import grpc
import pytest
from ferry_server.domain.errors import Reason, Unavailable
from ferry_server.transport.status import STATUS_BY_ERROR
from ferry_server.transport.streams import OpenStreams


def test_a_stream_after_shutdown_began_is_refused_as_shutting_down() -> None:
    streams = OpenStreams()
    context = cast(grpc.ServicerContext, object())
    with streams.tracking(context):
        pass
    assert streams.end_all() == 0
    with pytest.raises(Unavailable) as caught, streams.tracking(context):
        pass
    assert caught.value.reason is Reason.SHUTTING_DOWN
    assert STATUS_BY_ERROR[Unavailable] == grpc.StatusCode.UNAVAILABLE
