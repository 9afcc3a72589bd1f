"""``node(id)`` for records and audit events: inside scope the object, outside it null."""

from __future__ import annotations

from datetime import UTC, datetime

from models.audit import AuditEvent
from models.enums import RecordType
from models.record import AccountabilityRecord
from schema.build import schema
from schema.node import to_global_id
from tests.fixtures import Tree

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    id
    ... on AuditEvent { seq action }
    ... on Record { type summary }
  }
}
"""


async def node(tree: Tree, username: str, gid: str) -> object:
    result = await schema.execute(NODE, {"id": gid}, context_value=tree.context_for(username))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data["node"]


async def test_an_audit_event_by_its_global_id(tree: Tree) -> None:
    transition = await schema.execute(
        "mutation($id: ID!) { transitionTask(input: { taskId: $id, action: START }) "
        "{ errors { code } } }",
        {"id": tree.task_gid("grid_a")},
        context_value=tree.context_for("grid_leader"),
    )
    assert transition.errors is None
    event = await AuditEvent.get(action="task.start")
    gid = to_global_id("AuditEvent", event.seq)

    assert await node(tree, "inspector", gid) == {
        "id": gid,
        "seq": event.seq,
        "action": "task.start",
    }
    assert await node(tree, "zhaxi_head", gid) is not None
    assert await node(tree, "luobu_head", gid) is None  # another township's trail
    assert await node(tree, "yzh_admin", gid) is None
    assert await node(tree, "grid_leader", gid) is None  # grid leaders do not read the trail


async def test_a_record_by_its_global_id(tree: Tree) -> None:
    record = await AccountabilityRecord.create(
        type=RecordType.PLEDGE,
        org_unit=tree.units["shilong"],
        occurred_at=datetime.now(UTC),
        summary="pledge of the Shilong branch",
    )
    gid = to_global_id("Record", record.id)

    assert await node(tree, "village_sec", gid) == {
        "id": gid,
        "type": "PLEDGE",
        "summary": "pledge of the Shilong branch",
    }
    assert await node(tree, "luobu_head", gid) is None
    assert await node(tree, "enterprise_chief", gid) is None
