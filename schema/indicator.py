"""Outcome figures rolled up over a subtree: released fish fry, garbage cleared, forest cover…"""

from __future__ import annotations

from decimal import Decimal

import strawberry

from resolvers.indicators import Rollup
from schema.enums import Aggregation
from schema.org import OrgUnit
from schema.water import Indicator


@strawberry.type(description="One dimension's share of a rollup, e.g. one fish species.")
class DimensionValue:
    key: str = strawberry.field(description="The dimension's value, e.g. a species.")
    value: float = strawberry.field(description="Its share of the rollup.")


@strawberry.type(description="One child unit's share of a rollup.")
class ChildValue:
    org_unit: OrgUnit = strawberry.field(description="A child unit.")
    value: float | None = strawberry.field(
        description="Its share of the rollup; null when nothing was observed in its subtree in "
        "the range."
    )


@strawberry.type(
    description="A metric over a unit's subtree, within your scope: summed, averaged or the "
    "latest period's value, as the metric's catalogue entry says."
)
class IndicatorRollup:
    metric: str = strawberry.field(description="The indicator's code, e.g. fish_fry_released.")
    indicator: Indicator = strawberry.field(
        description="The indicator rolled up, as `indicators` lists it (its code is `metric`)."
    )
    name: str = strawberry.field(description="The indicator's name.")
    unit: str = strawberry.field(description="The measurement unit, e.g. `t` or `mu`.")
    aggregation: Aggregation = strawberry.field(
        description="How it rolled up: the indicator's own aggregation."
    )
    total: float | None = strawberry.field(
        description="The rolled-up value over the subtree; null when nothing was observed in "
        "the range (no data is not zero)."
    )
    by_dimension: list[DimensionValue] = strawberry.field(
        description="Per dimension value (e.g. per fish species), where the metric has one."
    )
    by_child: list[ChildValue] = strawberry.field(
        description="Each child unit you can see, in path order, with null for a child without "
        "observations in the range."
    )

    @classmethod
    def of(cls, rollup: Rollup) -> IndicatorRollup:
        return cls(
            metric=rollup.indicator.code,
            name=rollup.indicator.name,
            unit=rollup.indicator.unit,
            aggregation=rollup.indicator.aggregation,
            indicator=Indicator.of(rollup.indicator),
            total=_number(rollup.total),
            by_dimension=[DimensionValue(key=k, value=float(v)) for k, v in rollup.by_dimension],
            by_child=[
                ChildValue(org_unit=OrgUnit.of(c), value=_number(v)) for c, v in rollup.by_child
            ],
        )


def _number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None
