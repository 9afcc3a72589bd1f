"""Water bodies (read where the units they run through are read) and the metric catalogue, a
shared object for every logged-in reader of indicators."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from strawberry.types import ExecutionResult

from models.enums import Aggregation, RecordType, WaterKind
from models.indicator import Indicator
from models.org import WaterBody
from models.record import AccountabilityRecord
from schema.build import schema
from schema.node import to_global_id
from tests.fixtures import Tree


async def run(tree: Tree, username: str | None, query: str, **variables: object) -> ExecutionResult:
    result = await schema.execute(query, variables, context_value=tree.context_for(username))
    return result


async def test_a_patrol_names_its_segment_and_the_segment_its_river(tree: Tree) -> None:
    river = await WaterBody.create(code="chishui", name="赤水河", kind=WaterKind.RIVER)
    segment = await WaterBody.create(
        code="seg",
        name="倒流河罗布段",
        kind=WaterKind.SEGMENT,
        parent=river,
        length_km=Decimal("12.5"),
    )
    await river.units.add(tree.units["zhaxi"])
    await segment.units.add(tree.units["shilong"])
    record = await AccountabilityRecord.create(
        type=RecordType.PATROL,
        org_unit=tree.units["grid_a"],
        occurred_at=datetime.now(UTC),
        water_body=segment,
    )
    query = (
        "query($id: ID!) { node(id: $id) { ... on Record { waterBody { name kind lengthKm"
        " parent { name kind parent { name } } } } } }"
    )

    result = await run(tree, "grid_leader", query, id=to_global_id("Record", record.id))

    assert result.errors is None
    assert result.data == {
        "node": {
            "waterBody": {
                "name": "倒流河罗布段",
                "kind": "SEGMENT",
                "lengthKm": 12.5,
                "parent": {"name": "赤水河", "kind": "RIVER", "parent": None},
            }
        }
    }


async def test_water_bodies_by_node_need_a_logged_in_reader(tree: Tree) -> None:
    river = await WaterBody.create(code="yz", name="阳宗大河", kind=WaterKind.RIVER)
    await river.units.add(tree.units["shilong"])  # the enterprise's village
    query = "query($id: ID!) { node(id: $id) { ... on WaterBody { name } } }"
    gid = to_global_id("WaterBody", river.id)

    seen = await run(tree, "enterprise_chief", query, id=gid)
    anonymous = await run(tree, None, query, id=gid)

    assert seen.data == {"node": {"name": "阳宗大河"}}
    assert (anonymous.data or {}).get("node") is None
    assert anonymous.errors is not None
    assert anonymous.errors[0].extensions == {"code": "UNAUTHENTICATED"}


async def test_the_indicator_catalogue(tree: Tree) -> None:
    await Indicator.create(
        code="fish_fry_released", name="鱼苗投放", unit="尾", dimension_name="species"
    )
    await Indicator.create(
        code="forest_cover_pct", name="森林覆盖率", unit="%", aggregation=Aggregation.LATEST
    )
    query = "{ indicators { id code unit aggregation dimensionName } }"

    listed = await run(tree, "inspector", query)
    anonymous = await run(tree, None, "{ indicators { code } }")

    assert listed.data is not None
    assert [i["code"] for i in listed.data["indicators"]] == [
        "fish_fry_released",
        "forest_cover_pct",
    ]
    first = listed.data["indicators"][0]
    assert first["aggregation"] == "SUM" and first["dimensionName"] == "species"
    by_node = await run(
        tree,
        "inspector",
        "query($id: ID!) { node(id: $id) { ... on Indicator { code } } }",
        id=first["id"],
    )
    assert by_node.data == {"node": {"code": "fish_fry_released"}}
    assert anonymous.errors is not None
    assert anonymous.errors[0].extensions == {"code": "UNAUTHENTICATED"}
