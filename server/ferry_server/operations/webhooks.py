"""The webhook sender: one HTTP POST per notice, signed per Standard Webhooks (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``: HMAC-SHA256 over ``id.timestamp.body``), with no
redirects followed, a time cap, a response-size cap, and private addresses refused unless
allowed. Implements the domain's :class:`~ferry_server.domain.notifications.WebhookSender`."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import socket
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from ferry_server.domain.notifications import DeliveryFailed

#: Most bytes of a receiver's answer read (and then ignored): a hostile receiver cannot make
#: the sender hold more.
MAX_RESPONSE_BYTES = 64 * 1024


def refused_address(host: str, port: int) -> str | None:
    """Why ``host`` may not be posted to (a loopback, private, link-local or otherwise
    non-public address), or None when every address it resolves to is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DeliveryFailed(f"cannot resolve {host}: {exc.strerror}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return (
                f"{host} resolves to {address}, a non-public address; webhooks to such "
                "addresses need --webhook-allow-private"
            )
    return None


#: Standard Webhooks asks for secrets of 24 to 64 random bytes.
MIN_SECRET_BYTES = 24


def check_secret(secret: str) -> None:
    """Raise ValueError unless ``secret`` is ``whsec_`` (optional) + base64 of enough bytes."""
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from exc
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"{len(key)} bytes; at least {MIN_SECRET_BYTES} random bytes are needed")


class HttpWebhookSender:
    """POSTs signed notices with httpx; one connection pool per replica."""

    def __init__(self, secret: str, *, timeout: float, allow_private: bool) -> None:
        check_secret(secret)
        self._signer = Webhook(secret)
        self._allow_private = allow_private
        self._client = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            headers={"user-agent": "ferry-webhooks/1"},
        )

    def send(
        self, url: str, event_id: str, timestamp: datetime, body: bytes, secret: str | None = None
    ) -> None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not self._allow_private:
            why = refused_address(host, port)
            if why is not None:
                raise DeliveryFailed(why, permanent=True)
        text = body.decode()
        # A principal's own secret was checked when the principals file was read.
        signer = self._signer if secret is None else Webhook(secret)
        headers = {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(math.floor(timestamp.timestamp())),
            "webhook-signature": signer.sign(event_id, timestamp, text),
        }
        try:
            with self._client.stream("POST", url, content=body, headers=headers) as response:
                received = 0
                for chunk in response.iter_bytes():
                    received += len(chunk)
                    if received > MAX_RESPONSE_BYTES:
                        break
                status = response.status_code
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"POST {host}: {type(exc).__name__}: {exc}") from exc
        if 300 <= status < 400:
            raise DeliveryFailed(f"POST {host}: HTTP {status}; redirects are not followed")
        if not 200 <= status < 300:
            raise DeliveryFailed(f"POST {host}: HTTP {status}")

    def close(self) -> None:
        self._client.close()
