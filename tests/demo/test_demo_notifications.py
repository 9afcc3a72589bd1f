"""The demo's notifications tell its story: the demo accounts' new tasks, urges and returns,
each written at the moment of the change in the audit trail that caused it, the last Friday's
clean-up reminder at 08:00 and the overdue reminders of the load."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from demo.loader import BEIJING
from models.audit import AuditEvent
from models.notification import Notification, NotificationKind
from tests.conftest import demo_database

NOW = datetime(2026, 12, 9, 6, 30, tzinfo=UTC)  # a Wednesday
# The audit actions whose moment each kind of notice shares.
CAUSES = {
    NotificationKind.TASK_ASSIGNED: {"task.create", "task.assign"},
    NotificationKind.TASK_URGED: {"task.urge"},
    NotificationKind.TASK_RETURNED: {"task.return", "task.reject"},
}

in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[None]:
    async with demo_database(now=NOW):
        yield


async def kinds_by_account() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for row in await Notification.all().values("recipient__username", "kind"):
        found[row["recipient__username"]].add(str(row["kind"]))
    return found


@in_module_loop
async def test_the_demo_accounts_have_the_notices_of_their_story(demo: None) -> None:
    kinds = await kinds_by_account()

    assert kinds["village_sec"] == {"TASK_ASSIGNED", "CLEANUP_DAY", "TASK_OVERDUE"}
    assert kinds["grid_leader"] >= {"TASK_ASSIGNED", "CLEANUP_DAY"}
    assert kinds["zhaxi_head"] >= {"TASK_ASSIGNED", "TASK_URGED", "TASK_OVERDUE"}
    assert "TASK_RETURNED" in set().union(*kinds.values())
    assert "inspector" not in kinds  # read-only: holds no task


@in_module_loop
async def test_each_change_notice_shares_the_moment_of_its_audit_event(demo: None) -> None:
    events: dict[tuple[str, str], set[datetime]] = defaultdict(set)
    for event in await AuditEvent.filter(entity_type="task"):
        events[(event.entity_id, event.action)].add(event.at)
    checked = 0
    for notice in await Notification.filter(kind__in=list(CAUSES)):
        moments = set().union(*(events[(str(notice.task_id), a)] for a in CAUSES[notice.kind]))
        assert notice.created_at in moments, (notice.kind, notice.title)
        checked += 1
    assert checked > 20


@in_module_loop
async def test_the_reminders_were_written_by_the_load(demo: None) -> None:
    cleanup = await Notification.filter(kind=NotificationKind.CLEANUP_DAY)
    overdue = await Notification.filter(kind=NotificationKind.TASK_OVERDUE)

    assert {n.created_at.astimezone(BEIJING) for n in cleanup} == {
        datetime(2026, 12, 4, 8, 0, tzinfo=BEIJING)  # the Friday before, 08:00
    }
    assert {n.title for n in cleanup} == {"清理日提醒：12月4日"}
    assert {n.created_at for n in overdue} == {NOW}
    assert all(n.created_at <= NOW for n in await Notification.all())
