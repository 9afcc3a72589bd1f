"""Indicator rollups over a subtree, scoped like every list.

SUM adds every observation; AVERAGE averages them; LATEST takes the most recent period and
averages that period's observations (e.g. forest cover reported for the whole county).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast

from tortoise.expressions import Case, Q, When
from tortoise.fields import CharField
from tortoise.functions import Count, Sum

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import Aggregation
from models.indicator import Indicator, IndicatorSum, Observation
from models.org import OrgUnit
from models.paths import upper_bound
from policies.rights import INDICATOR_READ, ORG_READ
from policies.scope import scope, scope_for
from resolvers.dataloader import DataLoader
from resolvers.indicator_sums import from_e4
from resolvers.loaders import loaders

CODE_LENGTH = cast("CharField[str]", Indicator._meta.fields_map["code"]).max_length


@dataclass(frozen=True)
class Rollup:
    """None where nothing was observed in the range: no data is not zero (a forest cover of
    "0 %" would be a false figure)."""

    indicator: Indicator
    total: Decimal | None
    by_dimension: list[tuple[str, Decimal]]
    by_child: list[tuple[OrgUnit, Decimal | None]]


@dataclass(frozen=True)
class Part:
    """Observations of one group (a child, a dimension or all) in one period, added up."""

    period: date
    total: Decimal
    count: int


def aggregate(how: Aggregation, parts: list[Part]) -> Decimal | None:
    """None for no observations; a value (zero included) for any."""
    if not parts:
        return None
    if how is Aggregation.LATEST:
        latest = max(p.period for p in parts)
        parts = [p for p in parts if p.period == latest]
        how = Aggregation.AVERAGE
    total = sum((p.total for p in parts), Decimal(0))
    if how is Aggregation.AVERAGE:
        return (total / sum(p.count for p in parts)).quantize(Decimal("0.0001")).normalize()
    return total.normalize()


RollupKey = tuple[int, str, date | None, date | None]  # unit id, metric, from, to


async def rollup(
    context: RequestContext, unit: OrgUnit, metric: str, since: date | None, until: date | None
) -> Rollup:
    """Batched: every rollup of one request level shares two grouped statements."""
    found: Rollup = await rollups(context).load((unit.id, metric, since, until))
    return found


class Rollups(DataLoader[RollupKey, Rollup]):
    """The request's batched rollups."""


def rollups(context: RequestContext) -> DataLoader[RollupKey, Rollup]:
    return context.memo.get(Rollups, lambda: _rollups_loader(context))


def _rollups_loader(context: RequestContext) -> Rollups:

    async def load(keys: Sequence[RollupKey]) -> list[Rollup | BaseException]:
        catalogue = {
            i.code: i
            for i in await Indicator.filter(
                # A code longer than the column names no indicator (and the ORM would
                # refuse to compare it, as an internal error).
                code__in=sorted({m for _, m, _, _ in keys if len(m) <= CODE_LENGTH})
            )
        }
        answers: dict[RollupKey, Rollup | BaseException] = {}
        for (unit_id, since, until), metrics in _by_request(keys).items():
            found = [catalogue[m] for m in metrics if m in catalogue]
            computed = await _rollups(context, unit_id, found, since, until) if found else {}
            for metric in metrics:
                answers[(unit_id, metric, since, until)] = computed.get(metric) or DomainError(
                    ErrorCode.NOT_FOUND, f"No indicator {metric!r}.", "metric"
                )
        return [answers[k] for k in keys]

    return Rollups(load_fn=load)


def _by_request(keys: Sequence[RollupKey]) -> dict[tuple[int, date | None, date | None], list[str]]:
    grouped: dict[tuple[int, date | None, date | None], list[str]] = defaultdict(list)
    for unit_id, metric, since, until in keys:
        if metric not in grouped[(unit_id, since, until)]:
            grouped[(unit_id, since, until)].append(metric)
    return grouped


async def _rollups(
    context: RequestContext,
    unit_id: int,
    indicators: list[Indicator],
    since: date | None,
    until: date | None,
) -> dict[str, Rollup]:
    """Totals per child and per dimension, period by period.

    From the subtree sums when the viewer reads the whole subtree (one statement, a few rows
    per child and period); otherwise added up in SQL from the observations the viewer reads.
    Either way rows come back as groups × periods, never as observations.
    """
    unit = await loaders(context).unit.load(unit_id)
    if unit is None:
        return {}
    org_scope = scope_for(context, ORG_READ)
    children = [
        c
        for c in await OrgUnit.filter(parent_id=unit.id).order_by("path")
        if org_scope.allows(c.path, c.level.value)
    ]
    ids = [i.id for i in indicators]
    if sees_whole_subtree(context, unit):
        parts = await _parts_from_sums(unit, children, ids, since, until)
    else:
        parts = await _parts_from_observations(context, unit, children, ids, since, until)
    result = {}
    for indicator in indicators:
        how = indicator.aggregation
        dimensions = sorted(
            k for (i, kind, k) in parts if i == indicator.id and kind == "dimension"
        )
        result[indicator.code] = Rollup(
            indicator=indicator,
            total=aggregate(how, parts.get((indicator.id, "all", ""), [])),
            by_dimension=[
                (k, aggregate(how, parts[(indicator.id, "dimension", k)]) or Decimal(0))
                for k in dimensions
            ],
            # Every visible child: None for one without observations, zero for one whose
            # observations add up to zero.
            by_child=[
                (c, aggregate(how, parts.get((indicator.id, "child", str(c.id)), [])))
                for c in children
            ],
        )
    return result


Parts = dict[tuple[int, str, str], list[Part]]  # (indicator, "all"/"child"/"dimension", key)


def sees_whole_subtree(context: RequestContext, unit: OrgUnit) -> bool:
    """Whether the viewer reads indicators at every unit of every level under ``unit``: then
    the subtree sums (``indicator_sum``) answer exactly what the observations would."""
    found = scope_for(context, INDICATOR_READ)
    return any(r.levels is None and unit.path.startswith(r.prefix) for r in found.ranges)


async def _parts_from_sums(
    unit: OrgUnit, children: list[OrgUnit], ids: list[int], since: date | None, until: date | None
) -> Parts:
    """One statement: the subtree sums of the unit and of its visible children."""
    query = IndicatorSum.filter(
        indicator_id__in=ids, org_unit_id__in=[unit.id, *(c.id for c in children)], n__gt=0
    )
    if since is not None:
        query = query.filter(period__gte=since)
    if until is not None:
        query = query.filter(period__lte=until)
    parts: Parts = defaultdict(list)
    for row in await query.values(
        "indicator_id", "org_unit_id", "period", "dimension", "total_e4", "n"
    ):
        part = Part(_date(row["period"]), from_e4(row["total_e4"]), int(row["n"]))
        indicator_id = row["indicator_id"]
        if row["org_unit_id"] != unit.id:
            parts[(indicator_id, "child", str(row["org_unit_id"]))].append(part)
            continue
        parts[(indicator_id, "all", "")].append(part)
        if row["dimension"]:
            parts[(indicator_id, "dimension", row["dimension"])].append(part)
    return parts


async def _parts_from_observations(
    context: RequestContext,
    unit: OrgUnit,
    children: list[OrgUnit],
    ids: list[int],
    since: date | None,
    until: date | None,
) -> Parts:
    """Two statements over the observations the viewer reads, when part of the subtree is
    hidden from them: totals per child and per dimension, period by period."""
    query = scope(Observation.filter(indicator_id__in=ids), context, INDICATOR_READ).filter(
        org_unit__path__gte=unit.path, org_unit__path__lt=upper_bound(unit.path)
    )
    if since is not None:
        query = query.filter(period__gte=since)
    if until is not None:
        query = query.filter(period__lte=until)
    grouped = query
    bucket_field: tuple[str, ...] = ()
    if children:  # which child's subtree holds each observation ("0": the unit itself)
        whens = [
            When(
                Q(org_unit__path__gte=c.path, org_unit__path__lt=upper_bound(c.path)),
                then=str(c.id),
            )
            for c in children
        ]
        grouped = query.annotate(bucket=Case(*whens, default="0"))
        bucket_field = ("bucket",)
    by_child = (
        await grouped.group_by("indicator_id", *bucket_field, "period")
        .annotate(total=Sum("value"), n=Count("id"))
        .values("indicator_id", *bucket_field, "period", "total", "n")
    )
    by_dimension = (
        await query.exclude(dimension="")
        .group_by("indicator_id", "dimension", "period")
        .annotate(total=Sum("value"), n=Count("id"))
        .values("indicator_id", "dimension", "period", "total", "n")
    )
    parts: Parts = defaultdict(list)
    for row in by_child:
        part = Part(_date(row["period"]), Decimal(str(row["total"])), int(row["n"]))
        parts[(row["indicator_id"], "all", "")].append(part)
        parts[(row["indicator_id"], "child", str(row.get("bucket", "0")))].append(part)
    for row in by_dimension:
        part = Part(_date(row["period"]), Decimal(str(row["total"])), int(row["n"]))
        parts[(row["indicator_id"], "dimension", row["dimension"])].append(part)
    return parts


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
