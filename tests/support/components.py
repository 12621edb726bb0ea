"""What a test does when a component it needs (a database, a toolchain) is missing: skip on a
developer machine, fail when the CI environment variable is set, where everything must be there."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(message: str) -> NoReturn:
    """Skip with ``message``, or fail with it when CI is set."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: it is required)", pytrace=False)
    pytest.skip(message)
