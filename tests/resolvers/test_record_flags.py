"""``Record.flags``: why a record is flagged, as codes, agreeing with ``flagged`` and
``flagReason``; a record dated after it was filed is flagged ``IN_FUTURE``, beyond a clock
skew the deployment chooses; and the flags are read exactly where the record is."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.settings import Settings, SettingsError
from models.enums import RecordType
from models.record import AccountabilityRecord
from resolvers.record_flags import MESSAGES, RecordFlagCode, flags_of, reason_of
from schema.node import to_global_id
from schema.record_flag import RecordFlagCode as GraphRecordFlagCode
from tests.fixtures import ACCOUNTS, Tree
from tests.graph import data, payload, run
from tests.http.client import app_settings, running_app
from tests.tracks import track_along

FLAGGED = "flagged flagReason flags { code message }"
CREATE_RECORD = f"""
mutation Record($input: CreateRecordInput!) {{
  createRecord(input: $input) {{ record {{ id {FLAGGED} }} errors {{ field code message }} }}
}}
"""
RECORDS = f"""
query Records($filter: RecordFilter) {{
  records(filter: $filter, first: 100) {{ edges {{ node {{ id {FLAGGED} }} }} }}
}}
"""
RECORD_IDS = "query Records { records(first: 100) { edges { node { id } } } }"
NODE = f"query Node($id: ID!) {{ node(id: $id) {{ ... on Record {{ id {FLAGGED} }} }} }}"

IN_FUTURE = {"code": "IN_FUTURE", "message": "dated after it was filed"}
TOO_FAST = {"code": "TOO_FAST", "message": "distance impossible in the time given"}


def patrol(tree: Tree, start: datetime, hours: float = 2, km: float = 6) -> dict[str, Any]:
    """A patrol of ``km`` in ``hours`` with its track (the track-checks are
    test_track_flags.py's)."""
    return {
        "type": "PATROL",
        "orgUnitId": tree.unit_gid("shilong"),
        "occurredAt": start.isoformat(),
        "endedAt": (start + timedelta(hours=hours)).isoformat(),
        "summary": f"patrol from {start.isoformat()}",
        "patrol": {"track": track_along(start, hours, km)},
    }


async def filed(tree: Tree, given: dict[str, Any], username: str = "village_sec") -> Any:
    result = await payload(tree, username, CREATE_RECORD, **given)
    assert result["errors"] == [], result
    return result["record"]


def flag_fields(record: Any) -> tuple[bool, str, list[dict[str, str]]]:
    return record["flagged"], record["flagReason"], record["flags"]


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def test_a_patrol_dated_in_the_future_is_flagged_in_future(tree: Tree) -> None:
    tomorrow = await filed(tree, patrol(tree, now() + timedelta(days=1)))
    ends_later = await filed(tree, patrol(tree, now() - timedelta(hours=1), hours=3, km=9))

    assert flag_fields(tomorrow) == (True, "dated after it was filed", [IN_FUTURE])
    assert flag_fields(ends_later) == (True, "dated after it was filed", [IN_FUTURE])
    listed = await data(tree, "inspector", RECORDS)
    assert {e["node"]["id"] for e in listed["records"]["edges"]} == {
        tomorrow["id"],
        ends_later["id"],
    }


async def test_a_record_of_any_type_dated_in_the_future_is_flagged(tree: Tree) -> None:
    cleanup = {
        "type": "CLEANUP",
        "orgUnitId": tree.unit_gid("shilong"),
        "occurredAt": (now() + timedelta(days=3)).isoformat(),
        "cleanup": {"participants": 12, "garbageKg": 80},
    }

    record = await filed(tree, cleanup, "zhaxi_head")

    assert flag_fields(record) == (True, "dated after it was filed", [IN_FUTURE])


async def test_a_few_minutes_ahead_is_a_clock_not_a_claim(tree: Tree) -> None:
    finished_just_now = await filed(tree, patrol(tree, now() - timedelta(hours=2, minutes=1)))
    phone_ahead = await filed(
        tree, patrol(tree, now() - timedelta(hours=2) + timedelta(minutes=4)), "zhaxi_head"
    )

    assert flag_fields(finished_just_now) == (False, "", [])
    assert flag_fields(phone_ahead) == (False, "", [])


async def test_the_clock_skew_is_the_deployments_choice(tree: Tree) -> None:
    """RIVERCHIEF_CLOCK_SKEW=0: a patrol ending a few minutes ahead is flagged."""
    ahead = patrol(tree, now() - timedelta(hours=2) + timedelta(minutes=4))
    async with running_app(replace(app_settings(), clock_skew_seconds=0)) as client:
        token = await client.login("village_sec")
        body = await client.run(CREATE_RECORD, {"input": ahead}, token)

    record = body["data"]["createRecord"]["record"]
    assert flag_fields(record) == (True, "dated after it was filed", [IN_FUTURE])


def test_the_clock_skew_setting() -> None:
    assert Settings.from_env({}).clock_skew_seconds == 300
    assert Settings.from_env({"RIVERCHIEF_CLOCK_SKEW": "60"}).clock_skew_seconds == 60
    assert Settings.from_env({"RIVERCHIEF_CLOCK_SKEW": "0"}).clock_skew_seconds == 0
    for wrong in ("-1", "five minutes"):
        with pytest.raises(SettingsError, match="RIVERCHIEF_CLOCK_SKEW"):
            Settings.from_env({"RIVERCHIEF_CLOCK_SKEW": wrong})


async def test_every_reason_found_is_a_flag_in_the_order_found(tree: Tree) -> None:
    fast_and_future = await filed(tree, patrol(tree, now() + timedelta(days=2), hours=1, km=40))
    fast = await filed(tree, patrol(tree, now() - timedelta(days=2), hours=1, km=40))

    assert flag_fields(fast_and_future) == (
        True,
        "distance impossible in the time given; dated after it was filed",
        [TOO_FAST, IN_FUTURE],
    )
    assert flag_fields(fast) == (True, "distance impossible in the time given", [TOO_FAST])
    unflagged = await data(tree, "inspector", RECORDS, filter={"flagged": False})
    assert unflagged["records"]["edges"] == []


async def test_stored_reasons_read_back_as_their_codes(tree: Tree) -> None:
    """Records loaded as data (the demo's) or filed before flags had codes: the stored
    reason is what they say, and a sentence no check writes reads as OTHER."""
    stored = {}
    for name, reason in {
        "demo": "distance impossible in the time given",
        "legacy": "witness statements disagree",
        "clean": "",
    }.items():
        record = await AccountabilityRecord.create(
            type=RecordType.PATROL,
            org_unit_id=tree.units["shilong"].id,
            occurred_at=now() - timedelta(days=5),
            ended_at=now() - timedelta(days=5) + timedelta(hours=1),
            details={"distance_km": 40},
            flagged=bool(reason),
            flag_reason=reason,
        )
        found = await data(tree, "inspector", NODE, id=to_global_id("Record", record.id))
        stored[name] = flag_fields(found["node"])

    assert stored == {
        "demo": (True, "distance impossible in the time given", [TOO_FAST]),
        "legacy": (
            True,
            "witness statements disagree",
            [{"code": "OTHER", "message": "witness statements disagree"}],
        ),
        "clean": (False, "", []),
    }


def test_every_code_has_its_sentence_and_reads_back() -> None:
    for code, message in MESSAGES.items():
        assert flags_of(reason_of(flags_of(message))) == flags_of(message)
        assert [f.code for f in flags_of(message)] == [code]
    assert set(MESSAGES) == set(RecordFlagCode) - {RecordFlagCode.OTHER}
    assert {c.value for c in GraphRecordFlagCode} == {c.value for c in RecordFlagCode}
    assert max(len(reason_of(flags_of(m))) for m in MESSAGES.values()) < 200
    room = AccountabilityRecord._meta.fields_map["flag_reason"].max_length
    assert len("; ".join(MESSAGES.values())) <= room == 400  # all at once fit flag_reason


# -- read exactly where the record is ------------------------------------------------------


async def some_records(tree: Tree) -> list[str]:
    """A flagged and an unflagged record in each township, filed by their heads."""
    ids = []
    for unit, author in (("shilong", "zhaxi_head"), ("luobu_village", "luobu_head")):
        for days_ahead in (1, -1):
            given = patrol(tree, now() + timedelta(days=days_ahead))
            given["orgUnitId"] = tree.unit_gid(unit)
            ids.append((await filed(tree, given, author))["id"])
    return ids


@pytest.mark.parametrize("viewer", sorted(ACCOUNTS))
async def test_flags_are_read_exactly_where_the_record_is(tree: Tree, viewer: str) -> None:
    ids = await some_records(tree)

    with_flags = await data(tree, viewer, RECORDS)
    without = await data(tree, viewer, RECORD_IDS)

    listed = {e["node"]["id"]: e["node"] for e in with_flags["records"]["edges"]}
    assert set(listed) == {e["node"]["id"] for e in without["records"]["edges"]}
    for record_id in ids:
        node = (await data(tree, viewer, NODE, id=record_id))["node"]
        assert node == listed.get(record_id)  # null exactly where the record is not listed
    for record in listed.values():
        assert record["flagged"] == bool(record["flags"])
        assert record["flagReason"] == "; ".join(f["message"] for f in record["flags"])
        assert record["flags"] in ([], [IN_FUTURE])


async def test_scopes_of_the_flag_table(tree: Tree) -> None:
    """The headline decisions, literally: who sees the flags of which record."""
    ids = await some_records(tree)

    async def seen(viewer: str) -> list[bool]:
        return [(await data(tree, viewer, NODE, id=i))["node"] is not None for i in ids]

    assert await seen("zhaxi_head") == [True, True, False, False]
    assert await seen("luobu_head") == [False, False, True, True]
    assert await seen("inspector") == [True, True, True, True]
    assert await seen("yzh_admin") == [False, False, False, False]


async def test_anonymous_viewers_read_no_flags(tree: Tree) -> None:
    ids = await some_records(tree)

    listed = await run(tree, None, RECORDS)
    node = await run(tree, None, NODE, id=ids[0])

    assert listed.data is None
    assert node.data == {"node": None}
    for result in (listed, node):
        assert [(e.extensions or {}).get("code") for e in result.errors or []] == [
            "UNAUTHENTICATED"
        ]


async def test_over_http_the_flags_are_those_of_the_schema(tree: Tree) -> None:
    """The transport (compiled reads on) answers as the schema does, viewer by viewer."""
    await some_records(tree)
    async with running_app() as client:
        for viewer in ("zhaxi_head", "luobu_head", "inspector", "yzh_admin"):
            body = await client.run(RECORDS, None, await client.login(viewer))
            assert body == {"data": await data(tree, viewer, RECORDS)}, viewer
        anonymous = await client.run(RECORDS)
    assert anonymous["data"] is None
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
