"""Logging in: one answer for every failure, and throttling of repeated guesses.

Failures are counted per account name and per client address over a sliding window, in the
database so that every server process counts the same. Unknown names are throttled exactly
like real ones, so neither the answer nor its timing tells which names exist; they are kept
for the window only, and the audit trail records a keyed digest of them, never the name.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from core.context import RequestContext, Viewer
from core.errors import DomainError, ErrorCode
from core.security import verify_password
from models.people import LoginFailure, Person, User
from resolvers.audit import append_event

BAD_CREDENTIALS = "Unknown username or wrong password."
THROTTLED = "Too many failed logins: wait a few minutes before trying again."
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 30
MAX_USERNAME = 64


async def _home_path(user: User | None) -> str:
    """The unit of the account's person, so that those overseeing it see its failed logins."""
    if user is None or user.person_id is None:
        return ""
    rows = await Person.filter(id=user.person_id).values_list("org_unit__path", flat=True)
    return str(rows[0]) if rows and rows[0] else ""


async def _throttled(username: str, address: str, since: datetime) -> bool:
    """Whether this attempt, already recorded, is one too many.

    The attempt is written before it is counted, so concurrent guesses see each other: of N
    at once, the k-th to be recorded counts at least k, and no more than the limit get through.
    """
    recent = LoginFailure.filter(at__gte=since)
    if await recent.filter(username=username).count() > MAX_FAILURES_PER_ACCOUNT:
        return True
    return bool(address and await recent.filter(address=address).count() > MAX_FAILURES_PER_ADDRESS)


def _as_recorded(context: RequestContext, user: User | None, username: str) -> dict[str, str]:
    """Who tried, for the audit trail. A name that is no account is often a password typed
    into the wrong field, and the trail keeps it for ever: only a keyed digest of it goes in,
    which still ties repeated guesses at one name together."""
    if user is not None:
        return {"username": user.username}
    if context.signer is None:  # no key to digest with: keep nothing of the name
        return {"unknown_username": ""}
    return {"unknown_username": context.signer.digest(username)[:16]}


async def _refuse(
    context: RequestContext,
    user: User | None,
    username: str,
    attempt: LoginFailure,
    *,
    throttled: bool,
) -> DomainError:
    """Audit the failure in one transaction and say nothing specific. A throttled attempt
    is not counted as a failure: the window slides on real guesses only."""
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        await LoginFailure.filter(at__lt=now - WINDOW).using_db(conn).delete()
        if throttled:
            await LoginFailure.filter(id=attempt.id).using_db(conn).delete()
        await append_event(
            conn,
            context,
            action="user.login_throttled" if throttled else "user.login_failed",
            entity_type="user",
            entity_id=user.id if user else "",
            org_path=await _home_path(user),
            after={**_as_recorded(context, user, username), "address": attempt.address},
        )
    if throttled:
        return DomainError(ErrorCode.TOO_MANY_ATTEMPTS, THROTTLED)
    return DomainError(ErrorCode.INVALID_CREDENTIALS, BAD_CREDENTIALS)


async def login(context: RequestContext, username: str, password: str) -> str:
    """A signed token, or one error that does not say which half was wrong."""
    username = username[:MAX_USERNAME]
    now = datetime.now(UTC)
    attempt = await LoginFailure.create(
        username=username, address=context.client_address[:64], at=now
    )
    user = await User.get_or_none(username=username)
    if await _throttled(username, attempt.address, now - WINDOW):
        raise await _refuse(context, user, username, attempt, throttled=True)
    # argon2 is slow by design: off the event loop, so other requests go on meanwhile.
    valid = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        raise await _refuse(context, user, username, attempt, throttled=False)
    async with in_transaction() as conn:
        await LoginFailure.filter(username=username).using_db(conn).delete()
        await User.filter(id=user.id).using_db(conn).update(last_login_at=datetime.now(UTC))
    if context.signer is None:
        raise DomainError(ErrorCode.VALIDATION, "Tokens are not issued here.")
    return context.signer.issue(user.id, user.token_version)


async def still_signed_in(viewer: Viewer) -> bool:
    """Whether a long-lived connection's account is still active and its tokens unrevoked.

    An HTTP request checks its token every time; an open subscription asks again before each
    event it would describe (its transport also watches it between events).
    """
    version = viewer.account.token_version if viewer.account is not None else None
    return await User.filter(id=viewer.id, is_active=True, token_version=version).exists()
