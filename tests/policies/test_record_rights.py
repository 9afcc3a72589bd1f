"""Record types are rights: who files which record where, and who corrects it.

A short table of headline decisions on the shared test tree comes first; then the exhaustive
truth table (every role × record type × position relative to the role's unit); then
corrections and the rule that nobody judges themselves. Every decision goes through
``createRecord`` on a real database, and every refusal is checked to have written nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from core.context import RequestContext, Viewer
from core.security import TokenSigner
from models.audit import AuditEvent
from models.enums import LinkKind, OrgLevel, RecordType
from models.org import OrgLink, OrgUnit
from models.people import Person, User
from models.policy import CasbinRule
from models.record import AccountabilityRecord
from policies.engine import ROLES, PolicyEngine
from schema.build import schema
from schema.node import pk_of, to_global_id
from tests.fixtures import PASSWORD_HASH, TEST_SECRET, Tree
from tests.graph import as_payload

CREATE_RECORD = """
mutation File($input: CreateRecordInput!) {
  createRecord(input: $input) {
    record { id author { username } authority { name } corrects { id } }
    errors { field code }
  }
}
"""
START = datetime(2030, 6, 3, 9, tzinfo=UTC)
_moments = itertools.count()


def typed_part(kind: str) -> dict[str, Any]:
    """A valid input for a record of ``kind``, at a moment of its own (no overlaps)."""
    occurred = START + timedelta(hours=3 * next(_moments))
    part: dict[str, Any] = {"type": kind, "occurredAt": occurred.isoformat(), "summary": kind}
    if kind == "PATROL":
        part["endedAt"] = (occurred + timedelta(hours=2)).isoformat()
        part["patrol"] = {"distanceKm": 5}
    elif kind == "CLEANUP":
        part["cleanup"] = {"participants": 12, "garbageKg": 80}
    elif kind == "ASSESSMENT":
        part["criteria"] = [{"name": "ledgers", "maxScore": 10, "awarded": 7}]
    elif kind in ("REWARD", "PENALTY"):
        part["amount"] = 500
    return part


async def written() -> tuple[int, int]:
    """How many records there are and the audit trail's head: what a refusal must not move."""
    head = await AuditEvent.all().order_by("-seq").first()
    return await AccountabilityRecord.all().count(), head.seq if head else 0


async def file(context: RequestContext, **given: Any) -> Any:
    result = await schema.execute(CREATE_RECORD, {"input": given}, context_value=context)
    return as_payload(result)


def errors_of(payload: Any) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


# -- headline decisions ---------------------------------------------------------------------

# viewer, record type, unit, the refusal (None: filed), the unit it is filed under
HEADLINES: list[tuple[str, str, str, tuple[str, str] | None, str | None]] = [
    ("grid_leader", "PATROL", "grid_a", None, "grid_a"),
    ("grid_leader", "PLEDGE", "grid_a", None, "grid_a"),
    ("grid_leader", "REWARD", "grid_a", ("orgUnitId", "FORBIDDEN"), None),
    ("grid_leader", "ESCALATION", "grid_a", ("type", "VALIDATION"), None),
    ("enterprise_chief", "CLEANUP", "enterprise", None, "enterprise"),
    ("enterprise_chief", "PENALTY", "enterprise", ("orgUnitId", "FORBIDDEN"), None),
    ("enterprise_chief", "ASSESSMENT", "shilong", ("orgUnitId", "FORBIDDEN"), None),  # host
    ("village_sec", "REWARD", "grid_a", None, "shilong"),
    ("zhaxi_head", "ASSESSMENT", "zhaxi", ("orgUnitId", "FORBIDDEN"), None),  # its own unit
    ("zhaxi_head", "REWARD", "shilong", None, "zhaxi"),
    ("zhaxi_head", "PENALTY", "luobu_village", ("orgUnitId", "NOT_FOUND"), None),  # a peer's
    ("county_admin", "REWARD", "zhaxi", None, "weixin"),
    ("county_admin", "INSPECTION_FINDING", "zhaxi", ("orgUnitId", "FORBIDDEN"), None),
    ("inspector", "INSPECTION_FINDING", "luobu_village", None, "weixin"),
    ("inspector", "PATROL", "shilong", ("orgUnitId", "FORBIDDEN"), None),
    ("dept_head", "PATROL", "luobu_village", None, "water_bureau"),  # its paired village
    ("dept_head", "PENALTY", "luobu_village", ("orgUnitId", "FORBIDDEN"), None),
]


@pytest.mark.parametrize(("viewer", "kind", "unit", "refusal", "authority"), HEADLINES)
async def test_headline_decisions(
    tree: Tree,
    viewer: str,
    kind: str,
    unit: str,
    refusal: tuple[str, str] | None,
    authority: str | None,
) -> None:
    before = await written()

    result = await file(tree.context_for(viewer), orgUnitId=tree.unit_gid(unit), **typed_part(kind))

    if refusal is None:
        assert result["errors"] == []
        assert result["record"]["author"] == {"username": viewer}
        assert result["record"]["authority"] == {"name": authority}
        assert (await written())[0] == before[0] + 1
    else:
        assert errors_of(result) == [refusal]
        assert result["record"] is None
        assert await written() == before


# -- the exhaustive truth table -------------------------------------------------------------
#
# Every role is held at `anchor`, a township of this small tree:
#
#   root (county)                 parent
#   ├── anchor (township)         own unit
#   │   └── child (village)       child
#   │       └── grandchild (grid) grandchild
#   └── sibling (township)        sibling
#       └── paired (village)      paired with anchor (支部联建)
#
# A cell: A filed, F FORBIDDEN and N NOT_FOUND (on orgUnitId), V VALIDATION (on type), X a
# top-level FORBIDDEN (the field's guard).

POSITIONS = ("anchor", "child", "grandchild", "root", "sibling", "paired")
KINDS = tuple(kind.value for kind in RecordType)
JUDGING = {  # county_admin, township_head, village_secretary, department_head
    "PATROL": "A A A F N A",
    "CLEANUP": "A A A F N A",
    "PLEDGE": "A A A F N F",
    "ASSESSMENT": "F A A F N F",
    "REWARD": "F A A F N F",
    "PENALTY": "F A A F N F",
    "INSPECTION_FINDING": "F F F F N F",
    "ESCALATION": "V V V V V V",
}
FIELD_WORK = {  # grid_leader, enterprise_chief
    "PATROL": "A A A F N A",
    "CLEANUP": "A A A F N A",
    "PLEDGE": "A A A F N F",
    "ASSESSMENT": "F F F F N F",
    "REWARD": "F F F F N F",
    "PENALTY": "F F F F N F",
    "INSPECTION_FINDING": "F F F F N F",
    "ESCALATION": "V V V V V V",
}
TRUTH: dict[str, dict[str, str]] = {
    "county_admin": JUDGING,
    "township_head": JUDGING,
    "village_secretary": JUDGING,
    "grid_leader": FIELD_WORK,
    "department_head": JUDGING,
    "inspector": {
        "PATROL": "F F F F N F",
        "CLEANUP": "F F F F N F",
        "PLEDGE": "F F F F N F",
        "ASSESSMENT": "F F F F N F",
        "REWARD": "F F F F N F",
        "PENALTY": "F F F F N F",
        "INSPECTION_FINDING": "A A A F N F",
        "ESCALATION": "V V V V V V",
    },
    "enterprise_chief": FIELD_WORK,
    # Reads along its basin and files nothing: the guard refuses `createRecord` as a whole.
    "basin_secretary": {kind: "X X X X X X" for kind in KINDS},
}
CELLS = {
    ("orgUnitId", "FORBIDDEN"): "F",
    ("orgUnitId", "NOT_FOUND"): "N",
    ("type", "VALIDATION"): "V",
    (None, "FORBIDDEN"): "X",  # a top-level FORBIDDEN: the role files no record anywhere
}


@dataclass
class Anchor:
    units: dict[str, OrgUnit] = field(default_factory=dict)
    engine: PolicyEngine = field(default_factory=PolicyEngine)

    def context_for(self, user: User) -> RequestContext:
        return RequestContext(
            viewer=Viewer(id=user.id, username=user.username, person_id=user.person_id),
            policy=self.engine,
            request_id="truth-table",
            signer=TokenSigner(TEST_SECRET, 3600),
        )


async def anchored(role: str) -> tuple[Anchor, User]:
    built = Anchor()
    shape = [
        ("root", OrgLevel.COUNTY, None),
        ("anchor", OrgLevel.TOWNSHIP, "root"),
        ("child", OrgLevel.VILLAGE, "anchor"),
        ("grandchild", OrgLevel.GRID, "child"),
        ("sibling", OrgLevel.TOWNSHIP, "root"),
        ("paired", OrgLevel.VILLAGE, "sibling"),
    ]
    for name, level, parent in shape:
        built.units[name] = await OrgUnit.place(
            code=name, name=name, level=level, parent=built.units[parent] if parent else None
        )
    await OrgLink.create(
        unit=built.units["anchor"], partner=built.units["paired"], kind=LinkKind.CO_BUILDING
    )
    user = await User.create(username=role, password_hash=PASSWORD_HASH)
    await CasbinRule.create(
        ptype="g", v0=f"user:{user.id}", v1=role, v2=f"{built.units['anchor'].path}*"
    )
    await built.engine.seed_if_empty()
    await built.engine.reload()
    return built, user


@pytest.mark.parametrize("role", ROLES)
async def test_the_truth_table_of_record_rights(db: TortoiseContext, role: str) -> None:
    built, user = await anchored(role)
    context = built.context_for

    table: dict[str, str] = {}
    for kind in KINDS:
        cells = []
        for position in POSITIONS:
            before = await written()
            result = await file(
                context(user),
                orgUnitId=to_global_id("OrgUnit", built.units[position].id),
                **typed_part(kind),
            )
            after = await written()
            if result["errors"] == [] and after[0] == before[0] + 1:
                cells.append("A")
            else:
                cell = CELLS.get(tuple(errors_of(result)[0]), str(errors_of(result)))
                cells.append(cell if after == before else f"{cell}(wrote!)")
        table[kind] = " ".join(cells)

    assert table == TRUTH[role]


def test_the_truth_table_covers_every_role_and_record_type() -> None:
    assert set(TRUTH) == set(ROLES)
    assert all(set(rows) == set(KINDS) for rows in TRUTH.values())


# -- corrections ----------------------------------------------------------------------------


async def add_account(
    tree: Tree, username: str, *grants: tuple[str, str], person_of: str | None = None
) -> None:
    """A further account of the tree, with (role, unit) grants, in force at once, and the
    person of unit ``person_of`` if given."""
    person = tree.people[person_of] if person_of else None
    user = await User.create(username=username, password_hash=PASSWORD_HASH, person=person)
    tree.users[username] = user
    for role, unit in grants:
        await CasbinRule.create(
            ptype="g", v0=f"user:{user.id}", v1=role, v2=f"{tree.units[unit].path}*"
        )
    await tree.engine.reload()


async def filed(tree: Tree, username: str, kind: str, unit: str, **extra: Any) -> str:
    """File a record that must be accepted; its global ID."""
    result = await file(
        tree.context_for(username), orgUnitId=tree.unit_gid(unit), **typed_part(kind), **extra
    )
    assert result["errors"] == [], result
    record_id: str = result["record"]["id"]
    return record_id


async def correct(tree: Tree, username: str, kind: str, unit: str, original: str) -> Any:
    return await file(
        tree.context_for(username),
        orgUnitId=tree.unit_gid(unit),
        correctsId=original,
        **typed_part(kind),
    )


# original's author, type and unit; who corrects it; the unit the correction is filed under
MAY_CORRECT = [
    pytest.param("zhaxi_head", "ASSESSMENT", "shilong", "zhaxi_head", "zhaxi", id="its author"),
    pytest.param(
        "zhaxi_head", "ASSESSMENT", "shilong", "county_admin", "weixin", id="above the authority"
    ),
    pytest.param(
        "zhaxi_head", "ASSESSMENT", "shilong", "zhaxi_deputy", "zhaxi", id="at the authority"
    ),
    pytest.param("grid_leader", "PATROL", "grid_a", "village_sec", "shilong", id="a patrol"),
    pytest.param(
        "inspector", "INSPECTION_FINDING", "shilong", "second_inspector", "weixin", id="a finding"
    ),
]


@pytest.mark.parametrize(("author", "kind", "unit", "corrector", "authority"), MAY_CORRECT)
async def test_a_correction_by_the_author_or_a_holder_at_the_authority_or_above(
    tree: Tree, author: str, kind: str, unit: str, corrector: str, authority: str
) -> None:
    await add_account(tree, "zhaxi_deputy", ("township_head", "zhaxi"))
    await add_account(tree, "second_inspector", ("inspector", "weixin"))
    original = await filed(tree, author, kind, unit)
    records, _ = await written()

    corrected = await correct(tree, corrector, kind, unit, original)

    assert corrected["errors"] == []
    assert corrected["record"]["corrects"] == {"id": original}
    assert corrected["record"]["authority"] == {"name": authority}
    assert (await written())[0] == records + 1


# original's author, type and unit; who tries to correct it; the refusal
MAY_NOT_CORRECT = [
    # below the authority: holds the right, but under the unit the original was filed under
    pytest.param(
        "zhaxi_head",
        "PATROL",
        "shilong",
        "village_sec",
        ("correctsId", "FORBIDDEN"),
        id="a holder below the authority",
    ),
    pytest.param(
        "zhaxi_head",
        "REWARD",
        "grid_a",
        "village_sec",
        ("correctsId", "FORBIDDEN"),
        id="a judge below the authority",
    ),
    # the subject: the unit judged, or anyone holding a grant there
    pytest.param(
        "county_admin",
        "REWARD",
        "shilong",
        "village_sec",
        ("orgUnitId", "FORBIDDEN"),
        id="the subject's own unit",
    ),
    pytest.param(
        "county_admin",
        "PENALTY",
        "shilong",
        "admin_and_secretary",
        ("orgUnitId", "FORBIDDEN"),
        id="the subject, though it holds the right above",
    ),
    pytest.param(
        "county_admin",
        "ASSESSMENT",
        "shilong",
        "admin_from_shilong",
        ("orgUnitId", "FORBIDDEN"),
        id="the subject, by its person",
    ),
    pytest.param(
        "county_admin",
        "PENALTY",
        "enterprise",
        "enterprise_chief",
        ("orgUnitId", "FORBIDDEN"),
        id="the penalised enterprise",
    ),
    # peers: a sibling's unit, or a unit only paired with one's own
    pytest.param(
        "county_admin",
        "REWARD",
        "zhaxi",
        "luobu_head",
        ("orgUnitId", "NOT_FOUND"),
        id="a peer township",
    ),
    pytest.param(
        "luobu_head",
        "ASSESSMENT",
        "luobu_village",
        "dept_head",
        ("orgUnitId", "FORBIDDEN"),
        id="a paired department judging",
    ),
    pytest.param(
        "luobu_head",
        "PATROL",
        "luobu_village",
        "dept_head",
        ("correctsId", "FORBIDDEN"),
        id="a paired department's patrol",
    ),
    # findings are the inspectors' own
    pytest.param(
        "inspector",
        "INSPECTION_FINDING",
        "shilong",
        "county_admin",
        ("orgUnitId", "FORBIDDEN"),
        id="a county admin",
    ),
]


@pytest.mark.parametrize(("author", "kind", "unit", "corrector", "refusal"), MAY_NOT_CORRECT)
async def test_a_correction_by_anyone_else_is_refused_and_writes_nothing(
    tree: Tree, author: str, kind: str, unit: str, corrector: str, refusal: tuple[str, str]
) -> None:
    await add_account(
        tree, "admin_and_secretary", ("county_admin", "weixin"), ("village_secretary", "shilong")
    )
    await add_account(tree, "admin_from_shilong", ("county_admin", "weixin"), person_of="shilong")
    original = await filed(tree, author, kind, unit)
    before = await written()

    refused = await correct(tree, corrector, kind, unit, original)

    assert errors_of(refused) == [refusal]
    assert refused["record"] is None
    assert await written() == before


async def test_nobody_files_a_judgement_about_themselves(tree: Tree) -> None:
    await add_account(
        tree, "admin_and_secretary", ("county_admin", "weixin"), ("village_secretary", "shilong")
    )
    before = await written()

    own_village = await file(
        tree.context_for("admin_and_secretary"),
        orgUnitId=tree.unit_gid("shilong"),
        **typed_part("REWARD"),
    )
    above_it = await file(
        tree.context_for("admin_and_secretary"),
        orgUnitId=tree.unit_gid("zhaxi"),
        **typed_part("REWARD"),
    )
    elsewhere = await file(
        tree.context_for("admin_and_secretary"),
        orgUnitId=tree.unit_gid("dahetan"),
        **typed_part("REWARD"),
    )

    assert errors_of(own_village) == [("orgUnitId", "FORBIDDEN")]
    assert errors_of(above_it) == [("orgUnitId", "FORBIDDEN")]  # shilong is part of zhaxi
    assert elsewhere["errors"] == []
    assert elsewhere["record"]["authority"] == {"name": "weixin"}
    assert (await written())[0] == before[0] + 1


async def test_a_record_without_a_recorded_authority_counts_as_the_top_levels(
    tree: Tree,
) -> None:
    """Records stored before authorities were recorded: their author and the holders at the
    top-level unit correct them, nobody else."""
    await add_account(tree, "zhaxi_deputy", ("township_head", "zhaxi"))
    original = await filed(tree, "zhaxi_head", "REWARD", "shilong")
    record_pk = pk_of(original, "Record")
    await AccountabilityRecord.filter(id=record_pk).update(authority_unit_id=None)
    before = await written()

    colleague = await correct(tree, "zhaxi_deputy", "REWARD", "shilong", original)
    after_refusal = await written()
    author = await correct(tree, "zhaxi_head", "REWARD", "shilong", original)
    county = await correct(tree, "county_admin", "REWARD", "shilong", original)

    assert errors_of(colleague) == [("correctsId", "FORBIDDEN")]
    assert after_refusal == before
    assert author["errors"] == []
    assert county["errors"] == []


async def test_a_person_of_the_unit_judged_is_its_subject(db: TortoiseContext) -> None:
    """Placed there by its person only (no grant there), a judge still may not judge it."""
    built, user = await anchored("township_head")
    person = await Person.create(name="of the grid", org_unit=built.units["grandchild"])
    await User.filter(id=user.id).update(person_id=person.id)
    user = await User.get(id=user.id)
    before = await written()

    village = await file(
        built.context_for(user),
        orgUnitId=to_global_id("OrgUnit", built.units["child"].id),
        **typed_part("PENALTY"),
    )

    assert errors_of(village) == [("orgUnitId", "FORBIDDEN")]  # its grid is part of it
    assert await written() == before
