"""The outbox: ``notify`` is the one way a notification is written, and the delivery side
claims, marks delivered and reschedules what the webhook worker sends (``ops.notify``).

``notify`` runs inside the caller's transaction, so a notice exists exactly when the change
that causes it committed. Recipients are accounts, people (their active accounts) or units
(the accounts that work tasks there: ``policies.recipients``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core import clock
from core.notify_settings import backoff
from models.notification import Notification, NotificationKind
from models.org import OrgUnit
from models.people import User
from policies.recipients import responsible_accounts

MAX_TITLE = 200
MAX_ERROR = 500


@dataclass(frozen=True)
class Recipients:
    """Whom a notice goes to: accounts, people (through their accounts) and units (through
    the accounts granted a role that works their tasks)."""

    users: tuple[int, ...] = ()
    people: tuple[int, ...] = ()
    units: tuple[OrgUnit, ...] = ()


async def accounts_of(conn: BaseDBAsyncClient, to: Recipients) -> list[int]:
    found = set(to.users)
    if to.people:
        found |= {
            int(row[0])
            for row in await User.filter(person_id__in=list(to.people), is_active=True)
            .using_db(conn)
            .values_list("id")
        }
    for unit in to.units:
        found |= set(await responsible_accounts(conn, unit))
    return sorted(int(i) for i in found)


async def notify(
    conn: BaseDBAsyncClient,
    kind: NotificationKind,
    to: Recipients,
    *,
    title: str,
    body: str = "",
    task_id: int | None = None,
    org_unit_id: int | None = None,
    key: str | None = None,
    skip: Collection[int | None] = (),
) -> list[int]:
    """Write one notification per recipient account in the transaction ``conn``; returns the
    accounts written to. ``skip``: accounts left out (the one that made the change, those
    told already).

    ``key`` makes the notice idempotent: per account, a notice with the same key is written
    once however often this is called (a periodic job run twice, or by two processes at once).
    """
    accounts = [a for a in await accounts_of(conn, to) if a not in skip]
    if not accounts:
        return []
    now = clock.now()
    rows = [
        Notification(
            recipient_id=account,
            kind=kind,
            task_id=task_id,
            org_unit_id=org_unit_id,
            title=title[:MAX_TITLE],
            body=body,
            created_at=now,
            next_attempt_at=now,
            dedup_key=f"{key}:{account}" if key else None,
        )
        for account in accounts
    ]
    await Notification.bulk_create(rows, using_db=conn, ignore_conflicts=key is not None)
    return accounts


# -- delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A claimed notification, as the webhook receives it."""

    id: int
    kind: NotificationKind
    title: str
    body: str
    created_at: datetime
    task_id: int | None
    attempts: int
    username: str
    phone: str


CLAIM_PG = (
    "UPDATE notification AS n SET next_attempt_at = $1, attempts = n.attempts + 1"
    " FROM (SELECT id FROM notification WHERE delivered_at IS NULL AND next_attempt_at <= $2"
    " ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) AS due"
    " WHERE n.id = due.id RETURNING n.id"
)


async def claim(lease: timedelta, limit: int) -> list[Outgoing]:
    """Take up to ``limit`` notifications due for delivery, pushing each one's next attempt
    ``lease`` ahead: no other worker takes them meanwhile, and one that dies while sending
    leaves them to be taken again when the lease runs out. On PostgreSQL rows another worker
    is claiming are skipped (``FOR UPDATE SKIP LOCKED``); SQLite has a single writer."""
    now = clock.now()
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            rows = await conn.execute_query_dict(CLAIM_PG, [now + lease, now, limit])
            ids = [int(r["id"]) for r in rows]
        else:
            ids = [
                int(row[0])
                for row in await Notification.filter(
                    delivered_at__isnull=True, next_attempt_at__lte=now
                )
                .using_db(conn)
                .order_by("next_attempt_at", "id")
                .limit(limit)
                .values_list("id")
            ]
            for pk in ids:
                await conn.execute_query(
                    "UPDATE notification SET next_attempt_at = ?, attempts = attempts + 1"
                    " WHERE id = ?",
                    [now + lease, pk],
                )
    if not ids:
        return []
    rows = (
        await Notification.filter(id__in=ids)
        .order_by("id")
        .values(
            "id",
            "kind",
            "title",
            "body",
            "created_at",
            "task_id",
            "attempts",
            "recipient__username",
            "recipient__person__phone",
        )
    )
    return [_outgoing(row) for row in rows]


def _outgoing(row: dict[str, Any]) -> Outgoing:
    return Outgoing(
        id=int(row["id"]),
        kind=NotificationKind(row["kind"]),
        title=row["title"],
        body=row["body"],
        created_at=row["created_at"],
        task_id=row["task_id"],
        attempts=int(row["attempts"]),
        username=row["recipient__username"],
        phone=row["recipient__person__phone"] or "",
    )


async def mark_delivered(notification_id: int) -> None:
    """The webhook took it (a 2xx): it is never sent again."""
    await Notification.filter(id=notification_id, delivered_at__isnull=True).update(
        delivered_at=clock.now(), next_attempt_at=None, last_error=""
    )


async def mark_failed(
    notification: Outgoing,
    error: str,
    *,
    base: timedelta,
    cap: timedelta,
    max_attempts: int,
) -> datetime | None:
    """Try again after the back-off of its attempts so far, or give up after ``max_attempts``
    (``next_attempt_at`` null, ``last_error`` kept). Returns the next attempt's time."""
    retry = (
        clock.now() + backoff(notification.attempts, base, cap)
        if notification.attempts < max_attempts
        else None
    )
    await Notification.filter(id=notification.id, delivered_at__isnull=True).update(
        next_attempt_at=retry, last_error=error[:MAX_ERROR]
    )
    return retry


async def undelivered(ids: Sequence[int] | None = None) -> int:
    """How many notifications (of ``ids``, or all) wait for delivery or were given up."""
    query = Notification.filter(delivered_at__isnull=True)
    if ids is not None:
        query = query.filter(id__in=list(ids))
    return await query.count()
