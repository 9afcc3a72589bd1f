"""Indicator rollups over a subtree, scoped like every list.

SUM adds every observation; AVERAGE averages them; LATEST takes the most recent period and
averages that period's observations (e.g. forest cover reported for the whole county).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from models.enums import Aggregation
from models.indicator import Indicator, Observation
from models.org import OrgUnit
from models.paths import upper_bound
from policies.scope import scope, scope_for
from resolvers.context import RequestContext
from resolvers.errors import DomainError, ErrorCode


@dataclass(frozen=True)
class Rollup:
    indicator: Indicator
    total: Decimal
    by_dimension: list[tuple[str, Decimal]]
    by_child: list[tuple[OrgUnit, Decimal]]


Row = tuple[str, str, date, Decimal]  # path, dimension, period, value


def aggregate(how: Aggregation, rows: list[Row]) -> Decimal:
    if not rows:
        return Decimal(0)
    if how is Aggregation.LATEST:
        latest = max(r[2] for r in rows)
        rows = [r for r in rows if r[2] == latest]
        how = Aggregation.AVERAGE
    total = sum((r[3] for r in rows), Decimal(0))
    if how is Aggregation.AVERAGE:
        return (total / len(rows)).quantize(Decimal("0.0001")).normalize()
    return total.normalize()


async def rollup(
    context: RequestContext, unit: OrgUnit, metric: str, since: date | None, until: date | None
) -> Rollup:
    indicator = await Indicator.get_or_none(code=metric)
    if indicator is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"No indicator {metric!r}.", "metric")
    query = scope(Observation.filter(indicator_id=indicator.id), context, "indicator").filter(
        org_unit__path__gte=unit.path, org_unit__path__lt=upper_bound(unit.path)
    )
    if since is not None:
        query = query.filter(period__gte=since)
    if until is not None:
        query = query.filter(period__lte=until)
    rows: list[Row] = [
        (r["org_unit__path"], r["dimension"], r["period"], Decimal(r["value"]))
        for r in await query.values("org_unit__path", "dimension", "period", "value")
    ]
    dims: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row[1]:
            dims[row[1]].append(row)
    org_scope = scope_for(context, "org", "read")
    children = [
        c
        for c in await OrgUnit.filter(parent_id=unit.id).order_by("path")
        if org_scope.allows(c.path, c.level.value)
    ]
    by_child = []
    for child in children:
        held = [r for r in rows if r[0].startswith(child.path)]
        if held:  # a child whose observations add up to zero is still shown
            by_child.append((child, aggregate(indicator.aggregation, held)))
    return Rollup(
        indicator=indicator,
        total=aggregate(indicator.aggregation, rows),
        by_dimension=[(k, aggregate(indicator.aggregation, v)) for k, v in sorted(dims.items())],
        by_child=by_child,
    )
