"""The replica's periodic jobs (sweeps, notice delivery, stream heartbeat): a database out of
reach is one WARNING line without a traceback, a bug is logged with one, and the jobs go on."""

from __future__ import annotations

import logging
import threading

import pytest
from ferry_server.app import _Periodic
from ferry_server.domain.errors import Unavailable


def test_unavailable_is_one_warning_line_and_the_next_round_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[str] = []
    again = threading.Event()

    def flaky() -> None:
        rounds.append("flaky")
        if len(rounds) == 1:
            raise Unavailable("the database is out of reach")
        again.set()

    def buggy() -> None:
        raise KeyError("a bug")

    jobs = _Periodic("test", 0.001, (("flaky job", flaky), ("buggy job", buggy)))
    with caplog.at_level(logging.WARNING, logger="ferry.server"):
        jobs.start()
        assert again.wait(30), "the job ran again after the database came back"
        jobs.stop()
        jobs.join(30)
    assert not jobs.is_alive()
    skipped = [r for r in caplog.records if r.getMessage().startswith("flaky job skipped")]
    assert len(skipped) == 1
    assert skipped[0].levelno == logging.WARNING
    assert skipped[0].exc_info is None
    assert skipped[0].getMessage() == "flaky job skipped: the database is out of reach"
    failed = [r for r in caplog.records if r.getMessage() == "buggy job failed"]
    assert failed and all(r.levelno == logging.ERROR and r.exc_info for r in failed)
