"""Complaints from the public over HTTP, end to end: an anonymous complaint from a river sign's
QR code reaches the right village as a task, is handled, and its receipt shows the feedback
and nothing else; a burst from one address is throttled while another still gets through;
handlers read the complaint through the task under the task's rules, the contact masked
without ``person_pii:read``; bad input is a typed error and writes nothing."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import segno
from tortoise.context import TortoiseContext

from core.complaint_settings import configured as complaint_settings
from models.audit import AuditEvent
from models.complaint import Complaint, ComplaintAttempt
from models.enums import OrgLevel, TaskOrigin, WaterKind
from models.notification import Notification, NotificationKind
from models.org import WaterBody
from models.task import Task
from resolvers.complaints import RECEIPT_ALPHABET, receipt_hash
from schema.node import to_global_id
from tests.fixtures import Tree
from tests.http.client import GraphQLClient, clients_from, running_app
from tests.http.test_websocket_authority import (
    assert_the_socket_answers_as_http,
    live_app,
    socket,
    token_for,
)

SUBMIT = """
mutation($input: SubmitComplaintInput!) {
  submitComplaint(input: $input) { receipt errors { field code } }
}
"""
STATUS = """
query($receipt: String!) {
  complaintStatus(receipt: $receipt) { status feedback receivedAt segmentName }
}
"""
HANDLER_VIEW = """
query($id: ID!) {
  task(id: $id) {
    title status origin dueAt issuer { name } orgUnit { name }
    complaint { description location contact receivedAt segment { code name } }
  }
}
"""
INBOX = "{ tasks(filter: { status: [ASSIGNED] }, first: 10) { edges { node { id origin } } } }"
TRANSITION = """
mutation($input: TransitionTaskInput!) {
  transitionTask(input: $input) { task { status feedback } errors { field code } }
}
"""
POINT = {"type": "Point", "coordinates": [105.05, 27.84]}
PHONE = "13912345678"


@dataclass
class Public:
    tree: Tree
    client: GraphQLClient
    segment: WaterBody

    async def submit(self, **fields: Any) -> dict[str, Any]:
        payload = {"segmentCode": self.segment.code, "description": "Garbage by the bridge."}
        body = await self.client.run(SUBMIT, {"input": {**payload, **fields}})
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]["submitComplaint"]
        return result

    async def as_(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        token = token_for(self.tree.users[who])
        return await self.client.run(query, variables, token)


async def river_segment(tree: Tree) -> WaterBody:
    """A segment of 扎西河 through 扎西镇, its village 石龙村 and a grid of it."""
    river = await WaterBody.create(code="zhaxi-river", name="扎西河", kind=WaterKind.RIVER)
    segment = await WaterBody.create(
        code="zhaxi-shilong", name="扎西河石龙段", kind=WaterKind.SEGMENT, parent=river
    )
    await segment.units.add(tree.units["zhaxi"], tree.units["shilong"], tree.units["grid_a"])
    return segment


@pytest.fixture
async def public(db: TortoiseContext, tree: Tree) -> Any:
    segment = await river_segment(tree)
    async with running_app() as client:
        yield Public(tree, client, segment)


async def written() -> tuple[int, int, int, int]:
    return (
        await Task.filter(origin=TaskOrigin.COMPLAINT).count(),
        await Complaint.all().count(),
        await AuditEvent.all().count(),
        await Notification.all().count(),
    )


async def test_a_complaint_from_the_sign_reaches_the_village_and_its_receipt_shows_the_answer(
    public: Public,
) -> None:
    tree = public.tree
    before = datetime.now(UTC)
    events_before = await AuditEvent.all().count()

    # The sign's QR code links to the complaint page for its segment.
    sign = await public.client.http.get(f"/qr/{public.segment.code}.svg")
    url = complaint_settings().complaint_url(public.segment.code)
    assert url.endswith("/complain?segment=zhaxi-shilong")
    assert sign.status_code == 200
    assert sign.headers["content-type"] == "image/svg+xml"
    assert sign.headers["cache-control"] == "public, max-age=86400"
    assert sign.text == segno.make(url, error="m", micro=False).svg_inline(scale=8, title=url)

    sent = await public.submit(description="垃圾堆在桥下。", location=POINT, contact=PHONE)

    receipt = sent["receipt"]
    assert sent["errors"] == []
    raw = receipt.replace("-", "")
    assert len(raw) == 12 and set(raw) <= set(RECEIPT_ALPHABET), receipt
    stored = await Complaint.get()
    assert stored.receipt_hash == receipt_hash(receipt) and receipt not in stored.receipt_hash
    task = await Task.get(id=stored.task_id)
    assert task.origin is TaskOrigin.COMPLAINT
    assert task.org_unit_id == task.issuer_unit_id == tree.units["shilong"].id
    assert task.issued_by_id is None and task.reported_by_id is None
    assert task.due_at is not None
    assert before + timedelta(days=7) <= task.due_at <= datetime.now(UTC) + timedelta(days=7)
    (event,) = await AuditEvent.filter(seq__gt=events_before)
    assert (event.action, event.actor_id, event.entity_id) == ("task.create", None, str(task.id))
    assert event.request_id
    assert PHONE not in json.dumps(event.after, ensure_ascii=False)
    notices = await Notification.filter(kind=NotificationKind.COMPLAINT_RECEIVED, task_id=task.id)
    assert tree.users["village_sec"].id in {n.recipient_id for n in notices}

    # The village finds it among its tasks and reads the complaint.
    task_gid = (await public.as_("village_sec", INBOX))["data"]["tasks"]["edges"][0]["node"]["id"]
    view = (await public.as_("village_sec", HANDLER_VIEW, id=task_gid))["data"]["task"]
    assert view == {
        "title": "群众投诉：扎西河石龙段",
        "status": "ASSIGNED",
        "origin": "COMPLAINT",
        "dueAt": view["dueAt"],
        "issuer": {"name": "shilong"},
        "orgUnit": {"name": "shilong"},
        "complaint": {
            "description": "垃圾堆在桥下。",
            "location": POINT,
            "contact": PHONE,
            "receivedAt": view["complaint"]["receivedAt"],
            "segment": {"code": "zhaxi-shilong", "name": "扎西河石龙段"},
        },
    }

    # Anyone holding the receipt sees it received, then being handled, then the answer.
    status = await public.client.run(STATUS, {"receipt": receipt})
    assert status == {
        "data": {
            "complaintStatus": {
                "status": "RECEIVED",
                "feedback": None,
                "receivedAt": view["complaint"]["receivedAt"],
                "segmentName": "扎西河石龙段",
            }
        }
    }
    started = await public.as_(
        "village_sec", TRANSITION, input={"taskId": task_gid, "action": "START"}
    )
    assert started["data"]["transitionTask"]["errors"] == []
    handled = await public.client.run(STATUS, {"receipt": receipt.lower()})
    assert handled["data"]["complaintStatus"]["status"] == "BEING_HANDLED"
    answer = "已于当天清理，桥下增设垃圾桶。"
    closed = await public.as_(
        "village_sec",
        TRANSITION,
        input={"taskId": task_gid, "action": "VERIFY", "feedback": answer},
    )
    assert closed["data"]["transitionTask"] == {
        "task": {"status": "VERIFIED", "feedback": answer},
        "errors": [],
    }
    final = await public.client.run(STATUS, {"receipt": receipt})
    assert final == {
        "data": {
            "complaintStatus": {
                "status": "CLOSED",
                "feedback": answer,
                "receivedAt": view["complaint"]["receivedAt"],
                "segmentName": "扎西河石龙段",
            }
        }
    }
    # A receipt nobody holds is null, like any other: nothing to enumerate.
    assert await public.client.run(STATUS, {"receipt": "2345-6789-ABCD"}) == {
        "data": {"complaintStatus": None}
    }
    assert await public.client.run(STATUS, {"receipt": ""}) == {"data": {"complaintStatus": None}}


async def test_a_burst_from_one_address_is_throttled_while_another_gets_through(
    db: TortoiseContext, tree: Tree
) -> None:
    segment = await river_segment(tree)
    limit = complaint_settings().limit
    variables = {"input": {"segmentCode": segment.code, "description": "Dead fish."}}
    async with clients_from("10.0.0.1", "10.0.0.2") as (noisy, other):
        burst = [await noisy.run(SUBMIT, variables) for _ in range(limit + 2)]
        elsewhere = await other.run(SUBMIT, variables)

    answers = [b["data"]["submitComplaint"] for b in burst]
    assert all(a["errors"] == [] and a["receipt"] for a in answers[:limit])
    assert (
        answers[limit:]
        == [{"receipt": None, "errors": [{"field": None, "code": "TOO_MANY_ATTEMPTS"}]}] * 2
    )
    assert elsewhere["data"]["submitComplaint"]["errors"] == []
    assert await Complaint.all().count() == limit + 1
    assert await ComplaintAttempt.filter(address="10.0.0.1").count() == limit


async def test_requests_at_once_never_let_more_than_the_limit_through(
    db: TortoiseContext, tree: Tree
) -> None:
    segment = await river_segment(tree)
    limit = complaint_settings().limit
    variables = {"input": {"segmentCode": segment.code, "description": "Oil on the water."}}
    async with clients_from("10.0.0.3") as (client,):
        within = await asyncio.gather(*(client.run(SUBMIT, variables) for _ in range(limit)))
        beyond = await asyncio.gather(*(client.run(SUBMIT, variables) for _ in range(3)))

    assert all(b["data"]["submitComplaint"]["errors"] == [] for b in within)
    throttled = {"receipt": None, "errors": [{"field": None, "code": "TOO_MANY_ATTEMPTS"}]}
    assert [b["data"]["submitComplaint"] for b in beyond] == [throttled] * 3
    assert await Complaint.all().count() == limit


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"segmentCode": "no-such-segment"}, {"field": "segmentCode", "code": "NOT_FOUND"}),
        ({"segmentCode": "zhaxi-river"}, {"field": "segmentCode", "code": "NOT_FOUND"}),
        ({"description": "   "}, {"field": "description", "code": "VALIDATION"}),
        ({"description": "x" * 2001}, {"field": "description", "code": "VALIDATION"}),
        ({"contact": "1" * 33}, {"field": "contact", "code": "VALIDATION"}),
        ({"evidenceIds": ["RXZpZGVuY2U6MQ"]}, {"field": "evidenceIds", "code": "VALIDATION"}),
    ],
)
async def test_bad_input_is_a_typed_error_and_writes_nothing(
    public: Public, fields: dict[str, Any], error: dict[str, Any]
) -> None:
    before = await written()

    answer = await public.submit(**fields)

    assert answer == {"receipt": None, "errors": [error]}
    assert await written() == before


async def test_an_oversize_request_is_refused_before_anything_is_written(public: Public) -> None:
    before = await written()
    body = {
        "query": SUBMIT,
        "variables": {"input": {"segmentCode": "x", "description": "x" * 400_000}},
    }

    response = await public.client.http.post("/graphql", json=body)

    assert response.status_code == 413
    assert await written() == before


async def test_an_unknown_segment_has_no_sign(public: Public) -> None:
    response = await public.client.http.get("/qr/no-such-segment.svg")

    assert response.status_code == 404
    assert (await public.client.http.get("/qr/zhaxi-river.svg")).status_code == 404


async def test_the_deepest_unit_answers_and_among_villages_the_first_by_code(
    db: TortoiseContext, tree: Tree
) -> None:
    lake = await WaterBody.create(code="two-villages", name="两村段", kind=WaterKind.SEGMENT)
    first, second = sorted([tree.units["shilong"], tree.units["dahetan"]], key=lambda u: u.code)
    await lake.units.add(tree.units["zhaxi"], second, first)
    township_only = await WaterBody.create(code="town", name="镇段", kind=WaterKind.SEGMENT)
    await township_only.units.add(tree.units["zhaxi"], tree.units["grid_a"])
    variables = {"segmentCode": lake.code, "description": "Oil on the water."}
    async with running_app() as client:
        await client.run(SUBMIT, {"input": variables})
        await client.run(SUBMIT, {"input": {**variables, "segmentCode": "town"}})

    units = [t.org_unit_id for t in await Task.filter(origin=TaskOrigin.COMPLAINT).order_by("id")]
    assert units == [first.id, tree.units["zhaxi"].id]
    assert first.level is second.level is OrgLevel.VILLAGE


# -- who reads the complaint through its task ------------------------------------------------

# viewer: what ``task.complaint.contact`` reads as (None: the task itself is out of scope)
CONTACT_BY_ROLE = {
    "county_admin": PHONE,
    "zhaxi_head": PHONE,
    "village_sec": PHONE,
    "inspector": "139****5678",  # reads tasks, not personal data
    "grid_leader": None,  # the village's own task is above the grid
    "luobu_head": None,
    "dept_head": None,
    "yzh_admin": None,
    "enterprise_chief": None,
}
READ_COMPLAINT = "query($id: ID!) { task(id: $id) { origin complaint { contact description } } }"


async def test_the_complaint_is_read_through_the_task_by_role_over_http_and_websocket(
    public: Public,
) -> None:
    await public.submit(contact=PHONE)
    task = await Task.get(origin=TaskOrigin.COMPLAINT)
    gid = to_global_id("Task", task.id)
    over_http: dict[str, list[Any]] = {}
    for viewer, contact in CONTACT_BY_ROLE.items():
        body = await public.as_(viewer, READ_COMPLAINT, id=gid)
        expected = (
            None
            if contact is None
            else {
                "origin": "COMPLAINT",
                "complaint": {"contact": contact, "description": "Garbage by the bridge."},
            }
        )
        assert body == {"data": {"task": expected}}, viewer
        over_http[viewer] = [body]

    await assert_the_socket_answers_as_http(
        public.tree, list(CONTACT_BY_ROLE), [(READ_COMPLAINT, {"id": gid})], over_http
    )


async def test_complaint_status_answers_alike_over_the_websocket_without_an_account(
    public: Public,
) -> None:
    receipt = (await public.submit(contact=PHONE))["receipt"]
    over_http = await public.client.run(STATUS, {"receipt": receipt})
    unknown = await public.client.run(STATUS, {"receipt": "ZZZZ-ZZZZ-ZZZZ"})

    async with live_app() as live, socket(live, None) as ws:
        answer = await ws.run(STATUS, {"receipt": receipt})
        nobody = await ws.run(STATUS, {"receipt": "ZZZZ-ZZZZ-ZZZZ"})

    assert answer == {"type": "next", "id": answer["id"], "payload": over_http}
    assert over_http["data"]["complaintStatus"]["status"] == "RECEIVED"
    assert PHONE not in json.dumps(over_http)
    assert nobody["payload"] == unknown == {"data": {"complaintStatus": None}}
