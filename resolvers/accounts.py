"""Logging in, and what an account may see of itself."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from models.people import Person, User
from resolvers.audit import append_event
from resolvers.context import RequestContext
from resolvers.errors import DomainError, ErrorCode
from resolvers.security import issue_token, verify_password

BAD_CREDENTIALS = "Unknown username or wrong password."


async def _home_path(user: User | None) -> str:
    """The unit of the account's person, so that those overseeing it see its failed logins."""
    if user is None or user.person_id is None:
        return ""
    rows = await Person.filter(id=user.person_id).values_list("org_unit__path", flat=True)
    return str(rows[0]) if rows and rows[0] else ""


async def login(context: RequestContext, username: str, password: str) -> str:
    """A signed token, or one error that does not say which half was wrong."""
    user = await User.get_or_none(username=username)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        async with in_transaction() as conn:
            await append_event(
                conn,
                context,
                action="user.login_failed",
                entity_type="user",
                entity_id=user.id if user else "",
                org_path=await _home_path(user),
                after={"username": username[:64]},
            )
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, BAD_CREDENTIALS)
    await User.filter(id=user.id).update(last_login_at=datetime.now(UTC))
    return issue_token(user.id, user.token_version, context.secret, context.token_ttl_seconds)
