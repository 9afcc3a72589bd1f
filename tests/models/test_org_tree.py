"""Level rules and materialized paths: placing and moving units."""

from __future__ import annotations

import pytest

from models.enums import OrgLevel
from models.org import HierarchyError, OrgUnit
from models.paths import upper_bound
from tests.fixtures import Tree


async def paths(tree: Tree, *names: str) -> dict[str, str]:
    rows = await OrgUnit.filter(id__in=[tree.units[n].id for n in names]).values("id", "path")
    by_id = {r["id"]: r["path"] for r in rows}
    return {n: by_id[tree.units[n].id] for n in names}


@pytest.mark.parametrize(
    ("level", "parent_name"),
    [
        (OrgLevel.COUNTY, "weixin"),
        (OrgLevel.TOWNSHIP, "zhaxi"),
        (OrgLevel.VILLAGE, "weixin"),
        (OrgLevel.GRID, "zhaxi"),
        (OrgLevel.DEPARTMENT, "zhaxi"),
        (OrgLevel.ENTERPRISE, "weixin"),
        (OrgLevel.ENTERPRISE, "grid_a"),
    ],
)
async def test_a_unit_may_not_sit_under_the_wrong_level(
    tree: Tree, level: OrgLevel, parent_name: str
) -> None:
    before = await OrgUnit.all().count()

    with pytest.raises(HierarchyError):
        await OrgUnit.place(code="x", name="x", level=level, parent=tree.units[parent_name])

    assert await OrgUnit.all().count() == before


@pytest.mark.parametrize("level", [OrgLevel.TOWNSHIP, OrgLevel.GRID, OrgLevel.DEPARTMENT])
async def test_only_a_county_is_a_root(db: object, level: OrgLevel) -> None:
    with pytest.raises(HierarchyError):
        await OrgUnit.place(code="x", name="x", level=level)


async def test_grids_nest_under_grids(tree: Tree) -> None:
    household = await OrgUnit.place(
        code="h", name="household grid", level=OrgLevel.GRID, parent=tree.units["grid_a"]
    )

    assert household.path == f"{tree.units['grid_a'].path}{household.id}/"
    assert household.depth == tree.units["grid_a"].depth + 1


async def test_paths_are_the_chain_of_ancestor_ids(tree: Tree) -> None:
    weixin, zhaxi, shilong, grid_a = (
        tree.units[n] for n in ("weixin", "zhaxi", "shilong", "grid_a")
    )

    assert grid_a.path == f"/{weixin.id}/{zhaxi.id}/{shilong.id}/{grid_a.id}/"
    assert (weixin.depth, zhaxi.depth, shilong.depth, grid_a.depth) == (0, 1, 2, 3)


async def test_moving_a_village_rewrites_its_whole_subtree(tree: Tree) -> None:
    shilong, luobu = tree.units["shilong"], tree.units["luobu"]
    untouched_before = await paths(tree, "dahetan", "grid_b", "luobu_village", "grid_c", "qixing")

    await shilong.move_to(luobu)

    moved = await paths(tree, "shilong", "grid_a", "enterprise")
    assert moved == {
        "shilong": f"{luobu.path}{shilong.id}/",
        "grid_a": f"{luobu.path}{shilong.id}/{tree.units['grid_a'].id}/",
        "enterprise": f"{luobu.path}{shilong.id}/{tree.units['enterprise'].id}/",
    }
    assert await paths(tree, *untouched_before) == untouched_before
    depths = await OrgUnit.filter(id__in=[shilong.id, tree.units["grid_a"].id]).values_list(
        "depth", flat=True
    )
    assert sorted(depths) == [2, 3]
    assert (await OrgUnit.get(id=shilong.id)).parent_id == luobu.id
    assert shilong.path == moved["shilong"]


async def test_moving_across_counties_keeps_the_level_rules(tree: Tree) -> None:
    await tree.units["luobu_village"].move_to(tree.units["tangchi"])

    moved = await paths(tree, "luobu_village", "grid_c")
    assert moved["grid_c"].startswith(tree.units["tangchi"].path)
    assert moved["luobu_village"].count("/") == 4


async def test_a_unit_cannot_move_under_its_own_descendant(tree: Tree) -> None:
    household = await OrgUnit.place(
        code="h", name="household grid", level=OrgLevel.GRID, parent=tree.units["grid_a"]
    )
    before = await paths(tree, "grid_a")

    with pytest.raises(HierarchyError):
        await tree.units["grid_a"].move_to(household)

    assert await paths(tree, "grid_a") == before


async def test_a_move_to_the_wrong_level_changes_nothing(tree: Tree) -> None:
    before = await paths(tree, "shilong", "grid_a")

    with pytest.raises(HierarchyError):
        await tree.units["shilong"].move_to(tree.units["weixin"])

    assert await paths(tree, "shilong", "grid_a") == before


async def test_a_sibling_with_a_longer_id_is_not_inside_the_subtree(tree: Tree) -> None:
    """``/1/2/`` must not capture ``/1/20/``: prefixes end with the separator."""
    county = tree.units["weixin"]
    townships = [
        await OrgUnit.place(code=f"t{i}", name=f"t{i}", level=OrgLevel.TOWNSHIP, parent=county)
        for i in range(12)
    ]
    first = townships[0]
    inside = await OrgUnit.filter(path__gte=first.path, path__lt=upper_bound(first.path)).count()

    assert inside == 1
