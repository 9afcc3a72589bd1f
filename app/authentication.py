"""Bearer-token authentication as an ASGI middleware.

A request without ``Authorization`` is anonymous. A request with a bad, expired, unsigned or
tampered token, or one whose account is deactivated or whose tokens were revoked, is refused
with a GraphQL-shaped ``UNAUTHENTICATED`` error before any resolver runs. Paths that are not
the API's (``/metrics``, which has a credential of its own) are passed through untouched.

The check runs on every request and is kept to what it must do: a token already verified is
not decoded again (``core.security.VerifiedTokens``, expiry still checked each time), and the
account is read afresh with one short statement into a tuple, no ORM object. So a sign-out
or a deactivation holds from the next request on, in every process, with nothing to
invalidate.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise import connections

from core import telemetry
from core.context import Account, Viewer
from core.errors import UNAVAILABLE_MESSAGE, database_unavailable
from core.instrumentation import StatementCount, start_counting, stop_counting
from core.security import TokenClaims, TokenError, verified_tokens

log = logging.getLogger("riverchief.auth")

UNAVAILABLE_BODY = json.dumps(
    {
        "data": None,
        "errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}],
    }
).encode()

UNAUTHENTICATED_MESSAGE = "The bearer token is invalid, expired or revoked. Log in again."
UNAUTHENTICATED_BODY = json.dumps(
    {
        "data": None,
        "errors": [{"message": UNAUTHENTICATED_MESSAGE, "extensions": {"code": "UNAUTHENTICATED"}}],
    }
).encode()


class AuthenticationError(Exception):
    pass


ACCOUNT_COLUMNS = "id, username, person_id, token_version"
ACCOUNT_SQL = {
    placeholder: f"SELECT {ACCOUNT_COLUMNS} FROM user_account"  # noqa: S608 - constants only
    f" WHERE id = {placeholder} AND is_active"
    for placeholder in ("$1", "?")
}


async def active_account(user_id: int) -> Account | None:
    """The account ``user_id`` if it exists and is active, read now: one statement."""
    conn = connections.get("default")
    sql = ACCOUNT_SQL["$1" if conn.capabilities.dialect == "postgres" else "?"]
    _, rows = await conn.execute_query(sql, [user_id])
    if not rows:
        return None
    found = rows[0]
    return Account(int(found[0]), str(found[1]), found[2], int(found[3]))


async def authenticate(token: str, secret: str) -> tuple[Viewer, TokenClaims]:
    """The viewer a token speaks for, and its claims: signed, unexpired, for an active account
    whose token version it carries. Raises ``AuthenticationError`` otherwise."""
    try:
        claims = verified_tokens(secret).claims(token)
    except TokenError as exc:
        raise AuthenticationError(str(exc)) from exc
    account = await active_account(claims.user_id)
    if account is None or account.token_version != claims.token_version:
        raise AuthenticationError("account inactive or token revoked")
    viewer = Viewer(
        id=account.id, username=account.username, person_id=account.person_id, account=account
    )
    return viewer, claims


async def viewer_for_token(token: str, secret: str) -> Viewer:
    viewer, _ = await authenticate(token, secret)
    return viewer


def parse_bearer(value: str) -> str:
    """The token of an ``Authorization`` value; '' for one that is not a bearer token."""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of the ``Authorization`` header; '' for a header that is not a bearer token."""
    for name, value in headers:
        if name.lower() == b"authorization":
            return parse_bearer(value.decode("latin-1"))
    return None


class BearerAuthMiddleware:
    def __init__(self, app: ASGIApp, secret: str, passes: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.secret = secret
        self.passes = passes  # paths whose Authorization header is not a user's token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.passes:
            await self.app(scope, receive, send)
            return
        statements = start_counting()  # the request's count: the token check and the rest
        try:
            await self._authenticated(scope, receive, send, statements)
        finally:
            stop_counting(statements)

    async def _authenticated(
        self, scope: Scope, receive: Receive, send: Send, statements: StatementCount
    ) -> None:
        token = bearer_token(scope.get("headers", []))
        viewer = None
        if token is not None:
            try:
                viewer = await viewer_for_token(token, self.secret)
            except AuthenticationError as exc:
                log.info("refused bearer token: %s", exc)
                telemetry.error("UNAUTHENTICATED")
                await _refuse(send, 401, UNAUTHENTICATED_BODY)
                return
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                log.warning("database unavailable while checking a token")
                telemetry.error("SERVICE_UNAVAILABLE")
                await _refuse(send, 503, UNAVAILABLE_BODY)
                return
        state = scope.setdefault("state", {})
        state["viewer"], state["statements"] = viewer, statements
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer error="invalid_token"'))
    else:
        headers.append((b"retry-after", b"5"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
