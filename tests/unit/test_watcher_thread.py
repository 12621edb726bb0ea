"""The watch poller is a thread that stop() ends and join() then waits for (its stop event
must not shadow threading.Thread._stop, which join() calls)."""

from __future__ import annotations

from ferry_server.domain.watching import TaskWatcher


def test_a_stopped_watcher_can_be_joined() -> None:
    watcher = TaskWatcher(lambda ids: {}, interval=0.01)
    watcher.start()
    watcher.stop()
    watcher.join(timeout=5)
    assert not watcher.is_alive()
