"""Where a task's completion notice goes: what a webhook URL may look like, whether it lies
under one of a principal's allowed prefixes, and the URL chosen when a task is declared.

Precedence (docs/design.md, "Completion notifications"): the URL given at CreateTask or
UploadFile, if the principal's allowlist holds it; else the principal's own URL (principals
file); else the server's ``--webhook-url``; else none. The choice is recorded on the task when it
is created, so editing the principals file later does not redirect the notices of tasks
already declared.

Prefixes are compared parsed, never as raw strings: scheme, host and port must be equal, and
the path must continue the prefix's path at a segment boundary, so that
``https://hooks.example.com`` allows neither ``https://hooks.example.com.evil.net`` nor
``https://hooks.example.com@evil.net``. The SSRF rule on addresses (no loopback, private or
link-local address unless ``--webhook-allow-private``) is applied at delivery, when the name is
resolved (``operations/webhooks.py``), not here: a name may resolve differently later.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from ferry_server.domain.errors import InvalidArgument, PermissionDenied, Reason
from ferry_server.domain.inputs import shown

#: Longest webhook URL accepted, in bytes (as browsers and most proxies accept).
MAX_URL_BYTES = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WebhookUrlInvalid(ValueError):
    """A webhook URL or allowlist prefix that is malformed; the message says why."""


@dataclass(frozen=True, slots=True)
class WebhookUrl:
    """A webhook URL, validated and parsed: what is compared against allowlist prefixes."""

    scheme: str
    host: str
    port: int
    path: str
    #: The URL as recorded and POSTed to: scheme and host in lowercase, "/" for an empty path.
    text: str

    def under(self, prefix: WebhookUrl) -> bool:
        """Whether this URL lies under ``prefix``: same scheme, host and port, and the path
        continues the prefix's path at a segment boundary (``/ferry`` holds ``/ferry`` and
        ``/ferry/x``, not ``/ferryx``; ``/ferry/`` holds ``/ferry/x``)."""
        if (self.scheme, self.host, self.port) != (prefix.scheme, prefix.host, prefix.port):
            return False
        if prefix.path.endswith("/"):
            return self.path.startswith(prefix.path)
        return self.path == prefix.path or self.path.startswith(prefix.path + "/")


def parse_webhook_url(text: str, *, prefix: bool = False) -> WebhookUrl:
    """``text`` as a webhook URL (or, with ``prefix``, an allowlist prefix, which has no
    query); WebhookUrlInvalid says what is wrong with it."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_URL_BYTES:
        raise WebhookUrlInvalid(f"longer than {MAX_URL_BYTES} bytes")
    if not text.isascii() or any(c <= " " or c == "\x7f" for c in text):
        raise WebhookUrlInvalid(
            "holds a space, a control or a non-ASCII character (percent-encode it, and give an "
            "internationalized host name in its xn-- form)"
        )
    if "\\" in text:
        # Some HTTP stacks read a backslash as "/": one URL must mean one place to everyone.
        raise WebhookUrlInvalid("holds a backslash")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise WebhookUrlInvalid("must be an http:// or https:// URL")
    if "@" in parts.netloc:
        raise WebhookUrlInvalid("must not hold a user name or password (user:password@host)")
    if "#" in text:
        raise WebhookUrlInvalid("must not hold a fragment (#...)")
    host = parts.hostname or ""
    if not host:
        raise WebhookUrlInvalid("names no host")
    try:
        explicit = parts.port
    except ValueError:
        raise WebhookUrlInvalid("has an invalid port") from None
    if explicit == 0:
        raise WebhookUrlInvalid("has port 0")
    path = parts.path or "/"
    lowered = path.lower()
    if "%2f" in lowered or "%5c" in lowered:
        # A receiver may decode it into a separator and route past the allowed prefix.
        raise WebhookUrlInvalid("holds an encoded '/' or '\\' in its path")
    # "..;" is ".." to some servers (path parameters): refused as well.
    if any(segment.split(";")[0] in (".", "..") for segment in unquote(path).split("/")):
        raise WebhookUrlInvalid("holds a '.' or '..' path segment")
    if prefix and parts.query:
        raise WebhookUrlInvalid("an allowed prefix holds no query (?...)")
    text = urlunsplit((scheme, parts.netloc.lower(), path, parts.query, ""))
    return WebhookUrl(scheme, host, explicit or _DEFAULT_PORTS[scheme], path, text)


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    """A principal's webhook settings: its own URL (None: the server's, if any) and the
    prefixes a URL given at CreateTask must lie under (none: it may give none)."""

    url: str | None = None
    allow: tuple[WebhookUrl, ...] = ()


#: A principal without webhook settings on a server that sends no notices.
NO_ROUTE = WebhookRoute()


def choose_webhook(requested: str, route: WebhookRoute, principal: str) -> str:
    """The URL recorded for a task ``principal`` declares ("" for none): ``requested`` when
    given and allowed, else the route's own URL.

    Raises InvalidArgument (malformed) or PermissionDenied (outside the allowlist, or no
    allowlist), both with reason WEBHOOK_URL_REFUSED; the refusal names no allowed prefix, so
    it reveals nothing of the principals file.
    """
    if not requested:
        return route.url or ""
    try:
        url = parse_webhook_url(requested)
    except WebhookUrlInvalid as exc:
        raise InvalidArgument(
            f"webhook_url {shown(requested)} is refused: it {exc}",
            reason=Reason.WEBHOOK_URL_REFUSED,
            field="webhook_url",
        ) from None
    if not route.allow:
        raise PermissionDenied(
            f"principal {shown(principal)} may not choose a webhook URL per task: the "
            "principals file allows it none (webhook_allow)",
            reason=Reason.WEBHOOK_URL_REFUSED,
        )
    if not any(url.under(prefix) for prefix in route.allow):
        raise PermissionDenied(
            f"webhook_url {shown(url.text)} is not under any prefix principal "
            f"{shown(principal)} is allowed (webhook_allow in the principals file)",
            reason=Reason.WEBHOOK_URL_REFUSED,
        )
    return url.text
