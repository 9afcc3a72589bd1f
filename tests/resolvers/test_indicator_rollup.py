"""Indicator rollups over the small tree: aggregations, dimensions, children, periods, scope."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from models.enums import Aggregation
from models.indicator import Indicator, Observation
from tests.fixtures import Tree, recount_counters
from tests.graph import codes, data, run

ROLLUP = """
query Rollup($unit: ID!, $metric: String!, $from: Date, $to: Date) {
  indicatorRollup(orgUnitId: $unit, metric: $metric, from: $from, to: $to) {
    metric unit aggregation total
    byDimension { key value }
    byChild { orgUnit { name } value }
  }
}
"""

# unit, period, dimension, value
FISH = [
    ("grid_a", date(2029, 5, 1), "Schizothorax grahami", "100"),
    ("grid_a", date(2029, 5, 1), "Acrossocheilus yunnanensis", "50"),
    ("shilong", date(2029, 6, 1), "Schizothorax grahami", "30"),
    ("dahetan", date(2030, 5, 1), "Acrossocheilus yunnanensis", "20"),
    ("luobu_village", date(2029, 5, 1), "Schizothorax grahami", "200"),
    ("weixin", date(2029, 7, 1), "Percocypris pingi", "5"),
    ("qixing", date(2029, 5, 1), "Schizothorax grahami", "1000"),
]
FOREST = [
    ("weixin", date(2019, 1, 1), "48.0"),
    ("weixin", date(2020, 1, 1), "50.1"),
    ("zhaxi", date(2018, 1, 1), "61.5"),
    ("zhaxi", date(2019, 1, 1), "62.5"),
    ("luobu", date(2019, 1, 1), "40.0"),
]
QUALITY = [("grid_a", "80"), ("grid_b", "90"), ("grid_c", "70"), ("shilong", "85")]


@pytest.fixture
async def indicators(tree: Tree) -> Tree:
    fish = await Indicator.create(
        code="fish_fry_released",
        name="Fish fry released",
        unit="fish",
        aggregation=Aggregation.SUM,
        dimension_name="species",
    )
    forest = await Indicator.create(
        code="forest_cover_pct", name="Forest cover", unit="%", aggregation=Aggregation.LATEST
    )
    quality = await Indicator.create(
        code="water_quality_score", name="Water quality", unit="pt", aggregation=Aggregation.AVERAGE
    )
    await Indicator.create(code="garbage_cleared_t", name="Garbage cleared", unit="t")
    rows = [
        Observation(
            indicator=fish,
            org_unit=tree.units[unit],
            period=period,
            dimension=dim,
            value=Decimal(v),
        )
        for unit, period, dim, v in FISH
    ]
    rows += [
        Observation(indicator=forest, org_unit=tree.units[u], period=p, value=Decimal(v))
        for u, p, v in FOREST
    ]
    rows += [
        Observation(
            indicator=quality, org_unit=tree.units[u], period=date(2029, 1, 1), value=Decimal(v)
        )
        for u, v in QUALITY
    ]
    await Observation.bulk_create(rows)
    await recount_counters()
    return tree


async def rollup(tree: Tree, username: str, unit: str, metric: str, **bounds: str) -> Any:
    found = await data(tree, username, ROLLUP, unit=tree.unit_gid(unit), metric=metric, **bounds)
    return found["indicatorRollup"]


def children(found: Any) -> dict[str, float | None]:
    """Every visible child's value: None where nothing was observed in its subtree."""
    return {c["orgUnit"]["name"]: c["value"] for c in found["byChild"]}


def observed(found: Any) -> float:
    return sum(v for v in children(found).values() if v is not None)


def dimensions(found: Any) -> dict[str, float]:
    return {d["key"]: d["value"] for d in found["byDimension"]}


async def test_a_sum_adds_the_subtree_by_dimension_and_by_child(indicators: Tree) -> None:
    found = await rollup(indicators, "county_admin", "weixin", "fish_fry_released")

    assert (found["metric"], found["unit"], found["aggregation"]) == (
        "fish_fry_released",
        "fish",
        "SUM",
    )
    assert found["total"] == 405
    assert dimensions(found) == {
        "Acrossocheilus yunnanensis": 70,
        "Percocypris pingi": 5,
        "Schizothorax grahami": 330,
    }
    assert children(found) == {"zhaxi": 200, "luobu": 200, "water_bureau": None}
    own = 5  # observed at the county itself
    assert found["total"] == own + observed(found)


async def test_a_rollup_lower_down_covers_only_that_subtree(indicators: Tree) -> None:
    found = await rollup(indicators, "county_admin", "zhaxi", "fish_fry_released")

    assert found["total"] == 200
    assert children(found) == {"shilong": 180, "dahetan": 20}


async def test_period_bounds_are_inclusive(indicators: Tree) -> None:
    summer = await rollup(
        indicators,
        "county_admin",
        "weixin",
        "fish_fry_released",
        **{"from": "2029-06-01", "to": "2029-07-01"},
    )
    later = await rollup(
        indicators, "county_admin", "weixin", "fish_fry_released", **{"from": "2029-06-02"}
    )
    earlier = await rollup(
        indicators, "county_admin", "weixin", "fish_fry_released", to="2029-05-31"
    )

    assert summer["total"] == 35
    assert children(summer) == {"zhaxi": 30, "luobu": None, "water_bureau": None}
    assert later["total"] == 25
    assert earlier["total"] == 350


async def test_latest_takes_the_most_recent_period(indicators: Tree) -> None:
    county = await rollup(indicators, "county_admin", "weixin", "forest_cover_pct")
    in_2019 = await rollup(
        indicators,
        "county_admin",
        "weixin",
        "forest_cover_pct",
        **{"from": "2019-01-01", "to": "2019-12-31"},
    )

    assert county["aggregation"] == "LATEST"
    assert county["total"] == 50.1
    assert children(county) == {"zhaxi": 62.5, "luobu": 40.0, "water_bureau": None}
    # Three units reported for 2019: the latest period's observations are averaged.
    assert in_2019["total"] == pytest.approx((48.0 + 62.5 + 40.0) / 3, abs=1e-4)


async def test_average_averages_every_observation(indicators: Tree) -> None:
    county = await rollup(indicators, "county_admin", "weixin", "water_quality_score")
    village = await rollup(indicators, "county_admin", "shilong", "water_quality_score")

    assert county["total"] == pytest.approx((80 + 90 + 70 + 85) / 4)
    assert children(county) == {
        "zhaxi": pytest.approx((80 + 90 + 85) / 3),
        "luobu": 70,
        "water_bureau": None,
    }
    assert village["total"] == pytest.approx((85 + 80) / 2)


async def test_a_metric_without_observations_rolls_up_to_null(indicators: Tree) -> None:
    """No data is not zero: the total and every child read null, not 0.0."""
    found = await rollup(indicators, "county_admin", "weixin", "garbage_cleared_t")

    assert (found["total"], found["byDimension"]) == (None, [])
    in_path_order = sorted(
        ("zhaxi", "luobu", "water_bureau"), key=lambda n: indicators.units[n].path
    )
    assert found["byChild"] == [
        {"orgUnit": {"name": name}, "value": None} for name in in_path_order
    ]


async def test_a_range_without_observations_rolls_up_to_null(indicators: Tree) -> None:
    """Forest cover before anyone reported it: null, where 0 would read as bare hills."""
    found = await rollup(
        indicators, "county_admin", "zhaxi", "forest_cover_pct", **{"to": "2017-12-31"}
    )
    lower = await rollup(indicators, "county_admin", "shilong", "forest_cover_pct")

    assert (found["total"], found["byDimension"]) == (None, [])
    assert children(found) == {"shilong": None, "dahetan": None}
    assert lower["total"] is None
    assert children(lower) == {"grid_a": None, "enterprise": None}


async def test_a_child_whose_values_add_up_to_zero_is_still_listed(indicators: Tree) -> None:
    fish = await Indicator.get(code="fish_fry_released")
    await Observation.create(
        indicator=fish,
        org_unit=indicators.units["water_bureau"],
        period=date(2029, 5, 1),
        value=Decimal(0),
    )
    await recount_counters()

    found = await rollup(indicators, "county_admin", "weixin", "fish_fry_released")

    assert children(found) == {"zhaxi": 200, "luobu": 200, "water_bureau": 0}


async def test_a_viewer_rolls_up_only_what_is_in_scope(indicators: Tree) -> None:
    zhaxi = await rollup(indicators, "zhaxi_head", "weixin", "fish_fry_released")
    luobu = await rollup(indicators, "luobu_head", "weixin", "fish_fry_released")
    grid = await rollup(indicators, "grid_leader", "weixin", "fish_fry_released")
    paired = await rollup(indicators, "dept_head", "weixin", "fish_fry_released")
    inspector = await rollup(indicators, "inspector", "weixin", "fish_fry_released")

    assert zhaxi["total"] == 200
    assert children(zhaxi) == {"zhaxi": 200}
    assert dimensions(zhaxi) == {"Acrossocheilus yunnanensis": 70, "Schizothorax grahami": 130}
    assert luobu["total"] == 200
    assert children(luobu) == {"luobu": 200}
    assert grid["total"] == 150
    # the department reaches the village it is paired with
    assert paired["total"] == 200
    assert inspector["total"] == 405


async def test_a_unit_outside_scope_has_no_rollup(indicators: Tree) -> None:
    sibling = await data(
        indicators,
        "zhaxi_head",
        ROLLUP,
        unit=indicators.unit_gid("luobu"),
        metric="fish_fry_released",
    )
    other_county = await data(
        indicators,
        "yzh_admin",
        ROLLUP,
        unit=indicators.unit_gid("weixin"),
        metric="fish_fry_released",
    )
    own_county = await rollup(indicators, "yzh_admin", "yangzonghai", "fish_fry_released")

    assert sibling == {"indicatorRollup": None}
    assert other_county == {"indicatorRollup": None}
    assert own_county["total"] == 1000


async def test_an_unknown_metric_is_not_found(indicators: Tree) -> None:
    result = await run(
        indicators, "county_admin", ROLLUP, unit=indicators.unit_gid("weixin"), metric="nope"
    )

    assert codes(result) == ["NOT_FOUND"]
    assert result.data == {"indicatorRollup": None}


async def test_an_anonymous_rollup_is_refused(indicators: Tree) -> None:
    result = await run(
        indicators, None, ROLLUP, unit=indicators.unit_gid("weixin"), metric="fish_fry_released"
    )

    assert codes(result) == ["UNAUTHENTICATED"]


VIEWERS = ["county_admin", "zhaxi_head", "luobu_head", "village_sec", "grid_leader", "inspector"]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_rollups_equal_their_visible_parts(tree: Tree, seed: int) -> None:
    """Random observations: every visible unit's total is what ``enforce`` lets through, and
    equals its own observations plus its visible children's totals."""
    rng = random.Random(seed)
    metric = await Indicator.create(code="released", name="Released", unit="fish")
    names = [n for n in tree.units if rng.random() < 0.8]
    observations = [
        (name, Decimal(rng.randint(0, 500)), date(2029, rng.randint(1, 12), 1))
        for name in names
        for _ in range(rng.randint(1, 3))
    ]
    await Observation.bulk_create(
        [
            Observation(indicator=metric, org_unit=tree.units[n], period=p, value=v)
            for n, v, p in observations
        ]
    )
    await recount_counters()

    for viewer in VIEWERS:
        subject = f"user:{tree.users[viewer].id}"

        def readable(name: str, subject: str = subject) -> bool:
            unit = tree.units[name]
            return tree.engine.enforce(subject, unit.path, unit.level.value, "indicator", "read")

        units = await data(tree, viewer, "{ orgUnits(first: 100) { edges { node { name } } } }")
        for edge in units["orgUnits"]["edges"]:
            name = edge["node"]["name"]
            path = tree.units[name].path
            found = await rollup(tree, viewer, name, "released")
            expected = sum(
                (
                    v
                    for n, v, _ in observations
                    if tree.units[n].path.startswith(path) and readable(n)
                ),
                Decimal(0),
            )
            own = sum((v for n, v, _ in observations if n == name and readable(n)), Decimal(0))
            readable_here = [n for n, _, _ in observations if tree.units[n].path.startswith(path)]
            if not any(readable(n) for n in readable_here):
                assert found["total"] is None, (viewer, name)
                continue
            assert Decimal(str(found["total"])) == expected, (viewer, name)
            assert Decimal(str(found["total"])) == own + sum(
                (Decimal(str(v)) for v in children(found).values() if v is not None), Decimal(0)
            ), (viewer, name)
