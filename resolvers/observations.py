"""Reporting indicators: an observation at a unit, checked against the catalogue, stored with
its subtree sums and its audit event in one transaction.

Two ways in: ``reportObservation`` (a unit reports a figure for a period) and a clean-up
record, whose ``garbage_kg`` and ``participants`` become observations of
``garbage_cleared_t`` (in tonnes) and ``participants`` for the day it took place
(``cleanup_observations``, called in the record's own transaction). A correction of a
clean-up replaces the observations of the record it corrects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.fields import CharField
from tortoise.transactions import in_transaction

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import AuditAction, AuditEntity
from models.indicator import Indicator, Observation
from models.org import OrgUnit
from models.record import AccountabilityRecord
from policies.guard import Site, log_denial, require
from policies.rights import INDICATOR_REPORT
from resolvers.audit import append_event
from resolvers.indicator_sums import add_observations
from resolvers.org import get_unit

# The observation table's numbers: 18 digits, 4 of them decimals.
PLACES = Decimal("0.0001")
MAX_VALUE = Decimal(10) ** 14
PERCENT = "%"
DIMENSION_LENGTH = cast("CharField[str]", Observation._meta.fields_map["dimension"]).max_length
CODE_LENGTH = cast("CharField[str]", Indicator._meta.fields_map["code"]).max_length
# A clean-up's day is its day where the programmes run (China Standard Time, no DST).
PROGRAMME_ZONE = timezone(timedelta(hours=8), "CST")
GARBAGE = "garbage_cleared_t"
PARTICIPANTS = "participants"
KG_PER_TONNE = Decimal(1000)


@dataclass(frozen=True)
class NewObservation:
    metric: str
    org_unit_id: int
    period_start: date
    period_end: date
    value: float
    dimension: str = ""


def _value(raw: float, indicator: Indicator) -> Decimal:
    """The value as stored (four decimal places), or VALIDATION on ``value``."""
    if not math.isfinite(raw) or raw < 0 or Decimal(repr(raw)) >= MAX_VALUE:
        raise DomainError(
            ErrorCode.VALIDATION, f"A value is a number from 0 to below {MAX_VALUE:,}.", "value"
        )
    value = Decimal(repr(raw)).quantize(PLACES)
    if indicator.unit == PERCENT and value > 100:
        raise DomainError(
            ErrorCode.VALIDATION, f"{indicator.code} is a percentage: at most 100.", "value"
        )
    return value


def _dimension(raw: str, indicator: Indicator) -> str:
    """The dimension value, given exactly when the indicator splits by one."""
    text = raw.strip()
    if not indicator.dimension_name:
        if text:
            raise DomainError(
                ErrorCode.VALIDATION, f"{indicator.code} takes no dimension.", "dimension"
            )
        return ""
    if not text or len(text) > DIMENSION_LENGTH:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"{indicator.code} is reported per {indicator.dimension_name}: give one of 1 to "
            f"{DIMENSION_LENGTH} characters.",
            "dimension",
        )
    return text


async def _indicator(metric: str) -> Indicator:
    found = await Indicator.get_or_none(code=metric) if len(metric) <= CODE_LENGTH else None
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"No indicator {metric!r}.", "metric")
    return found


@dataclass(frozen=True)
class Reported:
    observation: Observation
    indicator: Indicator
    unit: OrgUnit


async def report_observation(context: RequestContext, spec: NewObservation) -> Reported:
    """Store one observation under ``indicator:create`` at its unit (NOT_FOUND for a unit
    the viewer does not see, FORBIDDEN for one they see but may not report at)."""
    if spec.period_end < spec.period_start:
        raise DomainError(
            ErrorCode.VALIDATION, "A period cannot end before it starts.", "periodEnd"
        )
    unit = await get_unit(context, spec.org_unit_id)
    if unit is None:
        log_denial(context, INDICATOR_REPORT, f"unit:{spec.org_unit_id}")
        raise DomainError(ErrorCode.NOT_FOUND, "No such org unit.", "orgUnitId")
    require(context, INDICATOR_REPORT, Site(unit), field="orgUnitId")
    indicator = await _indicator(spec.metric)
    observation = Observation(
        indicator_id=indicator.id,
        org_unit_id=unit.id,
        period=spec.period_start,
        period_end=spec.period_end,
        dimension=_dimension(spec.dimension, indicator),
        value=_value(spec.value, indicator),
    )
    async with in_transaction() as conn:
        await store_observations(conn, context, unit, [(observation, indicator)])
    return Reported(observation, indicator, unit)


async def store_observations(
    conn: BaseDBAsyncClient,
    context: RequestContext,
    unit: OrgUnit,
    observations: list[tuple[Observation, Indicator]],
) -> None:
    """Insert the observations, add them to their subtrees' sums and write one
    ``observation.report`` event each; call inside the transaction of the change."""
    for observation, indicator in observations:
        await observation.save(using_db=conn)
        await append_event(
            conn,
            context,
            action=AuditAction.OBSERVATION_REPORT,
            entity_type=AuditEntity.OBSERVATION,
            entity_id=observation.id,
            org_path=unit.path,
            after=_described(observation, indicator),
        )
    await add_observations(conn, [(o, unit.path) for o, _ in observations])


def _described(observation: Observation, indicator: Indicator) -> dict[str, Any]:
    return {
        "metric": indicator.code,
        "org_unit_id": observation.org_unit_id,
        "period_start": observation.period.isoformat(),
        "period_end": observation.period_end.isoformat() if observation.period_end else None,
        "value": f"{Decimal(observation.value).normalize():f}",
        "dimension": observation.dimension or None,
        "record_id": observation.record_id,
    }


def cleanup_day(occurred_at: datetime) -> date:
    return occurred_at.astimezone(PROGRAMME_ZONE).date()


def cleanup_figures(details: dict[str, Any]) -> dict[str, Decimal]:
    """What a clean-up's details observe: tonnes of garbage and people taking part."""
    return {
        GARBAGE: (Decimal(repr(float(details["garbage_kg"]))) / KG_PER_TONNE).quantize(PLACES),
        PARTICIPANTS: Decimal(repr(float(details["participants"]))).quantize(PLACES),
    }


async def cleanup_observations(
    conn: BaseDBAsyncClient, context: RequestContext, unit: OrgUnit, record: AccountabilityRecord
) -> None:
    """The clean-up's figures as observations of its day, in the record's transaction. A
    correction first takes out the observations of the record it corrects (and of that
    record's other corrections): only the current version of a clean-up counts. A metric
    missing from the catalogue is not fed."""
    if record.corrects_id is not None:
        await _withdraw(conn, record.corrects_id, unit)
    catalogue = {
        i.code: i for i in await Indicator.filter(code__in=[GARBAGE, PARTICIPANTS]).using_db(conn)
    }
    day = cleanup_day(record.occurred_at)
    fed = [
        (
            Observation(
                indicator_id=catalogue[code].id,
                org_unit_id=unit.id,
                period=day,
                period_end=day,
                value=value,
                record_id=record.id,
            ),
            catalogue[code],
        )
        for code, value in cleanup_figures(record.details).items()
        if code in catalogue
    ]
    await store_observations(conn, context, unit, fed)


async def _withdraw(conn: BaseDBAsyncClient, corrected_id: int, unit: OrgUnit) -> None:
    """Delete the observations a corrected clean-up fed, and take them out of the sums."""
    replaced = Q(record_id=corrected_id) | Q(record__corrects_id=corrected_id)
    stale = await Observation.filter(replaced).using_db(conn)
    if not stale:
        return
    await add_observations(conn, [(o, unit.path) for o in stale], sign=-1)
    await Observation.filter(id__in=[o.id for o in stale]).using_db(conn).delete()
