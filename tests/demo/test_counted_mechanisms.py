"""The counted mechanisms of Weixin's programme, read over HTTP on the demo as a client would,
equal the figures the county published (``../shared/seeds/000_013f2fb319da0daf.txt``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from models.org import OrgUnit
from schema.node import to_global_id
from tests.conftest import demo_database
from tests.http.client import GraphQLClient, running_app

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROLLUP = """
query($unit: ID!, $metric: String!) {
  indicatorRollup(orgUnitId: $unit, metric: $metric) { total unit }
}
"""
LINKS = """
query($unit: ID!) {
  orgUnit(id: $unit) { links { kind note person { name title } partner { code } } }
}
"""

# seeds/000_013f2fb319da0daf.txt, line 25: 设置党员责任区3256个、党员示范岗625个，组建党员
# 先锋队434支，签订“保护赤水河·我来当先锋”承诺书7653余份 — counted over the whole county.
COUNTY_FIGURES = {
    "responsibility_zones": (3256, "个"),
    "demonstration_posts": (625, "个"),
    "vanguard_teams": (434, "支"),
    "pledges_signed": (7653, "份"),
}
# Line 37: 1个责任单位+1个公益岗位（河道保洁员）+10户农户“1110”管护机制 — per care grid.
CARE_GRID = {
    "responsible_units_1110": (1, "个"),
    "cleaner_posts_1110": (1, "个"),
    "households_1110": (10, "户"),
}


@dataclass
class Demo:
    client: GraphQLClient
    tokens: dict[str, str]
    units: dict[str, str]  # code → global id

    async def data(self, account: str, query: str, **variables: Any) -> Any:
        body = await self.client.run(query, variables, self.tokens[account])
        assert "errors" not in body, body
        return body["data"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[Demo]:
    async with demo_database():
        units = {u.code: str(to_global_id("OrgUnit", u.id)) for u in await OrgUnit.all()}
        async with running_app() as client:
            names = ("county_admin", "inspector", "village_sec", "zhaxi_head")
            tokens = {name: await client.login(name) for name in names}
            yield Demo(client, tokens, units)


@pytest.mark.parametrize("metric", sorted(COUNTY_FIGURES))
async def test_the_county_rolls_up_to_the_published_count(demo: Demo, metric: str) -> None:
    total, unit = COUNTY_FIGURES[metric]
    for account in ("county_admin", "inspector"):
        found = await demo.data(account, ROLLUP, unit=demo.units["530629"], metric=metric)

        assert found == {"indicatorRollup": {"total": total, "unit": unit}}, account


@pytest.mark.parametrize("grid", ["shilong_g1_h1", "shilong_g1_h2"])
async def test_each_1110_care_grid_has_1_unit_1_post_and_10_households(
    demo: Demo, grid: str
) -> None:
    for metric, (total, unit) in CARE_GRID.items():
        found = await demo.data("village_sec", ROLLUP, unit=demo.units[grid], metric=metric)

        assert found == {"indicatorRollup": {"total": total, "unit": unit}}, metric


async def test_the_group_holding_two_care_grids_counts_20_households(demo: Demo) -> None:
    found = await demo.data(
        "village_sec", ROLLUP, unit=demo.units["shilong_g1"], metric="households_1110"
    )

    assert found == {"indicatorRollup": {"total": 20, "unit": "户"}}


async def test_key_projects_are_held_by_county_leaders(demo: Demo) -> None:
    """Line 29: 建立了重点项目县级领导“三挂三包”机制."""
    zhaxi = await demo.data("county_admin", LINKS, unit=demo.units["zhaxi"])
    committee = await demo.data("county_admin", LINKS, unit=demo.units["basin_committee"])

    assert zhaxi == {
        "orgUnit": {
            "links": [
                {
                    "kind": "KEY_PROJECT",
                    "note": "扎西污水处理厂提标改造",
                    "person": {"name": "王建华", "title": "县委副书记、县河长制办公室主任"},
                    "partner": None,
                }
            ]
        }
    }
    projects = [link for link in committee["orgUnit"]["links"] if link["kind"] == "KEY_PROJECT"]
    assert projects == [
        {
            "kind": "KEY_PROJECT",
            "note": "编制《赤水河流域（威信段）保护治理与绿色高质量发展规划》",
            "person": {"name": "陈立新", "title": "县委书记、县级总河长"},
            "partner": None,
        }
    ]


async def test_a_township_reads_its_key_project_but_not_the_county_leaders_person(
    demo: Demo,
) -> None:
    """The link is the township's; the leader is a person of the county, which a township
    head does not read (people are read where ``person:read`` is held)."""
    zhaxi = await demo.data("zhaxi_head", LINKS, unit=demo.units["zhaxi"])

    assert zhaxi == {
        "orgUnit": {
            "links": [
                {
                    "kind": "KEY_PROJECT",
                    "note": "扎西污水处理厂提标改造",
                    "person": None,
                    "partner": None,
                }
            ]
        }
    }
