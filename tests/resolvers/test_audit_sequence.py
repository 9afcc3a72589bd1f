"""Verification covers every stored audit row: seqs run 1..n without gaps or duplicates, and a
row outside that sequence fails the check and is shown to no reader.

The rows forged here go straight into the table, as someone with database access would put
them. The schema the tests build has no CHECK on ``seq`` (the migration adds it; see
``tests/models/test_audit_constraint.py``), so they stand for a database where it could not
be added: verification must catch them by itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from models.audit import AuditEvent
from resolvers.audit import GENESIS_HASH, chain_hash
from tests.fixtures import Tree
from tests.graph import data, transition

VERIFY = "{ verifyAuditChain { ok checked firstBrokenSeq } }"
HISTORY = "query($id: ID!) { task(id: $id) { history { seq action } } }"
EVENTS = """
query($filter: AuditFilter) {
  auditEvents(filter: $filter, first: 100) { totalCount edges { node { seq action } } }
}
"""


async def chain(tree: Tree) -> dict[str, Any]:
    report: dict[str, Any] = (await data(tree, "inspector", VERIFY))["verifyAuditChain"]
    return report


async def urge(tree: Tree, times: int) -> None:
    for i in range(times):
        done = await transition(tree, "village_sec", tree.task_gid("grid_a"), "URGE", note=f"#{i}")
        assert done["errors"] == []


async def forge_verify(tree: Tree, seq: int) -> AuditEvent:
    """A ``task.verify`` of grid_a's task by its village secretary, linked from the genesis
    hash as if it were the first event: a well-formed row in every field but its place."""
    event = AuditEvent(
        seq=seq,
        at=datetime.now(UTC),
        action="task.verify",
        entity_type="task",
        entity_id=str(tree.tasks["grid_a"].id),
        actor_id=tree.users["village_sec"].id,
        org_path=tree.units["grid_a"].path,
        before={"status": "SUBMITTED"},
        after={"status": "VERIFIED"},
        request_id="forged",
        prev_hash=GENESIS_HASH,
    )
    event.hash = chain_hash(event.prev_hash, event)
    await event.save(force_create=True)
    return event


@pytest.mark.parametrize("seq", [-1, 0])
async def test_a_row_stored_below_seq_one_fails_verification_at_its_seq(
    tree: Tree, seq: int
) -> None:
    await urge(tree, 3)

    await forge_verify(tree, seq)

    assert await chain(tree) == {"ok": False, "checked": 0, "firstBrokenSeq": seq}


async def test_a_row_stored_below_seq_one_fails_verification_on_an_empty_trail(
    tree: Tree,
) -> None:
    await forge_verify(tree, -1)

    assert await chain(tree) == {"ok": False, "checked": 0, "firstBrokenSeq": -1}


async def test_the_service_never_chains_onto_a_row_below_seq_one(tree: Tree) -> None:
    await forge_verify(tree, -1)

    await urge(tree, 1)

    first = await AuditEvent.get(seq=1)
    assert await AuditEvent.all().order_by("seq").values_list("seq", flat=True) == [-1, 1]
    assert (first.action, first.prev_hash) == ("task.urge", GENESIS_HASH)
    assert await chain(tree) == {"ok": False, "checked": 0, "firstBrokenSeq": -1}


async def test_a_row_stored_below_seq_one_is_shown_to_no_reader(tree: Tree) -> None:
    await urge(tree, 1)

    await forge_verify(tree, -1)
    history = await data(tree, "inspector", HISTORY, id=tree.task_gid("grid_a"))
    verifies = await data(tree, "inspector", EVENTS, filter={"action": "task.verify"})
    everything = await data(tree, "inspector", EVENTS)

    assert history == {"task": {"history": [{"seq": 1, "action": "task.urge"}]}}
    assert verifies == {"auditEvents": {"totalCount": 0, "edges": []}}
    assert everything == {
        "auditEvents": {"totalCount": 1, "edges": [{"node": {"seq": 1, "action": "task.urge"}}]}
    }


async def test_a_row_stored_past_a_gap_fails_verification_at_the_first_missing_seq(
    tree: Tree,
) -> None:
    await urge(tree, 3)

    await forge_verify(tree, 7)

    assert await chain(tree) == {"ok": False, "checked": 3, "firstBrokenSeq": 4}


async def test_the_database_refuses_a_second_row_with_a_taken_seq(tree: Tree) -> None:
    await urge(tree, 2)

    with pytest.raises(IntegrityError):
        await forge_verify(tree, 2)

    assert await AuditEvent.all().order_by("seq").values_list("seq", "action") == [
        (1, "task.urge"),
        (2, "task.urge"),
    ]
    assert await chain(tree) == {"ok": True, "checked": 2, "firstBrokenSeq": None}
