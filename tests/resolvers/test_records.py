"""Accountability records through the graph: typed, validated, append-only, flagged, scoped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.org import WaterBody
from models.record import AccountabilityRecord
from models.task import Task
from schema.node import pk_of, to_global_id
from tests.fixtures import Tree
from tests.graph import actions_since, data, error_codes, last_seq, payload, run
from tests.tracks import track_along

RECORD_FIELDS = """
  id type occurredAt endedAt summary details flagged flagReason
  orgUnit { name } corrects { id } task { id title status orgUnit { name } issuer { name } }
"""

CREATE_RECORD = f"""
mutation Record($input: CreateRecordInput!) {{
  createRecord(input: $input) {{ record {{ {RECORD_FIELDS} }} errors {{ field code message }} }}
}}
"""

RECORDS = """
query Records($filter: RecordFilter) {
  records(filter: $filter, first: 100) { totalCount edges { node { summary } } }
}
"""

# In the past: a record dated after it was filed is flagged IN_FUTURE (test_record_flags.py).
START = datetime(2025, 4, 5, 8, tzinfo=UTC)


def pk(global_id: str) -> int:
    found = pk_of(global_id, "Record")
    assert found is not None
    return found


def at(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat()


def patrol_input(
    tree: Tree,
    unit: str = "shilong",
    *,
    start: float = 0,
    hours: float = 2,
    km: float = 6,
    tracked: bool = True,
) -> dict[str, Any]:
    """A patrol of ``km`` in ``hours``: measured from a track, or typed in (``NO_TRACK``)."""
    facts = (
        {"track": track_along(START + timedelta(hours=start), hours, km)}
        if tracked
        else {"distanceKm": km}
    )
    return {
        "type": "PATROL",
        "orgUnitId": tree.unit_gid(unit),
        "occurredAt": at(start),
        "endedAt": at(start + hours),
        "summary": f"patrol at {unit} from {start}h",
        "patrol": facts,
    }


async def file(tree: Tree, username: str, **given: Any) -> Any:
    return await payload(tree, username, CREATE_RECORD, **given)


async def filed(tree: Tree, username: str, **given: Any) -> dict[str, Any]:
    """File a record that must be accepted; the record."""
    result = await file(tree, username, **given)
    assert result["errors"] == [], result
    record: dict[str, Any] = result["record"]
    return record


def typed_inputs(tree: Tree) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per type: the input's typed part, and the details it reads back (in the input's
    camelCase names)."""
    return {
        "PATROL": (
            {
                "endedAt": at(3),
                "patrol": {
                    "track": track_along(START, 3, 8.5),
                    "findings": ["Plastic at the weir"],
                    "photos": ["photos/2030/04/weir.jpg"],
                },
            },
            {
                "distanceKm": 8.5,
                "durationMin": 180,
                "track": track_along(START, 3, 8.5),
                "findings": ["Plastic at the weir"],
                "photos": ["photos/2030/04/weir.jpg"],
            },
        ),
        "CLEANUP": (
            {"cleanup": {"participants": 11, "garbageKg": 320.5}},
            {"participants": 11, "garbageKg": 320.5},
        ),
        "PLEDGE": ({"summary": "Household pledge: no fishing in the ban season"}, {}),
        "ASSESSMENT": (
            {
                "criteria": [
                    {"name": "facilities", "maxScore": 20, "awarded": 18},
                    {"name": "ledgers", "maxScore": 10, "awarded": 10},
                ]
            },
            {
                "criteria": [
                    {"name": "facilities", "maxScore": 20.0, "awarded": 18.0, "evidenceIds": []},
                    {"name": "ledgers", "maxScore": 10.0, "awarded": 10.0, "evidenceIds": []},
                ]
            },
        ),
        "REWARD": ({"amount": 500.0}, {"amount": 500.0}),
        "PENALTY": ({"amount": 200.0}, {"amount": 200.0}),
        "INSPECTION_FINDING": ({"summary": "Outfall not registered"}, {}),
    }


@pytest.mark.parametrize(
    ("record_type", "filer"),
    [
        ("PATROL", "county_admin"),
        ("CLEANUP", "county_admin"),
        ("PLEDGE", "county_admin"),
        ("ASSESSMENT", "county_admin"),
        ("REWARD", "county_admin"),
        ("PENALTY", "county_admin"),
        ("INSPECTION_FINDING", "inspector"),
    ],
)
async def test_every_record_type_is_filed_with_its_typed_part(
    tree: Tree, record_type: str, filer: str
) -> None:
    part, details = typed_inputs(tree)[record_type]
    before = await last_seq()

    record = await filed(
        tree,
        filer,
        type=record_type,
        orgUnitId=tree.unit_gid("shilong"),
        occurredAt=at(0),
        **part,
    )

    assert record["type"] == record_type
    assert record["orgUnit"] == {"name": "shilong"}
    assert record["details"] == details
    assert record["flagged"] is False
    assert await actions_since(before) == ["record.create"]
    stored = await AccountabilityRecord.get(id=pk(record["id"]))
    assert stored.author_id == tree.users[filer].id
    assert stored.authority_unit_id == tree.units["weixin"].id


async def test_an_escalation_is_not_filed_through_create_record(tree: Tree) -> None:
    records, seq = await AccountabilityRecord.all().count(), await last_seq()

    refused = await file(
        tree,
        "county_admin",
        type="ESCALATION",
        orgUnitId=tree.unit_gid("shilong"),
        occurredAt=at(0),
        summary="Pressed by the county",
    )

    assert refused["record"] is None
    assert error_codes(refused) == [("type", "VALIDATION")]
    assert await AccountabilityRecord.all().count() == records
    assert await last_seq() == seq


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"endedAt": None}, ("endedAt", "VALIDATION")),
        ({"endedAt": at(-1)}, ("endedAt", "VALIDATION")),
        ({"patrol": None}, ("patrol", "VALIDATION")),
        ({"patrol": {"distanceKm": -1}}, ("patrol", "VALIDATION")),
        ({"patrol": {"distanceKm": 3, "findings": [""]}}, ("patrol", "VALIDATION")),
        ({"patrol": {"distanceKm": 3, "photos": ["p"] * 51}}, ("patrol", "VALIDATION")),
        ({"type": "CLEANUP", "patrol": None}, ("cleanup", "VALIDATION")),
        (
            {"type": "CLEANUP", "patrol": None, "cleanup": {"participants": 3, "garbageKg": -2}},
            ("cleanup", "VALIDATION"),
        ),
        ({"type": "ASSESSMENT", "patrol": None}, ("criteria", "VALIDATION")),
        (
            {
                "type": "ASSESSMENT",
                "patrol": None,
                "criteria": [{"name": "activities", "maxScore": 10, "awarded": 12}],
            },
            ("criteria", "VALIDATION"),
        ),
        (
            {
                "type": "ASSESSMENT",
                "patrol": None,
                "criteria": [{"name": " ", "maxScore": 10, "awarded": 2}],
            },
            ("criteria", "VALIDATION"),
        ),
        # a part that does not belong to the type
        ({"type": "PLEDGE"}, ("patrol", "VALIDATION")),
        ({"type": "PLEDGE", "patrol": None, "amount": 5.0}, ("amount", "VALIDATION")),
        ({"type": "REWARD", "patrol": None, "amount": -5.0}, ("amount", "VALIDATION")),
        ({"summary": "x" * 501}, ("summary", "VALIDATION")),
        ({"orgUnitId": "luobu_village"}, ("orgUnitId", "NOT_FOUND")),
        ({"taskId": "luobu"}, ("taskId", "NOT_FOUND")),
        ({"waterBodyId": to_global_id("WaterBody", 999)}, ("waterBodyId", "NOT_FOUND")),
        (
            {"type": "CLEANUP", "patrol": None, "cleanup": {"participants": 3, "garbageKg": 2}}
            | {"raiseTask": {"title": "Fix it", "category": "OTHER"}},
            ("raiseTask", "VALIDATION"),
        ),
    ],
)
async def test_invalid_records_are_refused_with_the_field_at_fault(
    tree: Tree, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    given = patrol_input(tree)
    for key, value in changes.items():
        if key == "orgUnitId":
            value = tree.unit_gid(value)
        elif key == "taskId":
            value = tree.task_gid(value)
        given[key] = value
    given = {k: v for k, v in given.items() if v is not None}
    records, seq = await AccountabilityRecord.all().count(), await last_seq()

    refused = await file(tree, "zhaxi_head", **given)

    assert refused["record"] is None
    assert error_codes(refused) == [expected]
    assert await AccountabilityRecord.all().count() == records
    assert await last_seq() == seq


async def test_records_are_append_only_in_the_api(tree: Tree) -> None:
    found = await data(
        tree,
        "county_admin",
        """{
          mutation: __type(name: "Mutation") { fields { name } }
          input: __type(name: "CreateRecordInput") { inputFields { name } }
        }""",
    )
    names = [f["name"] for f in found["mutation"]["fields"]]
    inputs = {f["name"] for f in found["input"]["inputFields"]}

    touching = [n for n in names if "record" in n.lower() or "audit" in n.lower()]
    assert touching == ["createRecord"]
    assert not [n for n in names if n.lower().startswith(("update", "delete", "remove", "edit"))]
    assert "id" not in inputs
    assert "correctsId" in inputs


async def test_a_correction_is_a_new_record_pointing_at_the_old_one(tree: Tree) -> None:
    original = await filed(tree, "village_sec", **patrol_input(tree, km=6))
    before = await last_seq()

    correction = await filed(
        tree,
        "village_sec",
        **patrol_input(tree, km=4),
        correctsId=original["id"],
    )

    assert correction["id"] != original["id"]
    assert correction["corrects"] == {"id": original["id"]}
    assert correction["details"]["distanceKm"] == 4
    assert correction["flagged"] is False  # it does not "overlap" the patrol it corrects
    unchanged = await AccountabilityRecord.get(id=pk(original["id"]))
    assert unchanged.details["distance_km"] == 6
    assert await actions_since(before) == ["record.create"]
    listed = await data(tree, "village_sec", RECORDS, filter={"type": "PATROL"})
    assert listed["records"]["totalCount"] == 2


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"type": "CLEANUP", "patrol": None, "cleanup": {"participants": 1, "garbageKg": 1}},
            ("correctsId", "VALIDATION"),
        ),
        ({"orgUnitId": "grid_a"}, ("correctsId", "VALIDATION")),
    ],
)
async def test_a_correction_keeps_the_type_and_unit(
    tree: Tree, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    original = await filed(tree, "village_sec", **patrol_input(tree))
    given = {**patrol_input(tree, start=10), **changes, "correctsId": original["id"]}
    if "orgUnitId" in changes:
        given["orgUnitId"] = tree.unit_gid(changes["orgUnitId"])

    refused = await file(tree, "village_sec", **{k: v for k, v in given.items() if v is not None})

    assert error_codes(refused) == [expected]


async def test_a_record_outside_scope_cannot_be_corrected(tree: Tree) -> None:
    theirs = await filed(tree, "luobu_head", **patrol_input(tree, "luobu_village"))

    refused = await file(tree, "zhaxi_head", **patrol_input(tree), correctsId=theirs["id"])

    assert error_codes(refused) == [("correctsId", "NOT_FOUND")]


async def test_implausible_patrols_are_flagged(tree: Tree) -> None:
    segment = await WaterBody.create(
        code="seg-1", name="Shilong reach", kind="SEGMENT", length_km=2
    )
    await segment.units.add(tree.units["shilong"])

    fine = await filed(tree, "village_sec", **patrol_input(tree, start=0, hours=2, km=6))
    too_fast = await filed(tree, "village_sec", **patrol_input(tree, start=10, hours=1, km=30))
    too_long = await filed(tree, "village_sec", **patrol_input(tree, start=30, hours=17, km=20))
    overlapping = await filed(tree, "village_sec", **patrol_input(tree, start=1, hours=2, km=4))
    by_another = await filed(tree, "county_admin", **patrol_input(tree, start=1, hours=2, km=4))
    beyond_segment = await filed(
        tree,
        "village_sec",
        **patrol_input(tree, start=100, hours=3, km=9),
        waterBodyId=to_global_id("WaterBody", segment.id),
    )
    along_segment = await filed(
        tree,
        "village_sec",
        **patrol_input(tree, start=200, hours=2, km=8),
        waterBodyId=to_global_id("WaterBody", segment.id),
    )

    reasons = {
        "fine": (fine["flagged"], fine["flagReason"]),
        "too_fast": (too_fast["flagged"], too_fast["flagReason"]),
        "too_long": (too_long["flagged"], too_long["flagReason"]),
        "overlapping": (overlapping["flagged"], overlapping["flagReason"]),
        "by_another": (by_another["flagged"], by_another["flagReason"]),
        "beyond_segment": (beyond_segment["flagged"], beyond_segment["flagReason"]),
        "along_segment": (along_segment["flagged"], along_segment["flagReason"]),
    }
    assert reasons == {
        "fine": (False, ""),
        "too_fast": (True, "distance impossible in the time given"),
        "too_long": (True, "duration longer than a day's patrol"),
        "overlapping": (True, "overlaps another patrol by the same person"),
        "by_another": (False, ""),
        "beyond_segment": (True, "distance longer than the segment allows"),
        "along_segment": (False, ""),
    }
    flagged = await data(tree, "inspector", RECORDS, filter={"flagged": True})
    assert flagged["records"]["totalCount"] == 4


async def test_a_patrol_finding_raises_a_task_with_the_record(tree: Tree) -> None:
    before = await last_seq()

    record = await filed(
        tree,
        "village_sec",
        **patrol_input(tree, "grid_a"),
        raiseTask={
            "title": "Remove the dumped plastic",
            "category": "POLLUTION_TREATMENT",
            "dueAt": "2030-04-12T00:00:00+00:00",
        },
    )

    raised = record["task"]
    assert raised["title"] == "Remove the dumped plastic"
    assert raised["status"] == "ASSIGNED"
    assert raised["orgUnit"] == {"name": "grid_a"}
    assert raised["issuer"] == {"name": "shilong"}
    assert await actions_since(before) == ["task.create", "record.create"]


async def test_the_raised_task_and_the_record_commit_together(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(AccountabilityRecord, "create", broken)
    tasks, seq = await Task.all().count(), await last_seq()

    result = await run(
        tree,
        "village_sec",
        CREATE_RECORD,
        input={
            **patrol_input(tree, "grid_a"),
            "raiseTask": {"title": "Remove the plastic", "category": "POLLUTION_TREATMENT"},
        },
    )

    assert result.errors
    assert await Task.all().count() == tasks
    assert await last_seq() == seq


async def test_a_grid_leader_cannot_raise_a_task_and_nothing_is_written(tree: Tree) -> None:
    records, tasks = await AccountabilityRecord.all().count(), await Task.all().count()

    refused = await file(
        tree,
        "grid_leader",
        **patrol_input(tree, "grid_a"),
        raiseTask={"title": "Remove the plastic", "category": "POLLUTION_TREATMENT"},
    )
    plain = await file(tree, "grid_leader", **patrol_input(tree, "grid_a"))

    assert error_codes(refused) == [("orgUnitId", "FORBIDDEN")]
    assert plain["errors"] == []
    assert await AccountabilityRecord.all().count() == records + 1
    assert await Task.all().count() == tasks


async def test_assessment_scores_trace_back_to_existing_evidence(tree: Tree) -> None:
    evidence = await filed(tree, "village_sec", **patrol_input(tree))
    theirs = await filed(tree, "luobu_head", **patrol_input(tree, "luobu_village"))

    def assessment(*evidence_ids: str) -> dict[str, Any]:
        return {
            "type": "ASSESSMENT",
            "orgUnitId": tree.unit_gid("shilong"),
            "occurredAt": at(50),
            "criteria": [
                {
                    "name": "activities",
                    "maxScore": 10,
                    "awarded": 9,
                    "evidenceIds": list(evidence_ids),
                }
            ],
        }

    scored = await filed(tree, "zhaxi_head", **assessment(evidence["id"]))
    missing = await file(tree, "zhaxi_head", **assessment(to_global_id("Record", 9999)))
    out_of_scope = await file(tree, "zhaxi_head", **assessment(theirs["id"]))
    not_a_record = await file(tree, "zhaxi_head", **assessment(tree.task_gid("shilong")))

    assert scored["details"]["criteria"][0]["evidenceIds"] == [evidence["id"]]
    assert error_codes(missing) == [("criteria", "NOT_FOUND")]
    assert error_codes(out_of_scope) == [("criteria", "NOT_FOUND")]
    assert error_codes(not_a_record) == [("criteria", "NOT_FOUND")]


async def test_inspectors_file_findings_but_not_patrols(tree: Tree) -> None:
    finding = {
        "type": "INSPECTION_FINDING",
        "orgUnitId": tree.unit_gid("luobu_village"),
        "occurredAt": at(0),
        "summary": "Ledger missing for March",
    }
    records = await AccountabilityRecord.all().count()

    filed_finding = await file(tree, "inspector", **finding)
    patrol = await file(tree, "inspector", **patrol_input(tree))
    elsewhere = await file(tree, "inspector", **{**finding, "orgUnitId": tree.unit_gid("qixing")})
    by_township = await file(
        tree, "zhaxi_head", **{**finding, "orgUnitId": tree.unit_gid("shilong")}
    )

    assert filed_finding["errors"] == []
    assert filed_finding["record"]["type"] == "INSPECTION_FINDING"
    assert error_codes(patrol) == [("orgUnitId", "FORBIDDEN")]
    assert error_codes(elsewhere) == [("orgUnitId", "NOT_FOUND")]
    assert error_codes(by_township) == [("orgUnitId", "FORBIDDEN")]
    assert await AccountabilityRecord.all().count() == records + 1


async def test_records_are_listed_within_scope_and_filtered(tree: Tree) -> None:
    await filed(tree, "village_sec", **patrol_input(tree, "shilong", start=0))
    await filed(tree, "village_sec", **patrol_input(tree, "grid_a", start=5, km=30, hours=1))
    await filed(
        tree,
        "zhaxi_head",
        type="CLEANUP",
        orgUnitId=tree.unit_gid("dahetan"),
        occurredAt=at(24),
        summary="Friday clean-up at dahetan",
        cleanup={"participants": 10, "garbageKg": 150},
        taskId=tree.task_gid("dahetan"),
    )
    await filed(tree, "luobu_head", **patrol_input(tree, "luobu_village", start=48))

    def summaries(found: Any) -> set[str]:
        return {e["node"]["summary"] for e in found["records"]["edges"]}

    async def listed(username: str, **conditions: Any) -> set[str]:
        return summaries(await data(tree, username, RECORDS, filter=conditions))

    zhaxi = {
        "patrol at shilong from 0h",
        "patrol at grid_a from 5h",
        "Friday clean-up at dahetan",
    }
    assert await listed("zhaxi_head") == zhaxi
    assert await listed("luobu_head") == {"patrol at luobu_village from 48h"}
    assert await listed("inspector") == zhaxi | {"patrol at luobu_village from 48h"}
    assert await listed("grid_leader") == {"patrol at grid_a from 5h"}
    assert await listed("yzh_admin") == set()

    assert await listed("zhaxi_head", type="CLEANUP") == {"Friday clean-up at dahetan"}
    assert await listed("zhaxi_head", orgUnitId=tree.unit_gid("grid_a")) == {
        "patrol at grid_a from 5h"
    }
    assert await listed("zhaxi_head", orgUnitId=tree.unit_gid("luobu_village")) == set()
    assert await listed("zhaxi_head", flagged=True) == {"patrol at grid_a from 5h"}
    assert await listed("zhaxi_head", taskId=tree.task_gid("dahetan")) == {
        "Friday clean-up at dahetan"
    }
    assert await listed("inspector", authorId=tree.user_gid("luobu_head")) == {
        "patrol at luobu_village from 48h"
    }
    assert await listed("inspector", occurredFrom=at(5), occurredTo=at(48)) == {
        "patrol at grid_a from 5h",
        "Friday clean-up at dahetan",
    }
    count = await data(tree, "zhaxi_head", RECORDS, filter={"type": "PATROL"})
    assert count["records"]["totalCount"] == 2


AUTHORSHIP = """
query Authorship($filter: RecordFilter) {
  records(filter: $filter, first: 10) {
    edges { node { summary author { id username } authority { name } } }
  }
}
"""


async def test_a_record_names_its_author_and_the_unit_it_was_filed_under(tree: Tree) -> None:
    await filed(tree, "dept_head", **patrol_input(tree, "luobu_village"))
    at_luobu_village = {"orgUnitId": tree.unit_gid("luobu_village")}

    by_the_department = await data(tree, "dept_head", AUTHORSHIP, filter=at_luobu_village)
    by_the_township = await data(tree, "luobu_head", AUTHORSHIP, filter=at_luobu_village)

    author = {"id": tree.user_gid("dept_head"), "username": "dept_head"}
    assert by_the_department["records"]["edges"] == [
        {
            "node": {
                "summary": "patrol at luobu_village from 0h",
                "author": author,
                "authority": {"name": "water_bureau"},
            }
        }
    ]
    # The township reads the record, but neither the department it was filed under nor the
    # department's account.
    assert by_the_township["records"]["edges"] == [
        {
            "node": {
                "summary": "patrol at luobu_village from 0h",
                "author": None,
                "authority": None,
            }
        }
    ]


async def test_a_record_names_only_a_water_body_its_filer_reads(tree: Tree) -> None:
    """Another county's lake reads as no water body at all, as it does by id or code."""
    own = await WaterBody.create(code="zxh-sl", name="扎西河石龙段", kind="SEGMENT")
    await own.units.add(tree.units["shilong"])
    lake = await WaterBody.create(code="yzh", name="阳宗海", kind="LAKE")
    await lake.units.add(tree.units["qixing"])
    before = await AccountabilityRecord.all().count()

    refused = await file(
        tree,
        "village_sec",
        **patrol_input(tree),
        waterBodyId=to_global_id("WaterBody", lake.id),
    )
    accepted = await filed(
        tree,
        "village_sec",
        **patrol_input(tree, start=10),
        waterBodyId=to_global_id("WaterBody", own.id),
    )

    assert error_codes(refused) == [("waterBodyId", "NOT_FOUND")]
    stored = await AccountabilityRecord.get(id=pk_of(accepted["id"], "Record"))
    assert stored.water_body_id == own.id
    assert await AccountabilityRecord.all().count() == before + 1
