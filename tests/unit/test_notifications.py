"""The notification policy (no I/O): backoff bounds, webhook settings, secrets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from ferry_server.config import Settings, SettingsError
from ferry_server.domain.notifications import DeliveryPolicy
from ferry_server.operations.webhooks import check_secret, refused_address


@pytest.mark.parametrize("attempts", [1, 2, 5, 12, 40])
def test_the_retry_delay_is_capped_exponential_with_full_jitter(attempts: int) -> None:
    policy = DeliveryPolicy(first_delay=timedelta(seconds=1), max_delay=timedelta(minutes=10))
    cap = min(600.0, 2.0 ** (attempts - 1))
    assert policy.retry_delay(attempts, rng=lambda: 1.0).total_seconds() == cap
    assert policy.retry_delay(attempts, rng=lambda: 0.0).total_seconds() == 0.5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"webhook_url": "ftp://backend/hook", "webhook_secret_file": Path("s")}, "http"),
        ({"webhook_url": "https://u:p@backend/hook", "webhook_secret_file": Path("s")}, "passw"),
        ({"webhook_url": "https://backend/hook"}, "always signed"),
        ({"webhook_secret_file": Path("s")}, "needs webhook_url"),
        ({"webhook_timeout_seconds": 0}, "positive"),
    ],
)
def test_webhook_settings_are_validated(changes: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings().replace(**changes)


@pytest.mark.parametrize(
    ("secret", "ok"),
    [
        ("whsec_" + "A" * 32, True),  # 24 bytes
        ("A" * 44, True),
        ("whsec_" + "A" * 16, False),  # 12 bytes: too short
        ("whsec_not base64!", False),
    ],
)
def test_secrets_must_be_base64_of_enough_bytes(secret: str, ok: bool) -> None:
    if ok:
        check_secret(secret)
    else:
        with pytest.raises(ValueError):
            check_secret(secret)


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "0.0.0.0"])
def test_non_public_addresses_are_refused(host: str) -> None:
    assert refused_address(host, 80) is not None


def test_a_public_address_is_allowed() -> None:
    assert refused_address("8.8.8.8", 443) is None
