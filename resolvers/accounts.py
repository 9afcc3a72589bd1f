"""Logging in: one answer for every failure, and throttling of repeated guesses.

Failures are counted per account name and per client address over a sliding window, in the
database so that every server process counts the same. Unknown names are throttled exactly
like real ones, so neither the answer nor its timing tells which names exist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from models.people import LoginFailure, Person, User
from resolvers.audit import append_event
from resolvers.context import RequestContext
from resolvers.errors import DomainError, ErrorCode
from resolvers.security import issue_token, verify_password

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
    recent = LoginFailure.filter(at__gte=since)
    if await recent.filter(username=username).count() >= MAX_FAILURES_PER_ACCOUNT:
        return True
    return bool(
        address and await recent.filter(address=address).count() >= MAX_FAILURES_PER_ADDRESS
    )


async def _refuse(
    context: RequestContext, user: User | None, username: str, *, throttled: bool
) -> DomainError:
    """Record the failure (and audit it) in one transaction, and say nothing specific."""
    now = datetime.now(UTC)
    address = context.client_address[:64]
    async with in_transaction() as conn:
        await LoginFailure.filter(at__lt=now - WINDOW).using_db(conn).delete()
        if not throttled:
            await LoginFailure.create(username=username, address=address, at=now, using_db=conn)
        await append_event(
            conn,
            context,
            action="user.login_throttled" if throttled else "user.login_failed",
            entity_type="user",
            entity_id=user.id if user else "",
            org_path=await _home_path(user),
            after={"username": username, "address": address},
        )
    if throttled:
        return DomainError(ErrorCode.TOO_MANY_ATTEMPTS, THROTTLED)
    return DomainError(ErrorCode.INVALID_CREDENTIALS, BAD_CREDENTIALS)


async def login(context: RequestContext, username: str, password: str) -> str:
    """A signed token, or one error that does not say which half was wrong."""
    username = username[:MAX_USERNAME]
    user = await User.get_or_none(username=username)
    valid = verify_password(user.password_hash if user else None, password)
    since = datetime.now(UTC) - WINDOW
    if await _throttled(username, context.client_address[:64], since):
        raise await _refuse(context, user, username, throttled=True)
    if user is None or not valid or not user.is_active:
        raise await _refuse(context, user, username, throttled=False)
    async with in_transaction() as conn:
        await LoginFailure.filter(username=username).using_db(conn).delete()
        await User.filter(id=user.id).using_db(conn).update(last_login_at=datetime.now(UTC))
    return issue_token(user.id, user.token_version, context.secret, context.token_ttl_seconds)
