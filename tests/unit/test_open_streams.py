"""The registry of open upload streams: once shutdown began, a new stream is refused as
SHUTTING_DOWN (retryable); at the limit a new one is refused as OVERLOADED with a retry delay;
nothing is left counted."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from ferry_server.domain.errors import Overloaded, Reason, Unavailable
from ferry_server.transport.status import STATUS_BY_ERROR, rich_status
from ferry_server.transport.streams import OpenStreams


def test_a_stream_after_shutdown_began_is_refused_as_shutting_down() -> None:
    async def scenario() -> None:
        streams = OpenStreams(limit=4, idle_timeout=60.0)
        async with streams.opened():
            pass
        assert streams.end_all() == 0
        with pytest.raises(Unavailable) as caught:
            async with streams.opened():
                pass
        assert caught.value.reason is Reason.SHUTTING_DOWN
        assert streams.count == 0

    asyncio.run(scenario())
    assert STATUS_BY_ERROR[Unavailable] == grpc.StatusCode.UNAVAILABLE


def test_a_stream_beyond_the_limit_is_refused_as_overloaded_with_a_delay() -> None:
    async def scenario() -> None:
        streams = OpenStreams(limit=2, idle_timeout=60.0)
        async with streams.opened(), streams.opened():
            with pytest.raises(Overloaded) as caught:
                async with streams.opened():
                    pass
            assert streams.count == 2
        assert streams.count == 0
        async with streams.opened():
            assert streams.count == 1
        status = rich_status(caught.value)
        assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert "limit of 2 open upload streams" in status.message
        assert caught.value.retry_after is not None and caught.value.retry_after > 0

    asyncio.run(scenario())
