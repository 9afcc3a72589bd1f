"""What a pairing passes on: reading, and filing patrols and clean-ups at the partner; never
issuing, verifying, editing or granting there. An enterprise's responsibility segment passes
on nothing at all.

The tree's water bureau co-builds with luobu_village (and so reaches grid_c beneath it). The
truth table holds whether or not the shipped role policy names ``record.<type>`` resources:
the rules it needs are added here.
"""

from __future__ import annotations

import pytest

from models.enums import LinkKind, WaterKind
from models.org import OrgLink, WaterBody
from models.policy import CasbinRule
from policies.engine import through_pairings
from policies.scope import compile_scope
from tests.fixtures import Tree

# The department head's rights that the test adds to the shipped policy.
EXTRA_RULES = (
    ("department_head", "*", "record.patrol", "create"),
    ("department_head", "*", "record.cleanup", "create"),
    ("department_head", "*", "record.reward", "create"),
)
# (resource, action): held at a paired unit? (All of them are held at the department itself.)
AT_THE_PARTNER = {
    ("org", "read"): True,
    ("person", "read"): True,
    ("task", "read"): True,
    ("record", "read"): True,
    ("indicator", "read"): True,
    ("record.patrol", "create"): True,
    ("record.cleanup", "create"): True,
    ("record.reward", "create"): False,
    ("task", "create"): False,
    ("task", "update"): False,
    ("task", "assign"): False,
    ("task", "transition"): False,
    ("task", "verify"): False,
}


async def with_extra_rules(tree: Tree) -> None:
    for role, level, resource, action in EXTRA_RULES:
        await CasbinRule.get_or_create(ptype="p", v0=role, v1=level, v2=resource, v3=action)
    await tree.engine.reload()


@pytest.mark.parametrize("unit", ["luobu_village", "grid_c"])
async def test_a_pairing_passes_on_reading_and_patrols_but_not_issuing_or_verifying(
    tree: Tree, unit: str
) -> None:
    await with_extra_rules(tree)
    subject = f"user:{tree.users['dept_head'].id}"
    partner = tree.units[unit]

    decided = {
        (resource, action): tree.engine.enforce(
            subject, partner.path, partner.level.value, resource, action
        )
        for resource, action in AT_THE_PARTNER
    }
    scoped = {
        (resource, action): compile_scope(tree.engine, subject, resource, action).allows(
            partner.path, partner.level.value
        )
        for resource, action in AT_THE_PARTNER
    }

    assert decided == AT_THE_PARTNER
    assert scoped == AT_THE_PARTNER
    assert {pair: through_pairings(*pair) for pair in AT_THE_PARTNER} == AT_THE_PARTNER


async def test_the_department_holds_every_one_of_those_rights_at_its_own_unit(
    tree: Tree,
) -> None:
    await with_extra_rules(tree)
    subject = f"user:{tree.users['dept_head'].id}"
    own = tree.units["water_bureau"]

    decided = {
        pair: tree.engine.enforce(subject, own.path, own.level.value, *pair)
        for pair in AT_THE_PARTNER
    }

    assert decided == dict.fromkeys(AT_THE_PARTNER, True)


async def test_a_river_pairing_reaches_the_villages_on_the_river_for_reading_only(
    tree: Tree,
) -> None:
    """The water bureau is paired with a segment through dahetan, a village it does not
    co-build with: it reads dahetan's tasks, and may neither issue nor verify them."""
    segment = await WaterBody.create(code="seg", name="segment", kind=WaterKind.SEGMENT)
    await segment.units.add(tree.units["dahetan"])
    await OrgLink.create(
        unit=tree.units["water_bureau"], water_body=segment, kind=LinkKind.RIVER_PAIRING
    )
    await tree.engine.reload()
    subject = f"user:{tree.users['dept_head'].id}"
    dahetan, grid_b = tree.units["dahetan"], tree.units["grid_b"]

    def decide(unit_name: str, action: str) -> bool:
        unit = tree.units[unit_name]
        return tree.engine.enforce(subject, unit.path, unit.level.value, "task", action)

    assert [decide(u, "read") for u in ("dahetan", "grid_b")] == [True, True]
    assert [decide(u, "create") for u in ("dahetan", "grid_b")] == [False, False]
    assert [decide(u, "verify") for u in ("dahetan", "grid_b")] == [False, False]
    assert compile_scope(tree.engine, subject, "task", "read").allows(dahetan.path, "VILLAGE")
    assert not compile_scope(tree.engine, subject, "task", "create").allows(grid_b.path, "GRID")


async def test_an_enterprise_responsibility_segment_widens_nothing(tree: Tree) -> None:
    """The enterprise's segment runs through its own village and another: the enterprise
    chief reads its enterprise alone, not the villages the water runs through."""
    segment = await WaterBody.create(code="seg", name="segment", kind=WaterKind.SEGMENT)
    await segment.units.add(tree.units["shilong"], tree.units["dahetan"])
    await OrgLink.create(
        unit=tree.units["enterprise"], water_body=segment, kind=LinkKind.RESPONSIBILITY
    )
    await tree.engine.reload()
    subject = f"user:{tree.users['enterprise_chief'].id}"

    readable = {
        name
        for name, unit in tree.units.items()
        if tree.engine.enforce(subject, unit.path, unit.level.value, "task", "read")
    }

    assert readable == {"enterprise"}
    assert tree.engine.reach(tree.units["enterprise"].path) == (tree.units["enterprise"].path,)
