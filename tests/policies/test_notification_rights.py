"""Who reads which notifications: every account its own and nobody else's, whatever its
roles; anonymous is UNAUTHENTICATED. A notification shows its task only to a reader who may
read that task. Marking read touches only one's own notifications and leaves an audit event.
Over the schema, over HTTP and over the websocket alike."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from models.audit import AuditEvent
from models.notification import Notification, NotificationKind
from resolvers.outbox import Recipients, notify
from schema.node import to_global_id
from tests.fixtures import ACCOUNTS, Tree
from tests.graph import codes, data, run
from tests.http.client import GraphQLClient
from tests.http.test_websocket_authority import assert_the_socket_answers_as_http

EVERYONE = sorted(ACCOUNTS)
INBOX = """
query($unreadOnly: Boolean) {
  notifications(first: 10, unreadOnly: $unreadOnly) {
    totalCount
    edges { node { id kind title body readAt task { id } orgUnit { name } } }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Notification { title } } }"
MARK = """
mutation($ids: [ID!], $all: Boolean) {
  markNotificationsRead(ids: $ids, all: $all) { count errors { field code } }
}
"""


@pytest.fixture
async def inbox(tree: Tree) -> dict[str, str]:
    """One notification per account, about the task of its grant's unit; and, for the village
    secretary, one more about a task at Yangzonghai, which it may not read. Returns each
    account's first notification's global ID."""
    ids: dict[str, str] = {}
    async with in_transaction() as conn:
        for username, (_, unit) in ACCOUNTS.items():
            user = tree.users[username]
            await notify(
                conn,
                NotificationKind.TASK_ASSIGNED,
                Recipients(users=(user.id,)),
                title=f"新任务：task of {unit}",
                task_id=tree.tasks[unit].id,
                org_unit_id=tree.units[unit].id,
            )
            row = await Notification.filter(recipient_id=user.id).using_db(conn).get()
            ids[username] = to_global_id("Notification", row.id)
        await notify(
            conn,
            NotificationKind.TASK_URGED,
            Recipients(users=(tree.users["village_sec"].id,)),
            title="督办：task of qixing",
            task_id=tree.tasks["qixing"].id,
            org_unit_id=tree.units["qixing"].id,
        )
    return ids


def titles(found: Any) -> list[str]:
    return [e["node"]["title"] for e in found["notifications"]["edges"]]


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_every_account_reads_its_own_notifications_only(
    tree: Tree, inbox: dict[str, str], viewer: str
) -> None:
    found = await data(tree, viewer, INBOX)

    unit = ACCOUNTS[viewer][1]
    expected = [f"新任务：task of {unit}"]
    if viewer == "village_sec":
        expected = ["督办：task of qixing", *expected]  # newest first
    assert titles(found) == expected
    assert found["notifications"]["totalCount"] == len(expected)
    own = found["notifications"]["edges"][-1]["node"]
    assert own["task"] == {"id": tree.task_gid(unit)}
    assert own["orgUnit"] == {"name": unit}
    for other in EVERYONE:
        shown = (await data(tree, viewer, NODE, id=inbox[other]))["node"]
        assert shown == ({"id": inbox[other], "title": expected[-1]} if other == viewer else None)


async def test_a_notification_never_shows_a_task_its_reader_may_not_read(
    tree: Tree, inbox: dict[str, str]
) -> None:
    found = await data(tree, "village_sec", INBOX)

    urged = found["notifications"]["edges"][0]["node"]
    assert (urged["title"], urged["task"], urged["orgUnit"]) == ("督办：task of qixing", None, None)


async def test_anonymous_reads_no_notifications(tree: Tree, inbox: dict[str, str]) -> None:
    result = await run(tree, None, INBOX)

    assert codes(result) == ["UNAUTHENTICATED"]
    assert result.data is None


async def test_marking_read_touches_only_ones_own(tree: Tree, inbox: dict[str, str]) -> None:
    mine, theirs = inbox["grid_leader"], inbox["village_sec"]
    before = await AuditEvent.filter(action="notification.read").count()

    refused = await data(tree, "grid_leader", MARK, ids=[mine, theirs])
    assert refused["markNotificationsRead"] == {
        "count": 0,
        "errors": [{"field": "ids", "code": "NOT_FOUND"}],
    }
    assert await Notification.filter(read_at__isnull=False).count() == 0

    marked = await data(tree, "grid_leader", MARK, ids=[mine])
    again = await data(tree, "grid_leader", MARK, ids=[mine])

    assert marked["markNotificationsRead"] == {"count": 1, "errors": []}
    assert again["markNotificationsRead"] == {"count": 0, "errors": []}  # already read
    read = await Notification.filter(read_at__isnull=False).values_list("recipient__username")
    assert read == [("grid_leader",)]
    assert titles(await data(tree, "grid_leader", INBOX, unreadOnly=True)) == []
    events = await AuditEvent.filter(action="notification.read").order_by("seq")
    assert len(events) == before + 1  # one for the change that took effect, none for the rest
    assert (events[-1].actor_id, events[-1].entity_type, events[-1].entity_id) == (
        tree.users["grid_leader"].id,
        "user",
        str(tree.users["grid_leader"].id),
    )
    assert events[-1].org_path == tree.units["grid_a"].path


async def test_marking_all_read_marks_every_unread_one_of_ones_own(
    tree: Tree, inbox: dict[str, str]
) -> None:
    found = await data(tree, "village_sec", MARK, all=True)

    assert found["markNotificationsRead"] == {"count": 2, "errors": []}
    unread = await Notification.filter(read_at__isnull=True).values_list("recipient__username")
    assert sorted(name for (name,) in unread) == [u for u in EVERYONE if u != "village_sec"]


@pytest.mark.parametrize("given", [{}, {"ids": [], "all": True}], ids=["neither", "both"])
async def test_marking_read_takes_ids_or_all(
    tree: Tree, inbox: dict[str, str], given: dict[str, Any]
) -> None:
    found = await data(tree, "village_sec", MARK, **given)

    assert found["markNotificationsRead"] == {
        "count": 0,
        "errors": [{"field": "ids", "code": "VALIDATION"}],
    }
    assert await Notification.filter(read_at__isnull=False).count() == 0


async def test_anonymous_marks_nothing(tree: Tree, inbox: dict[str, str]) -> None:
    result = await run(tree, None, MARK, all=True)

    assert codes(result) == ["UNAUTHENTICATED"]
    assert await Notification.filter(read_at__isnull=False).count() == 0
    assert await AuditEvent.filter(action="notification.read").count() == 0


async def test_notifications_answer_alike_over_http_and_the_websocket(
    db: TortoiseContext, tree: Tree, inbox: dict[str, str], client: GraphQLClient
) -> None:
    """Each account reads its inbox, looks up two accounts' notifications and marks one that
    does not exist read, over both transports, with the same answers."""
    missing = to_global_id("Notification", 999_999)
    operations: list[tuple[str, dict[str, Any]]] = [
        (INBOX, {}),
        (NODE, {"id": inbox["county_admin"]}),
        (NODE, {"id": inbox["grid_leader"]}),
        (MARK, {"ids": [missing]}),
    ]
    over_http: dict[str, list[Any]] = {}
    for viewer in EVERYONE:
        token = await client.login(viewer)
        over_http[viewer] = [await client.run(q, v, token) for q, v in operations]

    await assert_the_socket_answers_as_http(tree, EVERYONE, operations, over_http)
    for viewer in EVERYONE:
        inbox_answer, admins, leaders, marked = over_http[viewer]
        assert [e["node"]["id"] for e in inbox_answer["data"]["notifications"]["edges"]][-1] == (
            inbox[viewer]
        )
        assert (admins["data"]["node"] is not None) == (viewer == "county_admin")
        assert (leaders["data"]["node"] is not None) == (viewer == "grid_leader")
        assert marked == {
            "data": {
                "markNotificationsRead": {
                    "count": 0,
                    "errors": [{"field": "ids", "code": "NOT_FOUND"}],
                }
            }
        }
    assert await Notification.filter(read_at__isnull=False).count() == 0
    anonymous = await client.run(INBOX)
    assert anonymous["data"] is None
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]


AUDIT = """
query { auditEvents(filter: { action: "notification.read" }) {
  edges { node { action actor { username } changes { field before after } } }
} }
"""


async def test_marking_read_is_in_the_audit_trail_for_the_overseers(
    tree: Tree, inbox: dict[str, str]
) -> None:
    await data(tree, "grid_leader", MARK, ids=[inbox["grid_leader"]])

    found = await data(tree, "village_sec", AUDIT)
    outside = await data(tree, "luobu_head", AUDIT)

    (event,) = [e["node"] for e in found["auditEvents"]["edges"]]
    assert (event["action"], event["actor"]) == ("notification.read", {"username": "grid_leader"})
    marked = await Notification.get(recipient_id=tree.users["grid_leader"].id)
    assert {c["field"]: c["after"] for c in event["changes"]} == {
        "notificationIds": f"[{marked.id}]",
        "read": "1",
    }
    assert outside["auditEvents"]["edges"] == []
