"""The viewer's own notifications: listed newest first, marked read.

An account reads only the notifications addressed to it, whatever its roles: the inbox is
the viewer's own, as ``me`` is. What a notification points at (its task) is still read
through that object's own rule (``schema.notification``).
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from core import clock
from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import AuditAction, AuditEntity
from models.notification import Notification
from models.people import Person
from resolvers.audit import append_event
from resolvers.pagination import OrderKey, Page, paginate

NEWEST = OrderKey(descending=True)
MAX_IDS = 100  # a page's worth


def _mine(context: RequestContext) -> int:
    """The viewer's account; the fields that come here are open only to a signed-in viewer."""
    if context.viewer is None:
        raise DomainError(ErrorCode.FORBIDDEN, "Sign in to read your notifications.")
    return context.viewer.id


async def list_notifications(
    context: RequestContext, *, first: int | None, after: str | None, unread_only: bool
) -> Page[Notification]:
    query = Notification.filter(recipient_id=_mine(context))
    if unread_only:
        query = query.filter(read_at__isnull=True)
    return await paginate(query, first=first, after=after, order=NEWEST)


async def get_notification(context: RequestContext, pk: int) -> Notification | None:
    """One of the viewer's notifications; another account's reads as none."""
    if context.viewer is None:
        return None
    return await Notification.get_or_none(id=pk, recipient_id=context.viewer.id)


async def mark_read(context: RequestContext, ids: list[int] | None, every: bool) -> int:
    """Mark the viewer's notifications ``ids`` (or ``every`` unread one) read; returns how
    many were unread. An id that is not one of the viewer's notifications is ``NOT_FOUND``
    and nothing is marked. One audit event records the change, when there was one."""
    viewer = _mine(context)
    if every == (ids is not None):
        raise DomainError(ErrorCode.VALIDATION, "Give either `ids` or `all: true`.", "ids")
    wanted = sorted(set(ids or ()))
    if len(wanted) > MAX_IDS:
        raise DomainError(ErrorCode.VALIDATION, f"Give at most {MAX_IDS} ids.", "ids")
    async with in_transaction() as conn:
        query = Notification.filter(recipient_id=viewer, read_at__isnull=True).using_db(conn)
        if not every:
            owned = await Notification.filter(id__in=wanted, recipient_id=viewer).using_db(conn)
            if len(owned) != len(wanted):
                raise DomainError(ErrorCode.NOT_FOUND, "No such notification.", "ids")
            query = query.filter(id__in=wanted)
        unread = sorted(await query.values_list("id", flat=True))
        if not unread:
            return 0
        await Notification.filter(id__in=unread).using_db(conn).update(read_at=clock.now())
        home = ""
        if context.viewer is not None and context.viewer.person_id is not None:
            paths = (
                await Person.filter(id=context.viewer.person_id)
                .using_db(conn)
                .values_list("org_unit__path", flat=True)
            )
            home = str(paths[0]) if paths and paths[0] else ""
        await append_event(
            conn,
            context,
            action=AuditAction.NOTIFICATION_READ,
            entity_type=AuditEntity.USER,
            entity_id=viewer,
            org_path=home,
            after={"notification_ids": unread, "read": len(unread)},
        )
    return len(unread)
