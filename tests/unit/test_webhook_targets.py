"""Webhook URL rules (no I/O): what a webhook URL may look like, and allowlist prefixes matched
parsed (scheme, host, port, path segments), never as raw string prefixes."""

from __future__ import annotations

from pathlib import Path

import pytest
from ferry_server.domain.errors import InvalidArgument, PermissionDenied, Reason
from ferry_server.domain.webhook_targets import (
    WebhookRoute,
    WebhookUrlInvalid,
    choose_webhook,
    parse_webhook_url,
)
from ferry_server.identity.principals import PrincipalsFileError, parse_principals

PREFIX = "https://hooks.example.com/ferry/"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.com/ferry/x", "http"),
        ("hooks.example.com/ferry/x", "http"),
        ("https:///ferry/x", "no host"),
        ("https://user:pw@hooks.example.com/ferry/x", "password"),
        ("https://hooks.example.com@evil.net/ferry/x", "password"),
        ("https://hooks.example.com/ferry/x#frag", "fragment"),
        ("https://hooks.example.com/ferry/../admin", "'..'"),
        ("https://hooks.example.com/ferry/%2e%2e/admin", "'..'"),
        ("https://hooks.example.com/ferry/..;/admin", "'..'"),
        ("https://hooks.example.com/ferry/%2Fadmin", "encoded"),
        ("https://hooks.example.com\\@evil.net/ferry/", "backslash"),
        ("https://hooks.example.com/ferry/ x", "space"),
        ("https://hooks.example.com/ferry/\x00", "control"),
        ("https://hööks.example.com/ferry/", "non-ASCII"),
        ("https://hooks.example.com:99999/ferry/", "port"),
        ("https://hooks.example.com:0/ferry/", "port 0"),
        ("https://hooks.example.com/" + "a" * 2100, "2048"),
    ],
)
def test_malformed_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(WebhookUrlInvalid, match=why):
        parse_webhook_url(url)


def test_a_url_is_recorded_normalized() -> None:
    url = parse_webhook_url("HTTPS://Hooks.Example.COM:443/Ferry/Done?x=1")
    assert (url.scheme, url.host, url.port, url.path) == (
        "https",
        "hooks.example.com",
        443,
        "/Ferry/Done",
    )
    assert url.text == "https://hooks.example.com:443/Ferry/Done?x=1"
    assert parse_webhook_url("http://[::1]:8080").text == "http://[::1]:8080/"


@pytest.mark.parametrize(
    ("prefix", "url", "allowed"),
    [
        (PREFIX, "https://hooks.example.com/ferry/done", True),
        (PREFIX, "https://hooks.example.com:443/ferry/done?task=1", True),
        (PREFIX, "https://HOOKS.example.com/ferry/done", True),
        (PREFIX, "https://hooks.example.com/ferry/", True),
        (PREFIX, "https://hooks.example.com/ferry", False),
        (PREFIX, "https://hooks.example.com/ferryx/done", False),
        (PREFIX, "https://hooks.example.com/other/done", False),
        (PREFIX, "http://hooks.example.com/ferry/done", False),
        (PREFIX, "https://hooks.example.com:8443/ferry/done", False),
        (PREFIX, "https://hooks.example.com.evil.net/ferry/done", False),
        (PREFIX, "https://evil.net/hooks.example.com/ferry/done", False),
        (PREFIX, "https://xhooks.example.com/ferry/done", False),
        ("https://a.com", "https://a.com/anything", True),
        ("https://a.com", "https://a.com.evil.net/", False),
        ("https://a.com/ferry", "https://a.com/ferry", True),
        ("https://a.com/ferry", "https://a.com/ferry/x", True),
        ("https://a.com/ferry", "https://a.com/ferryx", False),
        ("http://a.com:80/x/", "http://a.com/x/y", True),
    ],
)
def test_prefixes_match_parsed_segments(prefix: str, url: str, allowed: bool) -> None:
    assert parse_webhook_url(url).under(parse_webhook_url(prefix, prefix=True)) is allowed


def test_a_prefix_holds_no_query() -> None:
    with pytest.raises(WebhookUrlInvalid, match="query"):
        parse_webhook_url("https://a.com/x?y=1", prefix=True)


ROUTE = WebhookRoute("https://own.example.com/hook", (parse_webhook_url(PREFIX, prefix=True),))


def test_the_choice_follows_the_precedence() -> None:
    assert choose_webhook("", ROUTE, "p") == "https://own.example.com/hook"
    assert choose_webhook(PREFIX + "t1", ROUTE, "p") == PREFIX + "t1"
    assert choose_webhook("", WebhookRoute(), "p") == ""


def test_a_refused_choice_says_why_with_its_reason() -> None:
    with pytest.raises(InvalidArgument) as malformed:
        choose_webhook("gopher://x", ROUTE, "p")
    assert malformed.value.reason is Reason.WEBHOOK_URL_REFUSED
    assert malformed.value.field == "webhook_url"
    with pytest.raises(PermissionDenied) as outside:
        choose_webhook("https://hooks.example.com.evil.net/ferry/x", ROUTE, "p")
    assert outside.value.reason is Reason.WEBHOOK_URL_REFUSED
    assert PREFIX not in outside.value.message, "the allowlist is not revealed"
    with pytest.raises(PermissionDenied, match="allows it none"):
        choose_webhook(PREFIX + "x", WebhookRoute("https://own.example.com/hook"), "p")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("webhook_url = 'ftp://a.com/x'", "http"),
        ("webhook_allow = ['https://a.com/x?y=1']", "query"),
        ("webhook_allow = 'https://a.com/'", "array of strings"),
        ("webhook_secret_file = 'missing.secret'", "cannot use the webhook secret"),
        ("webhook_secret_file = 'short.secret'", "at least 24"),
        ("webhook_urls = 'https://a.com/'", "unknown key"),
    ],
)
def test_malformed_principal_entries_say_where(entry: str, problem: str, tmp_path: Path) -> None:
    (tmp_path / "short.secret").write_text("whsec_" + "A" * 16)
    text = f"[[principal]]\nname = 'billing'\n{entry}\n"
    with pytest.raises(PrincipalsFileError, match=problem):
        parse_principals(text, "p.toml", base=tmp_path)


def test_principal_entries_are_read(tmp_path: Path) -> None:
    secret = "whsec_" + "B" * 32
    (tmp_path / "billing.secret").write_text(secret + "\n")
    text = (
        "[[principal]]\nname = 'billing'\nwebhook_url = 'https://B.example.com/done'\n"
        f"webhook_allow = [{PREFIX!r}]\nwebhook_secret_file = 'billing.secret'\n"
        "[[principal]]\nname = 'ingest'\n"
    )
    parsed = parse_principals(text, "p.toml", base=tmp_path)
    assert parsed.webhooks["billing"] == WebhookRoute(
        "https://b.example.com/done", (parse_webhook_url(PREFIX, prefix=True),)
    )
    assert parsed.webhooks["ingest"] == WebhookRoute()
    assert parsed.webhook_secrets == {"billing": secret}
    with pytest.raises(PrincipalsFileError, match="twice"):
        parse_principals(text + "[[principal]]\nname = 'ingest'\n", "p.toml", base=tmp_path)
