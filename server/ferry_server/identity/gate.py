"""The authenticator of a replica: a call's bearer token (upload token, JWT or service token)
or else its verified client certificate, turned into a :class:`Caller`; with no credential
configured at all, every call is the anonymous principal that may do everything."""

from __future__ import annotations

from ferry_server.domain.errors import Unauthenticated
from ferry_server.domain.identity import ANONYMOUS_CALLER, UPLOAD_TOKEN_PREFIX, Caller
from ferry_server.domain.inputs import shown
from ferry_server.domain.ports import Credentials
from ferry_server.domain.webhook_targets import WebhookRoute
from ferry_server.identity.jwt_tokens import JwtVerifier
from ferry_server.identity.principals import PrincipalsFile
from ferry_server.identity.upload_tokens import UploadTokens


class Gate:
    """Implements the domain's ``Authenticator`` port. A bearer token, when present, decides
    alone (a bad one is refused even over an mTLS connection whose certificate is known), so
    an uploader holding an upload token is scoped to its task whatever channel it uses."""

    def __init__(
        self,
        *,
        principals: PrincipalsFile | None,
        jwt: JwtVerifier | None,
        upload_tokens: UploadTokens,
    ) -> None:
        self._principals = principals
        self._jwt = jwt
        self._upload_tokens = upload_tokens

    @property
    def configured(self) -> bool:
        """Whether any credential is configured; if not, every caller is anonymous."""
        return self._principals is not None or self._jwt is not None

    def reload(self) -> None:
        """Re-read the principals file and the JWKS now (SIGHUP)."""
        if self._principals is not None:
            self._principals.reload()
        if self._jwt is not None:
            self._jwt.reload()

    def webhook_route(self, principal: str) -> WebhookRoute | None:
        """``principal``'s webhook settings from the principals file (a JWT's principal's
        too: claims never choose webhooks), None when it names none."""
        return None if self._principals is None else self._principals.webhook_route(principal)

    def webhook_secret(self, principal: str) -> str | None:
        """The secret that signs ``principal``'s notices (principals file), None for the
        server's."""
        return None if self._principals is None else self._principals.webhook_secret(principal)

    def authenticate(self, credentials: Credentials) -> Caller:
        if not self.configured:
            return ANONYMOUS_CALLER
        if credentials.authorization is not None:
            return self._bearer(credentials.authorization)
        identities = credentials.certificate_identities
        if identities:
            found = self._principals.by_certificate(identities) if self._principals else None
            if found is None:
                raise Unauthenticated(
                    "the client certificate's identities ("
                    + ", ".join(shown(i) for i in identities[:4])
                    + ") name no principal this server knows"
                )
            return found
        raise Unauthenticated(
            "this server requires credentials: send the metadata 'authorization: Bearer TOKEN' "
            "or a client certificate"
        )

    def _bearer(self, authorization: str) -> Caller:
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("the authorization metadata must be 'Bearer TOKEN'")
        if token.startswith(UPLOAD_TOKEN_PREFIX):
            return self._upload_tokens.verify(token)
        if self._jwt is not None and token.count(".") == 2:
            return self._jwt.verify(token)
        found = self._principals.by_token(token) if self._principals is not None else None
        if found is None:
            raise Unauthenticated("unknown bearer token (revoked, mistyped, or for another server)")
        return found
