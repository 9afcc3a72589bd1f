"""One verifiable log per jurisdiction: checkpoints signed as C2SP notes, proofs that an
outsider checks with RFC 9162 alone, tampering caught against a checkpoint issued before it,
and nothing said about another jurisdiction's log.

The verifier (``tests/rfc9162.py``) is written from RFC 9162 and the C2SP specs, and imports
nothing of the product's Merkle or note code: it is what an inspector's own tool would do.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from tortoise import connections

from models.audit import AuditCheckpoint, AuditEvent, AuditNode
from resolvers.audit import LOG_LOCK_CLASS
from schema.node import to_global_id
from tests.audit_forgery import rebuild
from tests.conftest import ON_POSTGRES
from tests.fixtures import Tree
from tests.graph import codes, data, run, transition
from tests.rfc9162 import mth, open_note, rfc_verify_consistency, rfc_verify_inclusion, sha256

CHECKPOINT = """
query($unit: ID!) {
  auditCheckpoint(orgUnitId: $unit) { origin treeSize rootHash keyName note }
}
"""
PUBLIC_KEY = "{ auditPublicKey }"
INCLUSION = """
query($event: ID!, $size: Int) {
  auditInclusionProof(eventId: $event, treeSize: $size) { leafIndex treeSize leafHash hashes }
}
"""
CONSISTENCY = """
query($unit: ID!, $from: Int!, $to: Int!) {
  auditConsistencyProof(orgUnitId: $unit, from: $from, to: $to)
}
"""
VERIFY = """
query($unit: ID, $checkpoint: String) {
  verifyAuditChain(orgUnitId: $unit, checkpoint: $checkpoint) {
    ok checked firstBrokenSeq
    logs { origin ok checked treeSize rootHash checkpointsChecked firstBrokenLeafIndex problem }
  }
}
"""
EVENTS = "{ auditEvents(first: 100) { edges { node { id seq leafIndex leafHash } } } }"


def canonical_leaf(event: AuditEvent) -> bytes:
    """The leaf an outsider computes from an event as exported: SHA-256(0x00 ‖ canonical)."""
    body = {
        "seq": event.seq,
        "jurisdiction": event.jurisdiction,
        "leaf_index": event.leaf_index,
        "at": event.at.isoformat(timespec="microseconds"),
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "actor_id": event.actor_id,
        "org_path": event.org_path,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256(b"\x00" + text.encode())


# -- helpers -----------------------------------------------------------------------------------


async def urge(tree: Tree, unit: str, times: int, who: str = "county_admin") -> None:
    for i in range(times):
        done = await transition(tree, who, tree.task_gid(unit), "URGE", note=f"#{i}")
        assert done["errors"] == [], done


async def checkpoint(tree: Tree, unit: str, who: str = "inspector") -> dict[str, Any]:
    found: dict[str, Any] = (await data(tree, who, CHECKPOINT, unit=tree.unit_gid(unit)))[
        "auditCheckpoint"
    ]
    return found


async def public_key(tree: Tree) -> bytes:
    return base64.b64decode((await data(tree, "inspector", PUBLIC_KEY))["auditPublicKey"])


async def verify(tree: Tree, who: str = "inspector", **variables: Any) -> dict[str, Any]:
    report: dict[str, Any] = (await data(tree, who, VERIFY, **variables))["verifyAuditChain"]
    return report


async def leaves(jurisdiction: int) -> list[bytes]:
    events = await AuditEvent.filter(jurisdiction=jurisdiction).order_by("leaf_index")
    return [canonical_leaf(e) for e in events]


# -- checkpoints and proofs --------------------------------------------------------------------


async def test_a_checkpoint_is_a_signed_note_over_the_tree_of_the_jurisdiction(
    tree: Tree,
) -> None:
    await urge(tree, "shilong", 5)
    await urge(tree, "qixing", 2, who="yzh_admin")
    weixin = tree.units["weixin"]

    found = await checkpoint(tree, "grid_a")  # any unit of the county names its log
    again = await checkpoint(tree, "weixin")
    origin, size, root = open_note(found["note"], await public_key(tree))

    assert (origin, size) == (f"riverchief/{weixin.code}", 5)
    assert root == mth(await leaves(weixin.id))
    assert found["rootHash"] == root.hex()
    assert (found["origin"], found["treeSize"]) == (origin, 5)
    assert found["keyName"].startswith("riverchief-audit-")
    assert again == found
    assert await AuditCheckpoint.filter(jurisdiction=weixin.id).count() == 1


async def test_an_empty_log_has_a_checkpoint_of_the_empty_tree(tree: Tree) -> None:
    found = await checkpoint(tree, "weixin")

    origin, size, root = open_note(found["note"], await public_key(tree))
    assert (origin, size, root) == (f"riverchief/{tree.units['weixin'].code}", 0, sha256(b""))


async def test_every_inclusion_and_consistency_proof_verifies_independently(tree: Tree) -> None:
    await urge(tree, "shilong", 13)
    weixin = tree.units["weixin"]
    hashes = await leaves(weixin.id)
    events = {
        e["node"]["leafIndex"]: e["node"]
        for e in (await data(tree, "inspector", EVENTS))["auditEvents"]["edges"]
    }

    for size in range(1, 14):
        root = mth(hashes[:size])
        for index in range(size):
            found = await data(tree, "inspector", INCLUSION, event=events[index]["id"], size=size)
            proof = found["auditInclusionProof"]
            path = [bytes.fromhex(h) for h in proof["hashes"]]
            assert (proof["leafIndex"], proof["treeSize"]) == (index, size)
            assert (
                bytes.fromhex(proof["leafHash"])
                == hashes[index]
                == bytes.fromhex(events[index]["leafHash"])
            )
            assert rfc_verify_inclusion(index, size, hashes[index], path, root), (index, size)
            assert not rfc_verify_inclusion(index, size, sha256(b"other"), path, root)
        for old in range(1, size):
            bounds = {"unit": tree.unit_gid("weixin"), "from": old, "to": size}
            found = await data(tree, "inspector", CONSISTENCY, **bounds)
            path = [bytes.fromhex(h) for h in found["auditConsistencyProof"]]
            assert rfc_verify_consistency(old, size, mth(hashes[:old]), root, path), (old, size)
            assert not rfc_verify_consistency(old, size, sha256(b"other"), root, path)


async def test_proofs_refuse_sizes_the_log_does_not_have(tree: Tree) -> None:
    await urge(tree, "shilong", 3)
    event = (await data(tree, "inspector", EVENTS))["auditEvents"]["edges"][0]["node"]

    too_big = await run(tree, "inspector", INCLUSION, event=event["id"], size=4)
    before_it = await run(tree, "inspector", INCLUSION, event=event["id"], size=event["leafIndex"])
    backwards = await run(
        tree, "inspector", CONSISTENCY, unit=tree.unit_gid("weixin"), **{"from": 3}, to=2
    )

    assert codes(too_big) == codes(before_it) == codes(backwards) == ["VALIDATION"]


# -- tampering in the database, caught against a checkpoint issued before it --------------------


def edit(events: list[AuditEvent]) -> None:
    events[3].after = {"note": "never said"}


def insert(events: list[AuditEvent]) -> None:
    model = events[2]
    events.insert(
        3,
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


def delete(events: list[AuditEvent]) -> None:
    del events[3]


def swap(events: list[AuditEvent]) -> None:
    events[3], events[4] = events[4], events[3]


FORGERIES: dict[str, Callable[[list[AuditEvent]], None]] = {
    "edit a middle event": edit,
    "insert one": insert,
    "delete one": delete,
    "swap two": swap,
}


@pytest.mark.parametrize("how", FORGERIES)
async def test_a_log_rebuilt_around_a_change_fails_against_a_checkpoint_issued_before(
    tree: Tree, how: str
) -> None:
    """The forger recomputes every later hash and every tree node: the log links up by
    itself, but no longer has the root of the checkpoint, stored or written down."""
    await urge(tree, "shilong", 6)
    issued = await checkpoint(tree, "weixin")
    await urge(tree, "shilong", 2)
    weixin = tree.unit_gid("weixin")

    await rebuild(tree.units["weixin"].id, FORGERIES[how])
    stored = await verify(tree, unit=weixin)
    await AuditCheckpoint.all().delete()  # the forger removes the stored ones too
    unchecked = await verify(tree, unit=weixin)
    written_down = await verify(tree, unit=weixin, checkpoint=issued["note"])

    (log,) = stored["logs"]
    assert (stored["ok"], log["checkpointsChecked"]) == (False, 0)
    assert log["problem"].startswith("the first 6 events no longer hash to the root of the ")
    assert unchecked["ok"] is True  # nothing left to compare with but what the forger wrote
    (log,) = written_down["logs"]
    assert (written_down["ok"], log["firstBrokenLeafIndex"]) == (False, 5)
    assert log["problem"] == (
        "the first 6 events no longer hash to the root of the checkpoint handed in, at size 6"
    )


async def test_events_cut_from_the_end_fail_against_a_checkpoint(tree: Tree) -> None:
    await urge(tree, "shilong", 5)
    await checkpoint(tree, "weixin")

    await rebuild(tree.units["weixin"].id, lambda events: events.pop())
    report = await verify(tree, unit=tree.unit_gid("weixin"))

    (log,) = report["logs"]
    assert (report["ok"], log["checked"], log["firstBrokenLeafIndex"]) == (False, 4, 4)
    assert log["problem"].endswith("covers events no longer stored")


@pytest.mark.parametrize(
    "change",
    [
        {"after": {"note": "never said"}},
        {"actor_id": 999},
        {"at": datetime(2020, 1, 1, tzinfo=UTC)},
    ],
)
async def test_an_event_edited_in_place_is_caught_at_its_leaf(
    tree: Tree, change: dict[str, Any]
) -> None:
    await urge(tree, "shilong", 5)
    third = await AuditEvent.get(jurisdiction=tree.units["weixin"].id, leaf_index=2)

    await AuditEvent.filter(seq=third.seq).update(**change)
    report = await verify(tree, unit=tree.unit_gid("weixin"))

    assert (report["ok"], report["checked"], report["firstBrokenSeq"]) == (False, 2, third.seq)


async def test_a_tree_node_edited_is_caught_and_no_new_checkpoint_is_signed_over_it(
    tree: Tree,
) -> None:
    await urge(tree, "shilong", 4)
    await checkpoint(tree, "weixin")
    await urge(tree, "shilong", 1)

    await AuditNode.filter(level=2, position=0).update(hash="ab" * 32)
    report = await verify(tree, unit=tree.unit_gid("weixin"))
    refused = await run(tree, "inspector", CHECKPOINT, unit=tree.unit_gid("weixin"))

    (log,) = report["logs"]
    assert (log["ok"], log["firstBrokenLeafIndex"]) == (False, 3)
    assert log["problem"] == "leaf 3 (seq 4): stored node (2, 0) differs"
    assert codes(refused) == ["CONFLICT"]
    assert await AuditCheckpoint.all().count() == 1


async def test_a_stored_checkpoint_with_a_forged_signature_fails_verification(tree: Tree) -> None:
    await urge(tree, "shilong", 3)
    issued = await checkpoint(tree, "weixin")
    forged_note = issued["note"].replace("\n3\n", "\n2\n")

    await AuditCheckpoint.all().update(note=forged_note, tree_size=2)
    report = await verify(tree, unit=tree.unit_gid("weixin"))

    (log,) = report["logs"]
    assert report["ok"] is False
    assert "does not verify" in log["problem"]


# -- one jurisdiction learns nothing of another's log --------------------------------------------


async def test_an_inspector_of_weixin_reads_nothing_of_yangzonghais_log(tree: Tree) -> None:
    await urge(tree, "qixing", 3, who="yzh_admin")
    await urge(tree, "shilong", 2)
    theirs = await AuditEvent.filter(jurisdiction=tree.units["yangzonghai"].id).first()
    assert theirs is not None
    event_id = to_global_id("AuditEvent", theirs.seq)
    checkpoints_before = await AuditCheckpoint.all().count()

    checkpoint_of = await run(tree, "inspector", CHECKPOINT, unit=tree.unit_gid("qixing"))
    inclusion = await run(tree, "inspector", INCLUSION, event=event_id, size=None)
    consistency = await run(
        tree, "inspector", CONSISTENCY, unit=tree.unit_gid("yangzonghai"), **{"from": 1}, to=2
    )
    verified = await run(tree, "inspector", VERIFY, unit=tree.unit_gid("yangzonghai"))
    own = await verify(tree)
    their_own = await verify(tree, who="yzh_admin")

    assert checkpoint_of.data == {"auditCheckpoint": None}
    assert inclusion.data == {"auditInclusionProof": None}
    assert codes(consistency) == codes(verified) == ["NOT_FOUND"]
    assert [log["origin"] for log in own["logs"]] == [f"riverchief/{tree.units['weixin'].code}"]
    assert (own["checked"], own["logs"][0]["treeSize"]) == (2, 2)
    assert [log["origin"] for log in their_own["logs"]] == [
        f"riverchief/{tree.units['yangzonghai'].code}"
    ]
    assert await AuditCheckpoint.all().count() == checkpoints_before


async def test_audit_readers_below_the_top_unit_get_no_log_of_the_county(tree: Tree) -> None:
    """A township head reads the events of the township, not the size of the county's log."""
    await urge(tree, "shilong", 2)

    checkpoint_of = await run(tree, "zhaxi_head", CHECKPOINT, unit=tree.unit_gid("zhaxi"))
    verified = await verify(tree, who="zhaxi_head")
    grid_leader = await run(tree, "grid_leader", CHECKPOINT, unit=tree.unit_gid("grid_a"))

    assert checkpoint_of.data == {"auditCheckpoint": None}
    assert verified == {"ok": True, "checked": 0, "firstBrokenSeq": None, "logs": []}
    assert codes(grid_leader) == ["FORBIDDEN"]
    assert await AuditCheckpoint.all().count() == 0


# -- writes in different jurisdictions do not wait on one lock ---------------------------------


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has one writer: there is no lock to share")
async def test_a_write_in_one_jurisdiction_does_not_wait_on_anothers_log(tree: Tree) -> None:
    """Weixin's log is held by an open transaction (as a slow write there would hold it): a
    change at Yangzonghai completes meanwhile, a change in Weixin waits for it."""
    weixin = tree.units["weixin"].id
    client = connections.get("default")
    held = await asyncpg.connect(
        host=client.host, port=client.port, user=client.user, database=client.database
    )
    try:
        async with held.transaction():
            await held.execute("SELECT pg_advisory_xact_lock($1, $2)", LOG_LOCK_CLASS, weixin)
            elsewhere = await asyncio.wait_for(
                transition(tree, "yzh_admin", tree.task_gid("qixing"), "URGE", note="n"),
                timeout=10,
            )
            waiting = asyncio.ensure_future(
                transition(tree, "county_admin", tree.task_gid("shilong"), "URGE", note="n")
            )
            await asyncio.sleep(0.5)
            assert not waiting.done()
    finally:
        await held.close()
    done = await asyncio.wait_for(waiting, timeout=10)

    assert elsewhere["errors"] == [] and done["errors"] == []
    rows = await AuditEvent.all().order_by("seq").values_list("jurisdiction", "leaf_index")
    assert rows == [(tree.units["yangzonghai"].id, 0), (weixin, 0)]
