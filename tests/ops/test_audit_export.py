"""``riverchief export-audit``, ``verify-export`` and ``verify-audit``: a signed, chained export
that shows any change made to it, and the whole chain checked in the database."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from models.audit import AuditEvent
from models.enums import AuditAction, AuditEntity, OrgLevel
from models.org import OrgUnit
from ops.audit_export import (
    ChainBroken,
    export_key,
    key_id,
    verify_export,
    write_export,
)
from resolvers.audit import append_event, canonical, event_body, link_hash
from resolvers.audit_log import Log, log_named
from resolvers.audit_queries import verify_log
from tests.fixtures import TEST_LOG_KEYS, Tree
from tests.operator_cli import SECRET, database, in_process, riverchief

FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


async def county() -> OrgUnit:
    """The jurisdiction the events go to (the tree's Weixin, or one made for the shell)."""
    found = await OrgUnit.filter(parent_id=None).order_by("id").first()
    return found or await OrgUnit.place(code="wx", name="威信县", level=OrgLevel.COUNTY)


async def record(count: int) -> list[AuditEvent]:
    """``count`` events, with text, numbers and nesting that must survive the round trip."""
    path = (await county()).path
    events = []
    for i in range(count):
        async with in_transaction() as conn:
            events.append(
                await append_event(
                    conn,
                    None,
                    action=AuditAction.TASK_CREATE,
                    entity_type=AuditEntity.TASK,
                    entity_id=i,
                    org_path=path,
                    after={"title": f"巡河 {i}", "share": i / 3, "parts": [1, {"二": None}]},
                )
            )
    return events


async def the_log() -> Log:
    return await log_named((await county()).id)


async def export(since: datetime = FAR_PAST, until: datetime = FAR_FUTURE) -> bytes:
    out = io.BytesIO()
    await write_export(
        out, log=await the_log(), since=since, until=until, secret=SECRET, keys=TEST_LOG_KEYS
    )
    return out.getvalue()


def lines_of(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]


def joined(lines: list[dict[str, Any]]) -> bytes:
    return b"".join((canonical(line) + "\n").encode() for line in lines)


def signed(lines: list[dict[str, Any]], secret: str = SECRET) -> bytes:
    """The lines (header and events) with a valid signature line for ``secret``."""
    body = joined(lines)
    key = export_key(secret)
    value = hmac.new(key, body, hashlib.sha256).hexdigest()
    return body + joined(
        [{"signature": {"alg": "HMAC-SHA256", "key_id": key_id(key), "value": value}}]
    )


def rehash(event: dict[str, Any]) -> None:
    event["hash"] = link_hash(event["prev_hash"], {k: event[k] for k in event if "hash" not in k})


# -- exporting ------------------------------------------------------------------------------


async def test_an_export_holds_the_events_of_the_range_with_their_hashes(tree: Tree) -> None:
    await record(3)
    since = datetime.now(UTC)
    await asyncio.sleep(0.002)
    inside = await record(4)
    await asyncio.sleep(0.002)
    until = datetime.now(UTC)
    await record(2)

    data = await export(since, until)

    header, *events, trailer = lines_of(data)
    assert header["format"] == "riverchief-audit-export" and header["version"] == 2
    assert (header["first_seq"], header["last_seq"], header["events"]) == (4, 7, 4)
    assert (header["first_leaf"], header["last_leaf"]) == (3, 6)
    assert header["origin"] == f"riverchief/{(await county()).code}"
    assert len(header["prefix"]) == 2  # the subtrees of leaves 0-1 and 2
    assert header["checkpoint"].startswith(f"{header['origin']}\n7\n")
    assert header["from"] == since.isoformat(timespec="microseconds")
    assert events == [
        {**event_body(e), "prev_hash": e.prev_hash, "hash": e.hash}
        for e in await AuditEvent.filter(seq__in=[e.seq for e in inside]).order_by("seq")
    ]
    assert events[0]["after"] == {"title": "巡河 0", "share": 0.0, "parts": [1, {"二": None}]}
    key = export_key(SECRET)
    signed_part = data[: data.rindex(b"\n", 0, len(data) - 1) + 1]
    assert trailer == {
        "signature": {
            "alg": "HMAC-SHA256",
            "key_id": key_id(key),
            "value": hmac.new(key, signed_part, hashlib.sha256).hexdigest(),
        }
    }
    check = verify_export(data, SECRET)
    assert check.problems == []
    assert (check.events, check.first_seq, check.last_seq) == (4, 4, 7)
    assert check.head_hash == (await AuditEvent.get(seq=7)).hash


async def test_an_empty_range_is_an_empty_signed_export(tree: Tree) -> None:
    await record(2)

    data = await export(FAR_PAST, datetime(2001, 1, 1, tzinfo=UTC))

    header, trailer = lines_of(data)
    assert (header["first_seq"], header["last_seq"], header["events"]) == (None, None, 0)
    assert (header["prefix"], header["checkpoint"]) == ([], None)
    assert "signature" in trailer
    check = verify_export(data, SECRET)
    assert (check.ok, check.events) == (True, 0)


async def test_a_chain_broken_in_the_database_is_not_exported(tree: Tree) -> None:
    await record(3)
    await AuditEvent.filter(seq=2).update(after={"title": "nothing happened"})

    with pytest.raises(ChainBroken) as raised:
        await export()

    assert raised.value.leaf == 1
    report = await verify_log(await the_log(), TEST_LOG_KEYS)
    assert (report.first_broken_seq, report.first_broken_leaf_index) == (2, 1)


# -- tampering ------------------------------------------------------------------------------


def edit(lines: list[dict[str, Any]]) -> None:
    lines[2]["after"]["title"] = "巡河 已完成"


def edit_and_rehash(lines: list[dict[str, Any]]) -> None:
    edit(lines)
    rehash(lines[2])


def rewrite_the_chain(lines: list[dict[str, Any]]) -> None:
    edit_and_rehash(lines)
    for previous, event in itertools.pairwise(lines[2:]):
        event["prev_hash"] = previous["hash"]
        rehash(event)


def remove(lines: list[dict[str, Any]]) -> None:
    del lines[2]


SIGNATURE_BROKEN = "the signature does not match: the file was changed after export"

TAMPERING: dict[str, tuple[Callable[[list[dict[str, Any]]], None], list[str]]] = {
    "an event edited": (
        edit,
        [SIGNATURE_BROKEN, "line 3 (seq 2): hash does not match the event's contents"],
    ),
    "an event edited, its hash recomputed": (
        edit_and_rehash,
        [SIGNATURE_BROKEN, "line 4 (seq 3): prev_hash is not the hash of the line before"],
    ),
    "the chain rewritten from the edit on": (rewrite_the_chain, [SIGNATURE_BROKEN]),
    "an event removed": (
        remove,
        [
            SIGNATURE_BROKEN,
            "line 3 (seq 3): expected leaf 1: events missing or moved",
            "line 3 (seq 3): prev_hash is not the hash of the line before",
            "the header announces 3 events, the file holds 2",
        ],
    ),
}


@pytest.mark.parametrize("how", TAMPERING)
async def test_a_tampered_export_fails_verification(tree: Tree, how: str) -> None:
    await record(3)
    header, *events, trailer = lines_of(await export())
    tamper, problems = TAMPERING[how]
    lines = [header, *events]

    tamper(lines)

    tampered = joined([*lines, trailer])
    assert verify_export(tampered, SECRET).problems == problems


async def test_an_export_signed_with_another_key_or_cut_short_fails(tree: Tree) -> None:
    await record(2)
    data = await export()
    header, *events, _ = lines_of(data)

    other_key = verify_export(
        signed([header, *events], "another-secret-of-enough-length!!"), SECRET
    )
    cut_short = verify_export(data[: data.rindex(b"{")], SECRET)
    no_signature = verify_export(joined([header, *events]), SECRET)

    assert len(other_key.problems) == 1
    assert other_key.problems[0].startswith("signed with another key (key id ")
    assert cut_short.problems == ["the file does not end with a line break: it was cut short"]
    assert no_signature.problems[0] == (
        "the last line is not the signature: the export is incomplete"
    )
    assert verify_export(signed([header, *events]), SECRET).ok


# -- from the shell -------------------------------------------------------------------------


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob(".audit-export-*"))


async def test_export_and_verify_from_the_shell(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database(empty_database_url):
        await record(3)
        head = (await AuditEvent.get(seq=3)).hash
    target = tmp_path / "audit.jsonl"

    exported = await riverchief(
        empty_database_url,
        "export-audit",
        "--log",
        "wx",
        "--from",
        "2000-01-01T00:00:00+08:00",
        "--to",
        "2100-01-01T00:00:00Z",
        "--output",
        str(target),
    )
    verified = await riverchief(empty_database_url, "verify-export", str(target))
    tampered_file = tmp_path / "tampered.jsonl"
    tampered_file.write_bytes(target.read_bytes().replace("巡河 1".encode(), "巡河 9".encode()))
    tampered = await in_process(
        monkeypatch, empty_database_url, "verify-export", str(tampered_file)
    )
    unsigned = await in_process(
        monkeypatch, empty_database_url, "verify-export", str(target), secret=None
    )
    naive = await in_process(
        monkeypatch,
        empty_database_url,
        "export-audit",
        "--log",
        "wx",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01T00:00:00Z",
    )

    assert exported.status == 0, exported.err
    assert exported.out.startswith(
        f"exported 3 audit event(s) to {target} (seq 1–3, last hash {head})"
    )
    assert len(target.read_bytes().splitlines()) == 5
    assert verified.status == 0, verified.err
    assert verified.out == (
        f"{target}: signature valid (HMAC-SHA256, key id {key_id(export_key(SECRET))}); "
        f"3 event(s), seq 1–3, chained intact; last hash {head}\n"
    )
    assert tampered.status == 1
    assert tampered.err.splitlines() == [
        f"riverchief: {tampered_file}: the export does not verify",
        f"  {SIGNATURE_BROKEN}",
        "  line 3 (seq 2): hash does not match the event's contents",
    ]
    assert unsigned.status == 2 and "RIVERCHIEF_SECRET is not set" in unsigned.err
    assert naive.status == 2 and "does not say its UTC offset" in naive.err
    assert leftovers(tmp_path) == []  # no temporary file left behind


async def test_verify_audit_from_the_shell(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database(empty_database_url):
        await record(3)
        second = (await AuditEvent.get(seq=2)).hash

    intact = await riverchief(empty_database_url, "verify-audit", "--anchor", f"2:{second}")
    wrong_anchor = await in_process(
        monkeypatch, empty_database_url, "verify-audit", "--anchor", f"2:{'0' * 64}"
    )
    async with database(empty_database_url):
        head = (await AuditEvent.get(seq=3)).hash
        root = (await verify_log(await the_log(), None)).root_hash
        await AuditEvent.filter(seq=2).update(org_path="/9/")
    broken = await in_process(monkeypatch, empty_database_url, "verify-audit")

    assert (intact.status, intact.out) == (
        0,
        f"riverchief/wx: intact, 3 event(s), root {root}, 0 checkpoint(s) agree; "
        f"head seq 3, hash {head}\n",
    )
    assert wrong_anchor.status == 1
    assert "riverchief/wx: broken at leaf 1 (seq 2): leaf 1 (seq 2): not the anchor's hash" in (
        wrong_anchor.err
    )
    assert broken.status == 1
    assert broken.err.splitlines()[-1] == (
        "riverchief: riverchief/wx: broken at leaf 1 (seq 2): leaf 1 (seq 2): belongs to "
        "another log; 1 event(s) before it check out"
    )
