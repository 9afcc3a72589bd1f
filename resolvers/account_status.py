"""Deactivating an account: it can no longer log in, and every token it holds stops working.

Tokens carry the account's ``token_version``; the token check reads the account on every
request and refuses an inactive one or an old version. So deactivation takes effect on the
next request, in every server process, with nothing to announce. Who may deactivate is the
caller's to decide: today the operator CLI, which runs with the database's own authority.
"""

from __future__ import annotations

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import AuditAction, AuditEntity
from models.people import Person, User
from resolvers.audit import append_event


async def deactivate_user(context: RequestContext | None, user_id: int) -> User:
    """Deactivate the account and revoke its tokens, with a ``user.deactivate`` audit event,
    in one transaction. ``NOT_FOUND`` for no such account, ``CONFLICT`` if already inactive.

    The account keeps its role grants (``riverchief policy check`` lists them): removing a
    grant is ``revokeRole``'s, under its own rules.
    """
    async with in_transaction() as conn:
        changed = (
            await User.filter(id=user_id, is_active=True)
            .using_db(conn)
            .update(is_active=False, token_version=F("token_version") + 1)
        )
        user = await User.get_or_none(id=user_id, using_db=conn)
        if user is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such user.", "userId")
        if not changed:
            raise DomainError(ErrorCode.CONFLICT, "That account is already deactivated.", "userId")
        home = ""
        if user.person_id is not None:
            paths = (
                await Person.filter(id=user.person_id)
                .using_db(conn)
                .values_list("org_unit__path", flat=True)
            )
            home = str(paths[0]) if paths and paths[0] else ""
        await append_event(
            conn,
            context,
            action=AuditAction.USER_DEACTIVATE,
            entity_type=AuditEntity.USER,
            entity_id=user.id,
            org_path=home,
            before={"is_active": True, "token_version": user.token_version - 1},
            after={"is_active": False, "token_version": user.token_version},
        )
    return user
