"""The monthly report (月报) of a unit, by child unit: what was done in a calendar month.

A month is ``YYYY-MM`` in China Standard Time (the programmes' time zone): from the first
day's midnight to the next month's. A month that has not begun is refused (``VALIDATION``);
the current month is reported up to now.

Each row is one child unit of the unit asked about that the viewer may read (``org:read``),
and counts what was held in that child's subtree (the child and every unit below it) and
readable by the viewer, each section under its own read right through the one scope filter:

- **Patrols** (``record:read``): the patrols that occurred in the month, not flagged, and the
  current version of themselves (a corrected patrol counts once, as its correction).
- **Patrol quotas** (``task:read``): the patrol quota tasks held in the subtree, not
  cancelled, whose quota period (``resolvers.quota``) overlaps the month; their number, the
  sum of their targets, the sum of the patrols counted towards them over their whole period
  (``count_done``, the figure ``Task.quota`` shows) and how many are met.
- **Tasks** (``task:read``): closed — verified in the month; overdue — due before the end
  of the month (now, for the current month), created before it and not closed by then
  (verified or cancelled before that moment).
- **Complaints** (``task:read``, tasks of ``origin: COMPLAINT``): received — created in the
  month; closed — verified in the month; closed in time — those of them verified no later
  than their due date (a complaint without a due date has no limit to miss).
- **Rewards and penalties** (``record:read``): the REWARD and PENALTY records that occurred in
  the month (current versions), their number and the sum of their ``amount_yuan`` detail (a
  record without an amount, such as a commendation, counts with 0 yuan).

The totals row adds the rows up. Every section is one grouped statement over the whole
subtree (never one per child), mapped to the children by path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import RecordType, TaskOrigin, TaskStatus
from models.org import OrgUnit
from models.paths import upper_bound
from models.record import AccountabilityRecord
from models.task import Task
from policies.guard import Site, require
from policies.rights import ORG_READ, RECORD_READ, TASK_READ, Right
from policies.scope import scope
from resolvers.observations import PROGRAMME_ZONE
from resolvers.quota import QuotaTask, count_done

MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
# The years a report may name: the instants of their months must exist in UTC.
YEARS = range(1900, 9999)
# The rights the report needs at its unit (the guard asks for either anywhere).
REPORT_RIGHTS = (TASK_READ, RECORD_READ)
CLOSED = [TaskStatus.VERIFIED.value, TaskStatus.CANCELLED.value]


@dataclass(frozen=True)
class Month:
    """A calendar month in China Standard Time."""

    first: date

    @property
    def text(self) -> str:
        return f"{self.first.year:04d}-{self.first.month:02d}"

    @property
    def last(self) -> date:
        return self.next_first - timedelta(days=1)

    @property
    def next_first(self) -> date:
        year, month = divmod(self.first.year * 12 + self.first.month, 12)
        return date(year, month + 1, 1)

    def window(self) -> tuple[datetime, datetime]:
        """The month as instants: its first midnight and the next month's."""
        return midnight(self.first), midnight(self.next_first)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=PROGRAMME_ZONE).astimezone(UTC)


def parse_month(text: str, now: datetime | None = None) -> Month:
    """``YYYY-MM`` of a month that has begun, or ``VALIDATION`` on ``month``."""
    found = MONTH.match(text)
    month = int(found.group(2)) if found else 0
    if found is None or not 1 <= month <= 12 or int(found.group(1)) not in YEARS:
        raise DomainError(
            ErrorCode.VALIDATION,
            "A month is written YYYY-MM (a year from 1900), e.g. 2026-11.",
            "month",
        )
    parsed = Month(date(int(found.group(1)), month, 1))
    moment = now or datetime.now(UTC)
    if parsed.window()[0] > moment:
        raise DomainError(ErrorCode.VALIDATION, "That month has not begun yet.", "month")
    return parsed


@dataclass
class ReportRow:
    """One child unit's figures (``unit`` None: the totals row)."""

    unit: OrgUnit | None
    patrols: int = 0
    patrol_quota_tasks: int = 0
    patrol_quota_target: int = 0
    patrol_quota_done: int = 0
    patrol_quotas_met: int = 0
    tasks_closed: int = 0
    tasks_overdue: int = 0
    complaints_received: int = 0
    complaints_closed: int = 0
    complaints_closed_in_time: int = 0
    rewards: int = 0
    reward_amount_yuan: Decimal = Decimal(0)
    penalties: int = 0
    penalty_amount_yuan: Decimal = Decimal(0)

    def add(self, other: ReportRow) -> None:
        for f in fields(self):
            if f.name != "unit":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class MonthlyReport:
    """The report of ``unit`` for ``month``, counted up to ``until``."""

    unit: OrgUnit
    month: Month
    until: datetime
    rows: list[ReportRow] = field(default_factory=list)
    totals: ReportRow = field(default_factory=lambda: ReportRow(None))


async def reported_unit(
    context: RequestContext, unit_id: int | None, rights: tuple[Right, ...]
) -> OrgUnit:
    """The unit, once ``require`` allows each of ``rights`` at it; a unit unknown and one
    outside the viewer's sight read alike, ``NOT_FOUND`` on ``orgUnitId``."""
    unit = await OrgUnit.get_or_none(id=unit_id) if unit_id is not None else None
    try:
        if unit is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such org unit.", "orgUnitId")
        for right in rights:
            require(context, right, Site(unit), field="orgUnitId")
    except DomainError as error:
        if error.code is not ErrorCode.NOT_FOUND:
            raise
        raise DomainError(ErrorCode.NOT_FOUND, "No such org unit.", "orgUnitId") from None
    return unit


def _child_of(root: OrgUnit, path: str) -> str | None:
    """The path of the child of ``root`` that ``path`` lies in (None: root itself)."""
    end = path.find("/", len(root.path))
    return path[: end + 1] if path.startswith(root.path) and end != -1 else None


def _in_subtree(root: OrgUnit, path_field: str = "org_unit__path") -> Q:
    bounds: dict[str, Any] = {
        f"{path_field}__gt": root.path,
        f"{path_field}__lt": upper_bound(root.path),
    }
    return Q(**bounds)


async def monthly_report(
    context: RequestContext, unit_id: int | None, month_text: str
) -> MonthlyReport:
    """The report, for a viewer holding ``task:read`` and ``record:read`` at the unit."""
    unit = await reported_unit(context, unit_id, REPORT_RIGHTS)
    now = datetime.now(UTC)
    month = parse_month(month_text, now)
    first, after = month.window()
    until = min(after, now)
    children = await scope(
        OrgUnit.filter(parent_id=unit.id), context, ORG_READ, path_field="path", level_field="level"
    ).order_by("path")
    report = MonthlyReport(unit, month, until, [ReportRow(c) for c in children])
    rows = {row.unit.path: row for row in report.rows if row.unit is not None}

    def row_of(path: str) -> ReportRow | None:
        child = _child_of(unit, path)
        return rows.get(child) if child is not None else None

    superseded = AccountabilityRecord.filter(corrects_id__isnull=False).values("corrects_id")
    records = scope(
        AccountabilityRecord.filter(
            _in_subtree(unit), occurred_at__gte=first, occurred_at__lt=after
        ).exclude(id__in=Subquery(superseded)),
        context,
        RECORD_READ,
    )
    tasks = scope(Task.filter(_in_subtree(unit)), context, TASK_READ)

    # Patrols: one grouped statement.
    for path, n in await (
        records.filter(type=RecordType.PATROL, flagged=False)
        .annotate(n=Count("id"))
        .group_by("org_unit__path")
        .values_list("org_unit__path", "n")
    ):
        if (row := row_of(path)) is not None:
            row.patrols += int(n)

    # Patrol quotas: one statement for the tasks, ``count_done`` for what counts.
    quotas: list[tuple[ReportRow, QuotaTask]] = []
    for task in (
        await tasks.filter(quota_record_type=RecordType.PATROL, quota_target__isnull=False)
        .exclude(status=TaskStatus.CANCELLED)
        .select_related("org_unit")
    ):
        quota = QuotaTask.of(task)
        row = row_of(task.org_unit.path)
        if (
            quota is not None
            and row is not None
            and quota.start < month.next_first
            and quota.end >= month.first
        ):
            quotas.append((row, quota))
    done = await count_done([q for _, q in quotas])
    for row, quota in quotas:
        row.patrol_quota_tasks += 1
        row.patrol_quota_target += quota.target
        row.patrol_quota_done += done[quota.id]
        row.patrol_quotas_met += done[quota.id] >= quota.target

    # Tasks closed in the month: one grouped statement.
    for path, n in await (
        tasks.filter(status=TaskStatus.VERIFIED, closed_at__gte=first, closed_at__lt=after)
        .annotate(n=Count("id"))
        .group_by("org_unit__path")
        .values_list("org_unit__path", "n")
    ):
        if (row := row_of(path)) is not None:
            row.tasks_closed += int(n)

    # Tasks overdue at the month's end (or now): one grouped statement.
    still_open = ~Q(status__in=CLOSED) | Q(closed_at__isnull=True) | Q(closed_at__gte=until)
    for path, n in await (
        tasks.filter(still_open, due_at__isnull=False, due_at__lt=until, created_at__lt=until)
        .annotate(n=Count("id"))
        .group_by("org_unit__path")
        .values_list("org_unit__path", "n")
    ):
        if (row := row_of(path)) is not None:
            row.tasks_overdue += int(n)

    # Complaints: one statement, the few rows counted here.
    for path, created, status, closed, due in await tasks.filter(
        Q(created_at__gte=first, created_at__lt=after)
        | Q(status=TaskStatus.VERIFIED, closed_at__gte=first, closed_at__lt=after),
        origin=TaskOrigin.COMPLAINT,
    ).values_list("org_unit__path", "created_at", "status", "closed_at", "due_at"):
        if (row := row_of(path)) is None:
            continue
        row.complaints_received += first <= created < after
        if status == TaskStatus.VERIFIED and closed is not None and first <= closed < after:
            row.complaints_closed += 1
            row.complaints_closed_in_time += due is None or closed <= due

    # Rewards and penalties: one statement.
    for path, kind, details in await records.filter(
        type__in=[RecordType.REWARD, RecordType.PENALTY]
    ).values_list("org_unit__path", "type", "details"):
        if (row := row_of(path)) is None:
            continue
        amount = _yuan(details)
        if kind == RecordType.REWARD:
            row.rewards += 1
            row.reward_amount_yuan += amount
        else:
            row.penalties += 1
            row.penalty_amount_yuan += amount

    for row in report.rows:
        report.totals.add(row)
    return report


def _yuan(details: Any) -> Decimal:
    value = details.get("amount_yuan") if isinstance(details, dict) else None
    if isinstance(value, bool) or value is None:
        return Decimal(0)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return amount if amount.is_finite() else Decimal(0)
