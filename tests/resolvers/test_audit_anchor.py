"""An anchor (a head recorded earlier) catches events removed from the end of a log, and a log
rebuilt around a change — every later hash and tree node recomputed — that no stored
checkpoint covers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.merkle import CompactRange
from models.audit import AuditEvent, AuditNode
from resolvers.audit import GENESIS_HASH, chain_hash, event_leaf_hash
from schema.build import schema
from tests.fixtures import Tree

VERIFY = """
query($seq: Int, $hash: String) {
  verifyAuditChain(anchorSeq: $seq, anchorHash: $hash) {
    ok checked firstBrokenSeq headSeq headHash
  }
}
"""
URGE = (
    'mutation($id: ID!) { transitionTask(input: { taskId: $id, action: URGE, note: "n" })'
    " { errors { code } } }"
)


async def verify(tree: Tree, **anchor: Any) -> dict[str, Any]:
    result = await schema.execute(VERIFY, anchor, context_value=tree.context_for("inspector"))
    assert result.errors is None, result.errors
    assert result.data is not None
    report: dict[str, Any] = result.data["verifyAuditChain"]
    return report


async def urge(tree: Tree, times: int) -> None:
    for _ in range(times):
        result = await schema.execute(
            URGE, {"id": tree.task_gid("shilong")}, context_value=tree.context_for("zhaxi_head")
        )
        assert result.errors is None and result.data is not None
        assert result.data["transitionTask"]["errors"] == []


async def test_the_head_is_reported_and_checks_as_an_anchor(tree: Tree) -> None:
    await urge(tree, 3)

    head = await verify(tree)
    anchored = await verify(tree, seq=head["headSeq"], hash=head["headHash"])

    assert head["ok"] and head["headSeq"] == head["checked"] == 3
    assert anchored == head


async def test_events_cut_from_the_end_break_the_anchor(tree: Tree) -> None:
    await urge(tree, 4)
    head = await verify(tree)

    await AuditEvent.filter(seq__gte=3).delete()
    # and the tree nodes that leaves 2 and 3 completed: a careful forger
    for level, position in [(0, 2), (0, 3), (1, 1), (2, 0)]:
        await AuditNode.filter(level=level, position=position).delete()
    unanchored = await verify(tree)
    anchored = await verify(tree, seq=head["headSeq"], hash=head["headHash"])

    assert unanchored["ok"] is True  # a shorter chain still links up by itself
    assert anchored["ok"] is False
    assert anchored["firstBrokenSeq"] == head["headSeq"]


async def test_a_rewritten_tail_breaks_the_anchor(tree: Tree) -> None:
    await urge(tree, 2)
    head = await verify(tree)
    await AuditEvent.filter(seq=2).update(hash="f" * 64)

    anchored = await verify(tree, seq=2, hash=head["headHash"])

    assert anchored["ok"] is False and anchored["firstBrokenSeq"] == 2


def edit(events: list[AuditEvent]) -> None:
    events[2].after = {"note": "never said"}


def insert(events: list[AuditEvent]) -> None:
    model = events[1]
    events.insert(
        2,
        AuditEvent(
            at=model.at,
            action="task.verify",
            entity_type=model.entity_type,
            entity_id=model.entity_id,
            actor_id=model.actor_id,
            org_path=model.org_path,
            before={"status": "SUBMITTED"},
            after={"status": "VERIFIED"},
            request_id="forged",
        ),
    )


def remove(events: list[AuditEvent]) -> None:
    del events[2]


def reorder(events: list[AuditEvent]) -> None:
    events[2], events[3] = events[3], events[2]


async def rebuild(change: Callable[[list[AuditEvent]], None]) -> None:
    """What a forger with database access does: change the stored rows, then renumber and
    rehash every one of them and rebuild the tree, so that the log links up again by itself."""
    events = list(await AuditEvent.all().order_by("seq"))
    jurisdiction = events[0].jurisdiction
    change(events)
    await AuditEvent.all().delete()
    await AuditNode.all().delete()
    prev_hash, tree = GENESIS_HASH, CompactRange()
    for seq, event in enumerate(events, start=1):
        event.seq, event.prev_hash = seq, prev_hash
        event.jurisdiction, event.leaf_index = jurisdiction, seq - 1
        event.hash = prev_hash = chain_hash(prev_hash, event)
        await event.save(force_create=True)
        for (level, position), value in tree.append(bytes.fromhex(event_leaf_hash(event))):
            await AuditNode.create(
                jurisdiction=jurisdiction, level=level, position=position, hash=value.hex()
            )


@pytest.mark.parametrize("change", [edit, insert, remove, reorder])
async def test_a_chain_rebuilt_around_a_change_breaks_an_anchor_taken_before(
    tree: Tree, change: Callable[[list[AuditEvent]], None]
) -> None:
    await urge(tree, 6)
    head = await verify(tree)

    await rebuild(change)
    unanchored = await verify(tree)
    anchored = await verify(tree, seq=head["headSeq"], hash=head["headHash"])

    assert unanchored["ok"] is True  # every link recomputes: only the anchor can tell
    assert (anchored["ok"], anchored["checked"], anchored["firstBrokenSeq"]) == (False, 5, 6)


async def test_half_an_anchor_is_refused(tree: Tree) -> None:
    result = await schema.execute(VERIFY, {"seq": 1}, context_value=tree.context_for("inspector"))

    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "VALIDATION"}
