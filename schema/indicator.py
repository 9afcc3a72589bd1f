"""Outcome figures rolled up over a subtree: released fish fry, garbage cleared, forest cover…"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from models.indicator import Indicator as IndicatorModel
from models.indicator import Observation as ObservationModel
from models.org import OrgUnit as OrgUnitModel
from resolvers.indicators import Rollup
from schema.enums import Aggregation
from schema.errors import UserError
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


@strawberry.type(description="One reported value of a metric at a unit for a period.")
class Observation:
    indicator: Indicator = strawberry.field(description="The metric observed.")
    org_unit: OrgUnit = strawberry.field(description="The unit it was observed at.")
    period_start: date = strawberry.field(description="The period's first day.")
    period_end: date | None = strawberry.field(
        description="The period's last day; null for figures stored before periods had ends."
    )
    value: float = strawberry.field(description="The value, in the indicator's `unit`.")
    dimension: str = strawberry.field(
        description="The dimension's value (e.g. a species); empty for a metric without one."
    )

    @classmethod
    def of(
        cls, row: ObservationModel, indicator: IndicatorModel, unit: OrgUnitModel
    ) -> Observation:
        return cls(
            indicator=Indicator.of(indicator),
            org_unit=OrgUnit.of(unit),
            period_start=row.period,
            period_end=row.period_end,
            value=float(row.value),
            dimension=row.dimension,
        )


@strawberry.input(description="A figure a unit reports for a period.")
class ReportObservationInput:
    metric: str = strawberry.field(
        description="The indicator's code (`Indicator.code`), e.g. `fish_fry_released`."
    )
    org_unit_id: strawberry.ID = strawberry.field(description="The unit the figure is for.")
    period_start: date = strawberry.field(description="The period's first day.")
    period_end: date = strawberry.field(description="The period's last day (not before it).")
    value: float = strawberry.field(
        description="The value in the indicator's `unit`: from 0, at most 100 for a percentage, "
        "kept to four decimal places."
    )
    dimension: str = strawberry.field(
        default="",
        description="The dimension's value (e.g. a species): required exactly when the "
        "indicator has a `dimensionName`.",
    )


@strawberry.type(description="The observation stored, or why not.")
class ReportObservationPayload:
    observation: Observation | None = strawberry.field(
        description="The observation stored; null when refused."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")
