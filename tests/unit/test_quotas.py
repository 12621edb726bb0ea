"""The admission rule of a declaration: per-principal limits, and the staging disk's room less
its reserve (times the overcommit) against what active tasks still have to receive."""

from __future__ import annotations

import pytest
from ferry_server.domain.errors import QuotaExceeded, StorageFull
from ferry_server.domain.ports import Usage
from ferry_server.domain.quotas import Quotas, admit_task

MiB = 1 << 20


def _usage(tasks: int = 0, declared: int = 0, sizes: tuple[tuple[str, int], ...] = ()) -> Usage:
    return Usage(principal_tasks=tasks, principal_bytes=declared, active_sizes=sizes)


def test_limits_off_admit_whatever_fits_on_disk() -> None:
    admit_task(Quotas(), "p", 10 * MiB, _usage(1000, 10**12), free=20 * MiB, committed={})


def test_only_bytes_not_yet_committed_are_reserved() -> None:
    # A 40 MiB task with 30 MiB committed still needs 2 x 10: a 5 MiB task (10) fits in 30.
    usage = _usage(sizes=(("t", 40 * MiB),))
    admit_task(Quotas(), "p", 5 * MiB, usage, free=30 * MiB, committed={"t": 30 * MiB})
    # Without the committed figure (stale: nothing read yet) it is counted whole: refused.
    with pytest.raises(StorageFull):
        admit_task(Quotas(), "p", 5 * MiB, usage, free=30 * MiB, committed={})


@pytest.mark.parametrize(
    ("quotas", "usage", "size", "limit"),
    [
        (Quotas(active_tasks=2), _usage(2), 1, "active_tasks"),
        (Quotas(staged_bytes=10 * MiB), _usage(1, 6 * MiB), 5 * MiB, "staged_bytes"),
        (Quotas(disk_reserve=90 * MiB), _usage(), 6 * MiB, "disk"),
    ],
)
def test_each_limit_is_named(quotas: Quotas, usage: Usage, size: int, limit: str) -> None:
    with pytest.raises(QuotaExceeded) as caught:
        admit_task(quotas, "p", size, usage, free=100 * MiB, committed={})
    assert caught.value.facts["limit"] == limit


def test_overcommit_multiplies_the_room() -> None:
    with pytest.raises(QuotaExceeded):
        admit_task(Quotas(), "p", 100 * MiB, _usage(), free=100 * MiB, committed={})
    admit_task(Quotas(disk_overcommit=2.0), "p", 100 * MiB, _usage(), free=100 * MiB,
               committed={})  # fmt: skip
