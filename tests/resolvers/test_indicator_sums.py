"""Indicator sums per subtree: kept with each observation stored, equal to a recount, moved
with a unit, and read by rollups with the same answers as the observations give.

The oracle is the rollup over the observations themselves (``_parts_from_observations``, the
path a viewer who sees only part of a subtree still takes). Values are multiples of 0.25: on
SQLite that path adds decimals as floating point, which is exact for them, so the two must
agree to the last digit on both databases.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

import resolvers.indicators
from models.enums import Aggregation
from models.indicator import Indicator, IndicatorSum, Observation
from resolvers.indicator_sums import add_observations, drift
from tests.fixtures import Tree
from tests.graph import data

ROLLUP = """
query Rollup($unit: ID!, $metric: String!, $from: Date, $to: Date) {
  indicatorRollup(orgUnitId: $unit, metric: $metric, from: $from, to: $to) {
    metric unit aggregation total
    byDimension { key value }
    byChild { orgUnit { name } value }
  }
}
"""
PERIODS = [date(2029, month, 1) for month in (1, 4, 7, 10)]
BOUNDS: list[dict[str, str]] = [
    {},
    {"from": "2029-04-01"},
    {"to": "2029-07-01"},
    {"from": "2029-04-01", "to": "2029-04-01"},
]


async def observe(tree: Tree, rng: random.Random, count: int) -> list[Indicator]:
    """Random observations of three metrics, stored as the demo loader stores them."""
    metrics = [
        await Indicator.create(
            code=f"m_{how.value.lower()}", name=how.value, unit="t", aggregation=how
        )
        for how in (Aggregation.SUM, Aggregation.AVERAGE, Aggregation.LATEST)
    ]
    names = list(tree.units)
    observed = []
    for _ in range(count):
        unit = tree.units[rng.choice(names)]
        observation = Observation(
            indicator_id=rng.choice(metrics).id,
            org_unit_id=unit.id,
            period=rng.choice(PERIODS),
            dimension=rng.choice(["", "", "carp", "trout"]),
            value=Decimal(rng.randint(0, 40_000)) / 4,
        )
        observed.append((observation, unit.path))
    async with in_transaction() as conn:
        await Observation.bulk_create([o for o, _ in observed], using_db=conn)
        await add_observations(conn, observed)
    return metrics


async def rollups(tree: Tree, metrics: list[Indicator]) -> list[Any]:
    answers = []
    for unit in ("weixin", "zhaxi", "shilong", "grid_a", "yangzonghai"):
        for metric in metrics:
            for bounds in BOUNDS:
                found = await data(
                    tree,
                    "county_admin" if unit != "yangzonghai" else "yzh_admin",
                    ROLLUP,
                    unit=tree.unit_gid(unit),
                    metric=metric.code,
                    **bounds,
                )
                answers.append((unit, metric.code, bounds, found["indicatorRollup"]))
    return answers


async def scanned_rollups(
    tree: Tree, metrics: list[Indicator], monkeypatch: pytest.MonkeyPatch
) -> list[Any]:
    """The same rollups, added up from the observations."""
    with monkeypatch.context() as patched:
        patched.setattr(resolvers.indicators, "sees_whole_subtree", lambda context, unit: False)
        return await rollups(tree, metrics)


@pytest.mark.parametrize("seed", [1, 2])
async def test_rollups_from_the_sums_equal_rollups_from_the_observations(
    tree: Tree, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = await observe(tree, random.Random(seed), 120)

    assert await drift(connections.get("default")) == []
    assert await rollups(tree, metrics) == await scanned_rollups(tree, metrics, monkeypatch)


async def test_each_observation_adds_to_its_unit_and_every_ancestor(tree: Tree) -> None:
    metric = await Indicator.create(code="fish", name="Fish", unit="fish")
    grid = tree.units["grid_a"]
    observed = [
        (
            Observation(
                indicator_id=metric.id,
                org_unit_id=grid.id,
                period=PERIODS[0],
                dimension="carp",
                value=Decimal("1.2345"),
            ),
            grid.path,
        )
    ] * 2
    async with in_transaction() as conn:
        await Observation.bulk_create([o for o, _ in observed], using_db=conn)
        await add_observations(conn, observed)

    rows = await IndicatorSum.filter(indicator_id=metric.id).order_by("org_unit_id")
    expected_units = [tree.units[n].id for n in ("weixin", "zhaxi", "shilong", "grid_a")]
    assert [(r.org_unit_id, r.total_e4, r.n, r.dimension) for r in rows] == [
        (unit, 24690, 2, "carp") for unit in sorted(expected_units)
    ]


async def test_a_unit_that_moves_takes_its_sums_along(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = await observe(tree, random.Random(7), 80)
    shilong = tree.units["shilong"]

    await shilong.move_to(tree.units["luobu"])

    assert await drift(connections.get("default")) == []
    assert await rollups(tree, metrics) == await scanned_rollups(tree, metrics, monkeypatch)


async def test_a_viewer_who_sees_part_of_the_subtree_is_answered_from_the_observations(
    tree: Tree,
) -> None:
    """The department head reads its paired village's indicators, not the county's: the
    county's subtree sums would tell it about units it cannot read."""
    metrics = await observe(tree, random.Random(3), 60)
    dept = tree.context_for("dept_head")

    assert not resolvers.indicators.sees_whole_subtree(dept, tree.units["weixin"])
    assert resolvers.indicators.sees_whole_subtree(
        tree.context_for("county_admin"), tree.units["weixin"]
    )
    found = await data(
        tree, "dept_head", ROLLUP, unit=tree.unit_gid("weixin"), metric=metrics[0].code
    )
    subject = f"user:{tree.users['dept_head'].id}"
    visible = [
        o
        for o in await Observation.filter(indicator_id=metrics[0].id).prefetch_related("org_unit")
        if tree.engine.enforce(
            subject, o.org_unit.path, o.org_unit.level.value, "indicator", "read"
        )
    ]
    assert Decimal(str(found["indicatorRollup"]["total"])) == sum(
        (o.value for o in visible), Decimal(0)
    )
