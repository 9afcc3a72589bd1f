"""The six-goods ranking (“六个好”考评排名) of the villages below a unit, for a period.

A period is a year (``YYYY``), a quarter (``YYYY-Qn``, n from 1 to 4) or a month
(``YYYY-MM``), in China Standard Time. A village takes part when the viewer may read it
(``org:read``) and holds a six-goods ASSESSMENT record (``details.scheme`` ``six_goods``) that
occurred in the period and that the viewer may read (``record:read``), the current version of
itself (a corrected assessment counts as its correction). With several, the latest counts.

Its score is the sum of its criteria's awarded points and its maximum the sum of their
maxima, both read from the criteria (not a stated total). The ranking runs from the highest
score down; ties go to the higher share of the maximum, then to the unit code and the unit id,
so that every village has its own rank (1, 2, 3, …) and the order never changes between reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.expressions import Subquery

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import OrgLevel, RecordType
from models.org import OrgUnit
from models.paths import upper_bound
from models.record import AccountabilityRecord
from policies.rights import ORG_READ, RECORD_READ
from policies.scope import scope
from resolvers.monthly_report import YEARS, Month, midnight, reported_unit

SIX_GOODS = "six_goods"
PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4]))?$", re.ASCII)


@dataclass(frozen=True)
class Period:
    """Whole days from ``first`` to the day before ``after``."""

    text: str
    first: date
    after: date

    def window(self) -> tuple[datetime, datetime]:
        return midnight(self.first), midnight(self.after)


def parse_period(text: str) -> Period:
    """``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``, or ``VALIDATION`` on ``period``."""
    found = PERIOD.match(text)
    year = int(found.group(1)) if found else 0
    month = int(found.group(2)) if found and found.group(2) else None
    if found is None or year not in YEARS or (month is not None and not 1 <= month <= 12):
        raise DomainError(
            ErrorCode.VALIDATION,
            "A period is a year (2026, from 1900), a quarter (2026-Q3) or a month (2026-11).",
            "period",
        )
    if month is not None:
        m = Month(date(year, month, 1))
        return Period(text, m.first, m.next_first)
    if found.group(3):
        quarter = int(found.group(3))
        first = date(year, 3 * quarter - 2, 1)
        return Period(text, first, Month(date(year, 3 * quarter, 1)).next_first)
    return Period(text, date(year, 1, 1), date(year + 1, 1, 1))


@dataclass(frozen=True)
class Criterion:
    name: str
    max: Decimal
    awarded: Decimal


@dataclass(frozen=True)
class RankedVillage:
    rank: int
    unit: OrgUnit
    score: Decimal
    max_score: Decimal
    assessed_at: datetime
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class AssessmentRanking:
    unit: OrgUnit
    period: Period
    villages: tuple[RankedVillage, ...]


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        return Decimal(0)
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return found if found.is_finite() else Decimal(0)


def _criteria(details: Any) -> tuple[Criterion, ...]:
    items = details.get("criteria") if isinstance(details, dict) else None
    return tuple(
        Criterion(str(item.get("name", "")), _number(item.get("max")), _number(item.get("awarded")))
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    )


async def assessment_ranking(
    context: RequestContext, unit_id: int | None, period_text: str
) -> AssessmentRanking:
    """The ranking, for a viewer holding ``record:read`` at the unit."""
    unit = await reported_unit(context, unit_id, (RECORD_READ,))
    period = parse_period(period_text)
    first, after = period.window()
    villages = {
        v.id: v
        for v in await scope(
            OrgUnit.filter(
                level=OrgLevel.VILLAGE, path__gt=unit.path, path__lt=upper_bound(unit.path)
            ),
            context,
            ORG_READ,
            path_field="path",
            level_field="level",
        )
    }
    superseded = AccountabilityRecord.filter(corrects_id__isnull=False).values("corrects_id")
    rows = await (
        scope(
            AccountabilityRecord.filter(
                type=RecordType.ASSESSMENT,
                org_unit_id__in=sorted(villages),
                occurred_at__gte=first,
                occurred_at__lt=after,
            ).exclude(id__in=Subquery(superseded)),
            context,
            RECORD_READ,
        )
        .order_by("occurred_at", "id")
        .values_list("org_unit_id", "occurred_at", "details")
        if villages
        else _nothing()
    )
    latest: dict[int, tuple[datetime, tuple[Criterion, ...]]] = {}
    for village_id, occurred_at, details in rows:
        if isinstance(details, dict) and details.get("scheme") == SIX_GOODS:
            latest[int(village_id)] = (occurred_at, _criteria(details))
    scored = []
    for village_id, (at, criteria) in latest.items():
        score = sum((c.awarded for c in criteria), Decimal(0))
        top = sum((c.max for c in criteria), Decimal(0))
        scored.append((villages[village_id], score, top, at, criteria))
    scored.sort(
        key=lambda s: (-s[1], -(s[1] / s[2]) if s[2] else Decimal(0), s[0].code or "", s[0].id)
    )
    return AssessmentRanking(
        unit,
        period,
        tuple(
            RankedVillage(n, village, score, top, at.astimezone(UTC), criteria)
            for n, (village, score, top, at, criteria) in enumerate(scored, start=1)
        ),
    )


async def _nothing() -> list[tuple[Any, ...]]:
    return []
