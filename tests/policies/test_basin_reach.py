"""A basin committee's reach follows its basin: the units its water bodies run through, at any
depth of the basin and in any county, as they are at the last policy reload."""

from __future__ import annotations

from models.enums import LinkKind, WaterKind
from models.org import OrgLink, WaterBody
from policies.rights import TASK_CREATE, TASK_READ
from policies.scope import PathRange, compile_scope
from tests.fixtures import Tree


def may(tree: Tree, resource: str, action: str, unit: str) -> bool:
    """``enforce`` for the water bureau's head (department_head at the bureau)."""
    found = tree.units[unit]
    subject = f"user:{tree.users['dept_head'].id}"
    return tree.engine.enforce(subject, found.path, found.level.value, resource, action)


async def test_the_committee_covers_what_its_basin_runs_through_as_it_changes(
    tree: Tree,
) -> None:
    # Given the water bureau made a basin committee: its basin has a river, the river a
    # segment through 罗布村 (of another township) and, across the county line, 七星村.
    basin = await WaterBody.create(code="b", name="basin", kind=WaterKind.BASIN)
    river = await WaterBody.create(code="r", name="river", kind=WaterKind.RIVER, parent=basin)
    segment = await WaterBody.create(code="s", name="segment", kind=WaterKind.SEGMENT, parent=river)
    await segment.units.add(tree.units["luobu_village"], tree.units["qixing"])
    await OrgLink.create(unit=tree.units["water_bureau"], water_body=basin, kind=LinkKind.BASIN)
    subject = f"user:{tree.users['dept_head'].id}"
    before = {u: may(tree, "task", "create", u) for u in ("luobu_village", "grid_c", "qixing")}

    await tree.engine.reload()

    # Then every right of the role reaches those units and their subtrees, nothing beside.
    for unit in ("luobu_village", "grid_c", "qixing", "water_bureau"):
        assert may(tree, "task", "create", unit), unit
    for unit in ("luobu", "zhaxi", "shilong", "tangchi", "weixin"):
        assert not may(tree, "task", "create", unit), unit
    assert before == {"luobu_village": False, "grid_c": False, "qixing": False}
    found = compile_scope(tree.engine, subject, TASK_CREATE.resource, TASK_CREATE.action)
    assert set(found.ranges) == {
        PathRange(tree.units[u].path, None) for u in ("water_bureau", "luobu_village", "qixing")
    }

    # When 罗布村 leaves the segment and 大河滩村 joins the river, after the reload the
    # committee follows.
    await segment.units.remove(tree.units["luobu_village"])
    await river.units.add(tree.units["dahetan"])
    await tree.engine.reload()

    assert not may(tree, "task", "create", "luobu_village")
    assert not may(tree, "task", "create", "grid_c")
    assert may(tree, "task", "read", "grid_c")  # its 支部联建 with 罗布村 still lends reading
    assert may(tree, "task", "create", "grid_b")  # below 大河滩村
    assert may(tree, "task", "create", "qixing")
    found = compile_scope(tree.engine, subject, TASK_CREATE.resource, TASK_CREATE.action)
    assert {r.prefix for r in found.ranges} == {
        tree.units[u].path for u in ("water_bureau", "dahetan", "qixing")
    }
    read = compile_scope(tree.engine, subject, TASK_READ.resource, TASK_READ.action)
    assert {r.prefix for r in read.ranges} == {
        tree.units[u].path for u in ("water_bureau", "dahetan", "qixing", "luobu_village")
    }


async def test_a_river_pairing_to_a_basin_still_lends_only_reads(tree: Tree) -> None:
    """Only a ``BASIN`` link makes a committee; a ``RIVER_PAIRING`` with the same basin reaches
    its own units for reading and field work, as before."""
    basin = await WaterBody.create(code="b", name="basin", kind=WaterKind.BASIN)
    await basin.units.add(tree.units["luobu_village"])
    await OrgLink.create(
        unit=tree.units["water_bureau"], water_body=basin, kind=LinkKind.RIVER_PAIRING
    )

    await tree.engine.reload()

    assert may(tree, "task", "read", "luobu_village")
    assert not may(tree, "task", "create", "luobu_village")
