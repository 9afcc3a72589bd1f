"""Verification covers every stored audit row: in each jurisdiction's log the leaf indices run
0..n-1 without gaps or duplicates and the seqs rise from 1, and a row outside that order fails
the check and is shown to no reader.

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

from models.audit import AuditEvent, AuditNode
from resolvers.audit import GENESIS_HASH, chain_hash, event_leaf_hash
from tests.fixtures import Tree
from tests.graph import data, transition

VERIFY = "{ verifyAuditChain { ok checked firstBrokenSeq } }"
HISTORY = "query($id: ID!) { task(id: $id) { history { seq action } } }"
EVENTS = """
query($filter: AuditFilter) {
  auditEvents(filter: $filter, first: 100) { totalCount edges { node { seq action } } }
}
"""


async def first_broken_leaf(tree: Tree) -> int | None:
    found = await data(tree, "inspector", "{ verifyAuditChain { logs { firstBrokenLeafIndex } } }")
    (log,) = found["verifyAuditChain"]["logs"]
    leaf: int | None = log["firstBrokenLeafIndex"]
    return leaf


async def chain(tree: Tree) -> dict[str, Any]:
    report: dict[str, Any] = (await data(tree, "inspector", VERIFY))["verifyAuditChain"]
    return report


async def urge(tree: Tree, times: int) -> None:
    for i in range(times):
        done = await transition(tree, "village_sec", tree.task_gid("grid_a"), "URGE", note=f"#{i}")
        assert done["errors"] == []


async def forge_verify(tree: Tree, seq: int, leaf_index: int | None = None) -> AuditEvent:
    """A ``task.verify`` of grid_a's task by its village secretary, linked from the genesis
    hash as if it were the first event: a well-formed row in every field but its place. It
    goes into Weixin's log, at the next free leaf unless ``leaf_index`` says otherwise."""
    weixin = tree.units["weixin"].id
    if leaf_index is None:
        leaf_index = await AuditEvent.filter(jurisdiction=weixin).count()
    event = AuditEvent(
        seq=seq,
        jurisdiction=weixin,
        leaf_index=leaf_index,
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

    assert await chain(tree) == {"ok": False, "checked": 3, "firstBrokenSeq": seq}


async def test_a_row_stored_below_seq_one_fails_verification_on_an_empty_trail(
    tree: Tree,
) -> None:
    await forge_verify(tree, -1)

    assert await chain(tree) == {"ok": False, "checked": 0, "firstBrokenSeq": -1}


async def test_what_the_service_appends_after_a_row_below_seq_one_leaves_it_broken(
    tree: Tree,
) -> None:
    """The forged row holds leaf 0 of Weixin's log (its tree node too: a careful forger): the
    service appends after it (seq 1 at leaf 1), and the log stays broken at the forged row
    whatever comes next."""
    forged = await forge_verify(tree, -1)
    await AuditNode.create(
        jurisdiction=forged.jurisdiction, level=0, position=0, hash=event_leaf_hash(forged)
    )

    await urge(tree, 1)

    first = await AuditEvent.get(seq=1)
    assert await AuditEvent.all().order_by("seq").values_list("seq", "leaf_index") == [
        (-1, 0),
        (1, 1),
    ]
    assert first.action == "task.urge"
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


async def test_a_row_stored_past_a_gap_fails_verification_at_the_first_missing_leaf(
    tree: Tree,
) -> None:
    """Seqs may skip numbers (PostgreSQL's sequence does); a log's leaves may not."""
    await urge(tree, 3)

    await forge_verify(tree, 7, leaf_index=4)

    assert await chain(tree) == {"ok": False, "checked": 3, "firstBrokenSeq": 7}
    assert await first_broken_leaf(tree) == 3


async def test_the_database_refuses_a_second_row_with_a_taken_seq(tree: Tree) -> None:
    await urge(tree, 2)

    with pytest.raises(IntegrityError):
        await forge_verify(tree, 2)
    with pytest.raises(IntegrityError):
        await forge_verify(tree, 9, leaf_index=1)

    assert await AuditEvent.all().order_by("seq").values_list("seq", "action") == [
        (1, "task.urge"),
        (2, "task.urge"),
    ]
    assert await chain(tree) == {"ok": True, "checked": 2, "firstBrokenSeq": None}
