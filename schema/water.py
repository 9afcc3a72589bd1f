"""Water bodies (read where the units they run through are) and the shared metric catalogue."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.types import Info

from models.indicator import Indicator as IndicatorModel
from models.org import WaterBody as WaterBodyModel
from resolvers.water import get_water_body, units_of_water_body
from schema.arguments import After, First
from schema.connection import Connection
from schema.context import ctx
from schema.enums import Aggregation, WaterKind
from schema.geojson import GeoJSON
from schema.node import Node, to_global_id
from schema.org import OrgUnit


@strawberry.type(description="A basin, river, river segment or lake that units are paired with.")
class WaterBody(Node):
    code: str = strawberry.field(description="A stable code, unique across the system.")
    name: str = strawberry.field(description="The water body's name, e.g. 倒流河罗布段.")
    kind: WaterKind = strawberry.field(description="Basin, river, segment or lake.")
    length_km: float | None = strawberry.field(description="Length along the bank, if known.")
    geometry: GeoJSON | None = strawberry.field(
        description="Where the water runs (a river's line, a lake's outline); a patrol's track "
        "is measured against it (`OFF_WATER`). Null where it is not known; illustrative in the "
        "demo."
    )
    _model: strawberry.Private[WaterBodyModel]

    @classmethod
    def of(cls, body: WaterBodyModel) -> WaterBody:
        return cls(
            id=to_global_id("WaterBody", body.id),
            code=body.code,
            name=body.name,
            kind=body.kind,
            length_km=float(body.length_km) if body.length_km is not None else None,
            geometry=cast("GeoJSON | None", body.geometry),
            _model=body,
        )

    @classmethod
    def maybe(cls, body: WaterBodyModel | None) -> WaterBody | None:
        return cls.of(body) if body is not None else None

    @strawberry.field(
        description="The basin or river this is part of; null at the top or when you may not "
        "read it."
    )
    async def parent(self, info: Info) -> WaterBody | None:
        return WaterBody.maybe(await get_water_body(ctx(info), self._model.parent_id))

    @strawberry.field(
        description="The units it runs through that you can see, in path order (a segment's "
        "villages, a river's townships)."
    )
    async def units(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[OrgUnit]:
        page = await units_of_water_body(ctx(info), self._model.id, first=first, after=after)
        return Connection.of(page, [OrgUnit.of(u) for u in page.rows])


@strawberry.type(description="A metric of the catalogue, e.g. fish fry released.")
class Indicator(Node):
    code: str = strawberry.field(description="The code `indicatorRollup` takes as `metric`.")
    name: str = strawberry.field(description="What it measures.")
    unit: str = strawberry.field(description="The measurement unit, e.g. `t` or `mu`.")
    aggregation: Aggregation = strawberry.field(description="How it rolls up over a subtree.")
    dimension_name: str = strawberry.field(
        description="What `byDimension` splits by (e.g. species); empty if nothing."
    )

    @classmethod
    def of(cls, row: IndicatorModel) -> Indicator:
        return cls(
            id=to_global_id("Indicator", row.id),
            code=row.code,
            name=row.name,
            unit=row.unit,
            aggregation=row.aggregation,
            dimension_name=row.dimension_name,
        )
