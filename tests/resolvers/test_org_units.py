"""``create_units``: org units with their audit events, parents first, all or nothing."""

from __future__ import annotations

import pytest

from core.errors import DomainError
from models.audit import AuditEvent
from models.enums import OrgLevel
from models.org import OrgUnit
from resolvers.audit_queries import verify_every_log
from resolvers.org_units import NewUnit, create_units
from tests.fixtures import Tree


async def snapshot() -> tuple[list[tuple[str, str]], int]:
    units = await OrgUnit.all().order_by("id").values_list("code", "path")
    return units, await AuditEvent.all().count()


async def refusal(tree: Tree, units: list[NewUnit]) -> tuple[str, str, str | None]:
    with pytest.raises(DomainError) as raised:
        await create_units(tree.context_for(None), units)
    return raised.value.code.value, raised.value.message, raised.value.field


async def test_units_are_created_under_new_and_existing_parents_each_with_its_event(
    tree: Tree,
) -> None:
    zhaxi = tree.units["zhaxi"]
    units = [
        NewUnit("xinzhai", "新寨村", OrgLevel.VILLAGE, zhaxi.code),
        NewUnit("xinzhai-g1", "新寨村第一网格", OrgLevel.GRID, "xinzhai"),
        NewUnit("zhenxiong", "镇雄县", OrgLevel.COUNTY),
    ]

    created = await create_units(tree.context_for(None), units)

    village = await OrgUnit.get(code="xinzhai")
    grid = await OrgUnit.get(code="xinzhai-g1")
    county = await OrgUnit.get(code="zhenxiong")
    assert [c.unit.code for c in created] == ["xinzhai", "xinzhai-g1", "zhenxiong"]
    assert (village.parent_id, village.path) == (zhaxi.id, f"{zhaxi.path}{village.id}/")
    assert (grid.parent_id, grid.depth) == (village.id, 3)
    assert (county.parent_id, county.path, county.depth) == (None, f"/{county.id}/", 0)
    events = await AuditEvent.filter(action="org_unit.create").order_by("seq")
    assert [e.seq for e in events] == [c.audit_seq for c in created]
    assert [(e.entity_id, e.org_path, e.actor_id, e.request_id) for e in events] == [
        (str(village.id), village.path, None, "test-request"),
        (str(grid.id), grid.path, None, "test-request"),
        (str(county.id), county.path, None, "test-request"),
    ]
    assert events[1].after == {
        "code": "xinzhai-g1",
        "name": "新寨村第一网格",
        "level": "GRID",
        "parent_code": "xinzhai",
        "path": grid.path,
    }
    assert events[2].after is not None and events[2].after["parent_code"] is None
    assert (await verify_every_log(None)).ok is True


async def test_an_unknown_parent_creates_nothing(tree: Tree) -> None:
    before = await snapshot()
    units = [
        NewUnit("xinzhai", "新寨村", OrgLevel.VILLAGE, tree.units["zhaxi"].code),
        NewUnit("lost-g1", "网格", OrgLevel.GRID, "nowhere"),
    ]

    refused = await refusal(tree, units)

    assert refused == ("NOT_FOUND", "No org unit has the parent code 'nowhere'.", "parentCode")
    assert await snapshot() == before


async def test_a_parent_that_comes_after_its_child_creates_nothing(tree: Tree) -> None:
    before = await snapshot()
    units = [
        NewUnit("xinzhai-g1", "网格", OrgLevel.GRID, "xinzhai"),
        NewUnit("xinzhai", "新寨村", OrgLevel.VILLAGE, tree.units["zhaxi"].code),
    ]

    refused = await refusal(tree, units)

    assert refused == (
        "NOT_FOUND",
        "The parent 'xinzhai' of 'xinzhai-g1' comes after it.",
        "parentCode",
    )
    assert await snapshot() == before


async def test_a_code_already_taken_creates_nothing(tree: Tree) -> None:
    before = await snapshot()
    taken = tree.units["shilong"].code
    units = [
        NewUnit("xinzhai", "新寨村", OrgLevel.VILLAGE, tree.units["zhaxi"].code),
        NewUnit(taken, "again", OrgLevel.VILLAGE, tree.units["zhaxi"].code),
    ]

    refused = await refusal(tree, units)

    assert refused == ("CONFLICT", f"An org unit already has the code {taken!r}.", "code")
    assert await snapshot() == before


async def test_a_code_given_twice_creates_nothing(tree: Tree) -> None:
    before = await snapshot()
    zhaxi = tree.units["zhaxi"].code
    units = [
        NewUnit("xinzhai", "新寨村", OrgLevel.VILLAGE, zhaxi),
        NewUnit("xinzhai", "新寨村", OrgLevel.VILLAGE, zhaxi),
    ]

    refused = await refusal(tree, units)

    assert refused == ("VALIDATION", "The code 'xinzhai' is given twice.", "code")
    assert await snapshot() == before


async def test_a_level_that_may_not_sit_under_its_parent_creates_nothing(tree: Tree) -> None:
    before = await snapshot()
    units = [
        NewUnit("xinzhai", "新寨村", OrgLevel.VILLAGE, tree.units["zhaxi"].code),
        NewUnit("stray-grid", "网格", OrgLevel.GRID, tree.units["weixin"].code),
    ]

    refused = await refusal(tree, units)

    assert refused == ("VALIDATION", "A GRID unit cannot sit under COUNTY.", "level")
    assert await snapshot() == before
