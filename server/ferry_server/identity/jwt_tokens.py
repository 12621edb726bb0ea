"""JWT bearer tokens from an identity provider, verified with PyJWT against a JWKS (a file
re-read when it changes, or a URL re-fetched for an unknown ``kid`` at most every few
seconds), with an explicit allowlist of asymmetric algorithms, issuer, audience, expiry and
leeway; their claims map to a :class:`Caller`.

Claims (docs/design.md, "Identity"): ``sub`` is the principal; ``ferry_permissions`` the
permissions (an array, or one space-separated string); ``ferry_prefixes`` the store_path
prefixes (an array). ``exp``, ``iss``, ``aud`` and ``sub`` are required.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jwt

from ferry_server.domain.errors import Reason, Unauthenticated
from ferry_server.domain.identity import Caller, CredentialKind, Permission

log = logging.getLogger("ferry.auth")

#: The algorithms a JWKS's public keys can verify. Symmetric ones (HS*) and ``none`` are
#: never accepted: a JWKS is public, so a token "signed" with it would prove nothing.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
#: The JWK key type each algorithm family needs.
_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_PERMISSION_NAMES = frozenset(p.value for p in Permission)
PERMISSIONS_CLAIM = "ferry_permissions"
PREFIXES_CLAIM = "ferry_prefixes"
#: Seconds between two looks at a JWKS file's modification time.
FILE_POLL_SECONDS = 1.0
#: Seconds a JWKS URL may take to answer.
FETCH_TIMEOUT_SECONDS = 5.0


class JwksError(ValueError):
    """The JWKS cannot be read or is malformed."""


def is_url(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def _fetch_url(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as reply:
        data: bytes = reply.read(1 << 20)
        return data


def parse_jwks(data: bytes, source: str) -> dict[str, Mapping[str, Any]]:
    """The keys of a JWKS document by ``kid``: only public asymmetric keys with a ``kid``."""
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise JwksError(f"{source}: not JSON: {exc}") from exc
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise JwksError(f"{source}: not a JWKS (no 'keys' array)")
    found: dict[str, Mapping[str, Any]] = {}
    for key in keys:
        if not isinstance(key, dict) or not isinstance(key.get("kid"), str):
            continue
        if key.get("kty") not in ("RSA", "EC", "OKP") or "d" in key:
            # Symmetric or private keys have no place in a verification key set.
            log.warning("%s: key %r ignored: not a public asymmetric key", source, key.get("kid"))
            continue
        found[key["kid"]] = key
    return found


class JwtVerifier:
    """Verifies JWTs and maps their claims to callers. Thread-safe."""

    def __init__(
        self,
        jwks: str,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str],
        leeway_seconds: float,
        min_refresh_seconds: float,
        fetch: Callable[[str], bytes] = _fetch_url,
    ) -> None:
        refused = set(algorithms) - ASYMMETRIC_ALGORITHMS
        if refused or not algorithms:
            raise JwksError(
                f"JWT algorithms {sorted(refused) or '(none)'} refused: allow one or more of "
                f"{', '.join(sorted(ASYMMETRIC_ALGORITHMS))}"
            )
        self._source = jwks
        self._issuer = issuer
        self._audience = audience
        self._algorithms = tuple(algorithms)
        self._leeway = leeway_seconds
        self._min_refresh = min_refresh_seconds
        self._fetch = fetch
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._loaded_at = float("-inf")
        self._checked = float("-inf")
        self._keys: dict[str, Mapping[str, Any]] = {}
        self.reload(strict=True)

    # -- keys --------------------------------------------------------------------------------

    def reload(self, *, strict: bool = False) -> None:
        """Read the JWKS again now (SIGHUP). With ``strict``, a failure raises JwksError;
        otherwise the keys in force stay and the failure is logged."""
        with self._lock:
            if strict:
                try:
                    self._load()
                except (JwksError, OSError) as exc:
                    raise JwksError(f"cannot load the JWKS {self._source}: {exc}") from exc
            else:
                self._reload_quietly()

    def _load(self) -> None:
        self._loaded_at = self._checked = time.monotonic()
        if is_url(self._source):
            data = self._fetch(self._source)
        else:
            path = Path(self._source)
            stat = path.stat()
            self._stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            data = path.read_bytes()
        keys = parse_jwks(data, self._source)
        if keys.keys() != self._keys.keys():
            log.info("JWKS %s loaded: key ids %s", self._source, sorted(keys))
        self._keys = keys

    def _file_changed(self) -> bool:
        try:
            stat = Path(self._source).stat()
        except OSError:
            return False
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino) != self._stamp

    def _key(self, kid: str) -> Mapping[str, Any] | None:
        """The key ``kid``: a changed file is re-read (looked at once a second); an unknown
        kid makes a URL be fetched again, at most once per ``min_refresh_seconds``, so a
        flood of made-up kids cannot hammer the identity provider."""
        now = time.monotonic()
        with self._lock:
            if not is_url(self._source) and now - self._checked >= FILE_POLL_SECONDS:
                self._checked = now
                if self._file_changed():
                    self._reload_quietly()
            key = self._keys.get(kid)
            if key is None and is_url(self._source) and now - self._loaded_at >= self._min_refresh:
                self._reload_quietly()
                key = self._keys.get(kid)
            return key

    def _reload_quietly(self) -> None:
        problem = self._try_load()
        if problem is not None:
            log.error("JWKS %s not reloaded, the previous keys stay: %s", self._source, problem)

    def _try_load(self) -> str | None:
        """Load the keys; what went wrong, or None."""
        try:
            self._load()
        except (JwksError, OSError) as exc:
            return str(exc)
        return None

    # -- tokens ------------------------------------------------------------------------------

    def verify(self, token: str) -> Caller:
        """The caller ``token`` names, or Unauthenticated (TOKEN_EXPIRED once expired)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _refused(f"malformed JWT: {exc}") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self._algorithms:
            raise _refused(
                f"JWT algorithm {alg!r} is not allowed (allowed: {', '.join(self._algorithms)})"
            )
        if not isinstance(kid, str):
            raise _refused("the JWT names no key (kid)")
        data = self._key(kid)
        if data is None:
            raise _refused(f"the JWT's key {kid!r} is not in the JWKS")
        if data.get("kty") != _KEY_TYPE.get(alg[:2]) or data.get("alg", alg) != alg:
            raise _refused(f"the JWT's algorithm {alg} does not fit its key {kid!r}")
        try:
            key = jwt.PyJWK(dict(data), algorithm=alg)
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated(
                "the JWT has expired: get a fresh one", reason=Reason.TOKEN_EXPIRED
            ) from None
        except jwt.PyJWTError as exc:
            raise _refused(f"JWT refused: {exc}") from None
        return _caller(claims)


def _refused(message: str) -> Unauthenticated:
    return Unauthenticated(message)


def _caller(claims: Mapping[str, Any]) -> Caller:
    principal = claims["sub"]
    if not isinstance(principal, str) or not principal or len(principal) > 255:
        raise _refused("the JWT's sub must be a string of 1 to 255 characters")
    raw = claims.get(PERMISSIONS_CLAIM, [])
    names = raw.split() if isinstance(raw, str) else raw
    prefixes = claims.get(PREFIXES_CLAIM, [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _refused(f"the JWT's {PERMISSIONS_CLAIM} must be an array of strings")
    if not isinstance(prefixes, list) or not all(isinstance(p, str) for p in prefixes):
        raise _refused(f"the JWT's {PREFIXES_CLAIM} must be an array of strings")
    # Names this server does not know are ignored: an identity provider serves many services.
    known = Permission.parse([n for n in names if n in _PERMISSION_NAMES], source="JWT")
    return Caller(principal, known, tuple(prefixes), kind=CredentialKind.JWT)
