"""``riverchief verify-proof``: an outside party checks an export or an inclusion proof against a
checkpoint with the public key alone (no database, no secret)."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from models.audit import AuditEvent
from ops.audit_export import write_export
from resolvers.audit import link_hash
from resolvers.audit_log import log_named
from schema.node import to_global_id
from tests.fixtures import TEST_LOG_KEYS, Tree
from tests.graph import data, transition
from tests.operator_cli import SECRET, in_process

CHECKPOINT = "query($unit: ID!) { auditCheckpoint(orgUnitId: $unit) { treeSize note } }"
INCLUSION = """
query($event: ID!, $size: Int) {
  auditInclusionProof(eventId: $event, treeSize: $size) { leafIndex treeSize leafHash hashes }
}
"""
NOWHERE = "sqlite://:memory:"  # the command opens no database
KEY = base64.b64encode(TEST_LOG_KEYS.signer.public_key).decode()
OTHER_KEY = base64.b64encode(bytes(32)).decode()


async def urge(tree: Tree, times: int) -> None:
    for i in range(times):
        done = await transition(tree, "county_admin", tree.task_gid("shilong"), "URGE", note=f"{i}")
        assert done["errors"] == []


async def checkpoint_note(tree: Tree, path: Path) -> Path:
    found = await data(tree, "inspector", CHECKPOINT, unit=tree.unit_gid("weixin"))
    return save(path, found["auditCheckpoint"]["note"])


async def export_to(tree: Tree, path: Path) -> list[dict[str, Any]]:
    out = io.BytesIO()
    await write_export(
        out,
        log=await log_named(tree.units["weixin"].id),
        since=datetime(2000, 1, 1, tzinfo=UTC),
        until=datetime(2100, 1, 1, tzinfo=UTC),
        secret=SECRET,
        keys=TEST_LOG_KEYS,
    )
    save(path, out.getvalue().decode())
    return [json.loads(line) for line in out.getvalue().decode().splitlines()]


def save(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


async def verify(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    done = await in_process(monkeypatch, NOWHERE, "verify-proof", *args)
    return done.status, done.out, done.err


async def test_an_export_agrees_with_a_checkpoint_issued_before_it_and_with_its_own(
    tree: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await urge(tree, 5)
    earlier = await checkpoint_note(tree, tmp_path / "earlier.note")
    await urge(tree, 3)
    exported = tmp_path / "weixin.jsonl"
    await export_to(tree, exported)

    against_earlier = await verify(
        monkeypatch, "--key", KEY, "--checkpoint", str(earlier), "--export", str(exported)
    )
    against_its_own = await verify(monkeypatch, "--key", KEY, "--export", str(exported))
    wrong_key = await verify(monkeypatch, "--key", OTHER_KEY, "--export", str(exported))

    assert against_earlier[0] == 0, against_earlier
    assert "8 event(s) of riverchief/" in against_earlier[1]
    assert "agree with the checkpoint at size 5" in against_earlier[1]
    assert against_its_own[0] == 0 and "at size 8" in against_its_own[1]
    assert wrong_key[0] == 1
    assert "does not verify with the key given: signed by no known key" in wrong_key[2]


async def test_an_export_rewritten_after_the_checkpoint_does_not_verify(
    tree: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every hash of the file recomputed around an edit: it chains, but not to the root."""
    await urge(tree, 6)
    earlier = await checkpoint_note(tree, tmp_path / "earlier.note")
    header, *events, trailer = await export_to(tree, tmp_path / "weixin.jsonl")
    events[2]["after"] = {"note": "never said"}
    prev = events[1]["hash"]
    for event in events[2:]:
        event["prev_hash"] = prev
        body = {k: v for k, v in event.items() if k not in ("prev_hash", "hash")}
        event["hash"] = prev = link_hash(prev, body)
    header["checkpoint"] = None
    forged = write_lines(tmp_path / "forged.jsonl", [header, *events, trailer])

    status, _, err = await verify(
        monkeypatch, "--key", KEY, "--checkpoint", str(earlier), "--export", str(forged)
    )

    assert status == 1
    assert err.splitlines() == [
        "riverchief: it does not verify",
        "  the events do not hash to the checkpoint's root at size 6",
    ]


async def test_an_inclusion_proof_checks_against_the_checkpoint(
    tree: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await urge(tree, 7)
    note = await checkpoint_note(tree, tmp_path / "now.note")
    event = await AuditEvent.get(jurisdiction=tree.units["weixin"].id, leaf_index=4)
    found = await data(tree, "inspector", INCLUSION, event=to_global_id("AuditEvent", event.seq))
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps({"data": found}), encoding="utf-8")
    _, *lines, _ = await export_to(tree, tmp_path / "weixin.jsonl")
    line = tmp_path / "event.json"
    line.write_text(json.dumps(lines[4]), encoding="utf-8")
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps({**lines[4], "request_id": "another"}), encoding="utf-8")
    bent = tmp_path / "bent.json"
    wrong = found["auditInclusionProof"]
    bent.write_text(json.dumps({**wrong, "hashes": ["00" * 32, *wrong["hashes"][1:]]}))

    good = await verify(
        monkeypatch,
        "--key",
        KEY,
        "--checkpoint",
        str(note),
        "--proof",
        str(proof),
        "--event",
        str(line),
    )
    other_event = await verify(
        monkeypatch,
        "--key",
        KEY,
        "--checkpoint",
        str(note),
        "--proof",
        str(proof),
        "--event",
        str(edited),
    )
    bent_proof = await verify(
        monkeypatch, "--key", KEY, "--checkpoint", str(note), "--proof", str(bent)
    )
    not_a_proof = await verify(
        monkeypatch, "--key", KEY, "--checkpoint", str(note), "--proof", str(note)
    )

    assert good[0] == 0, good
    assert "the event is leaf 4 of riverchief/" in good[1] and "at size 7" in good[1]
    assert (other_event[0], other_event[2].splitlines()[1:]) == (
        1,
        ["  the event does not hash to the proof's leaf hash"],
    )
    assert (bent_proof[0], bent_proof[2].splitlines()[1:]) == (
        1,
        ["  the proof does not lead to the checkpoint's root"],
    )
    assert not_a_proof[0] == 2
