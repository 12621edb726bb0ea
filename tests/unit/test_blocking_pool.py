"""The blocking pool's split between data hops (bounded, waiting on the loop for a slot) and
control work (never queued behind data hops), on real threads and a real event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest
from ferry_server.transport.blocking import BlockingPool, reserved_for_control

#: Only a bound against hanging forever on a bug; nothing here is timed.
HANG = 30.0


@pytest.mark.parametrize(("threads", "reserved"), [(1, 0), (2, 1), (8, 1), (64, 8), (100, 12)])
def test_an_eighth_of_the_threads_is_kept_for_control_work(threads: int, reserved: int) -> None:
    assert reserved_for_control(threads) == reserved
    pool = BlockingPool(threads)
    try:
        assert pool.data_slots == threads - reserved >= 1
    finally:
        pool.shutdown()


def test_control_work_runs_while_every_data_slot_is_taken_and_a_further_data_hop_waits() -> None:
    pool = BlockingPool(8)
    release = threading.Event()
    running = 0
    most = 0
    lock = threading.Lock()

    def data_hop() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(HANG)
        with lock:
            running -= 1

    async def scenario() -> None:
        hops = [asyncio.ensure_future(pool.run_data(data_hop)) for _ in range(pool.data_slots)]
        extra = asyncio.ensure_future(pool.run_data(data_hop))
        # Control work is answered while all data slots are busy.
        assert await asyncio.wait_for(pool.run(lambda: "answered"), HANG) == "answered"
        await asyncio.sleep(0)
        assert not extra.done()  # it waits on the loop for a slot, not in the thread queue
        release.set()
        await asyncio.wait_for(asyncio.gather(*hops, extra), HANG)

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        pool.shutdown()
    assert most == pool.data_slots


def test_a_slot_is_given_back_when_the_hop_returns_not_when_its_awaiter_is_cancelled() -> None:
    pool = BlockingPool(2)  # one data slot
    release = threading.Event()
    started = threading.Event()

    def data_hop() -> str:
        started.set()
        release.wait(HANG)
        return "written"

    async def scenario() -> None:
        first = asyncio.ensure_future(pool.run_data(data_hop))
        await asyncio.wait_for(asyncio.to_thread(started.wait, HANG), HANG)
        first.cancel()
        second = asyncio.ensure_future(pool.run_data(lambda: "next"))
        for _ in range(5):
            await asyncio.sleep(0)
        # The first hop still runs on its thread, so it still holds the only slot.
        assert not second.done()
        release.set()
        assert await asyncio.wait_for(second, HANG) == "next"

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        pool.shutdown()
