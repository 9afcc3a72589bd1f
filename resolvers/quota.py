"""Which records fulfil a quota task, counted the same for every reader.

A record counts towards a task's quota when it was filed against the task and it is

- of the quota's record type;
- the current version of itself: a record some correction replaced no longer counts, the
  correction counts in its place (if it counts at all), so a correction counts once;
- not flagged (``Record.flags``: a patrol too fast, off the water, without a track…);
- inside the quota's period: it occurred from the first day to the last, whole days in China
  Standard Time, the programmes' time zone (as a clean-up's day is, ``resolvers.observations``);
- on the water of the unit holding the task (``unit_waters``). A record that names no water
  body (a pledge, a clean-up of a village square) counts when it was filed at that unit or one
  below it; a patrol names the water patrolled, so a patrol without one never counts.

``done`` is a number, the same whoever reads it: a viewer who reads the task learns how many
records count, never which ones (the records stay under their own read rule).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import OrgLevel, RecordType
from models.org import OrgLink, OrgUnit, WaterBody
from models.paths import path_ids, upper_bound
from models.record import AccountabilityRecord
from models.task import Task
from resolvers.dataloader import DataLoader
from resolvers.observations import PROGRAMME_ZONE

# The longest period a quota may span: a five-year plan.
MAX_PERIOD = timedelta(days=5 * 366)

# What a quota counts, in the refusal's words.
NOUNS: dict[RecordType, str] = {
    RecordType.PATROL: "patrols",
    RecordType.CLEANUP: "clean-ups",
    RecordType.PLEDGE: "pledges",
    RecordType.ASSESSMENT: "assessments",
    RecordType.REWARD: "rewards",
    RecordType.PENALTY: "penalties",
    RecordType.INSPECTION_FINDING: "inspection findings",
    RecordType.ESCALATION: "escalations",
}


def default_period(created_at: datetime) -> tuple[date, date]:
    """A quota's period when its issuer names none: the calendar year the task was created
    in (China Standard Time), as in "at least 6 patrols a year"."""
    year = created_at.astimezone(PROGRAMME_ZONE).year
    return date(year, 1, 1), date(year, 12, 31)


def check_period(start: date | None, end: date | None, has_quota: bool) -> None:
    """A period goes with a quota, has both ends, runs forwards and spans at most five years."""
    if start is None and end is None:
        return
    if not has_quota:
        raise DomainError(ErrorCode.VALIDATION, "A period goes with a quota.", "quotaPeriod")
    if start is None or end is None or end < start:
        raise DomainError(
            ErrorCode.VALIDATION,
            "A quota period runs from a day to the same or a later day.",
            "quotaPeriod",
        )
    if end - start > MAX_PERIOD:
        raise DomainError(
            ErrorCode.VALIDATION, "A quota period spans at most five years.", "quotaPeriod"
        )


@dataclass(frozen=True)
class QuotaTask:
    """A quota task as the count sees it."""

    id: int
    org_unit_id: int
    record_type: RecordType
    target: int
    start: date
    end: date

    @classmethod
    def of(cls, task: Task) -> QuotaTask | None:
        if task.quota_target is None or task.quota_record_type is None:
            return None
        default = default_period(task.created_at)
        return cls(
            id=task.id,
            org_unit_id=task.org_unit_id,
            record_type=RecordType(task.quota_record_type),
            target=task.quota_target,
            start=task.quota_from or default[0],
            end=task.quota_to or default[1],
        )

    def window(self) -> tuple[datetime, datetime]:
        """The period as instants: from the first day's midnight to the day after the last."""
        first = datetime.combine(self.start, time(), tzinfo=PROGRAMME_ZONE)
        after = datetime.combine(self.end + timedelta(days=1), time(), tzinfo=PROGRAMME_ZONE)
        return first, after


async def unit_waters(units: Iterable[OrgUnit]) -> dict[int, frozenset[int]]:
    """The water bodies of each unit, with every part of them (a river's segments):

    those paired with it (``OrgLink``: a department's river, an enterprise's responsibility
    segment), those running through it or a unit below it, and, for a grid, those running
    through its village (the water runs past the households of every grid of the village).
    """
    units = list({u.id: u for u in units}.values())
    if not units:
        return {}
    found: dict[int, set[int]] = defaultdict(set)
    for unit_id, body_id in await OrgLink.filter(
        unit_id__in=[u.id for u in units], water_body_id__isnull=False
    ).values_list("unit_id", "water_body_id"):
        found[int(unit_id)].add(int(body_id))
    villages = await _villages_of([u for u in units if u.level is OrgLevel.GRID])
    reach = Q()
    for unit in units:
        reach |= Q(units__path__gte=unit.path, units__path__lt=upper_bound(unit.path))
    if villages:
        reach |= Q(units__id__in=sorted(set(villages.values())))
    rows = await WaterBody.filter(reach).values_list("id", "units__id", "units__path")
    for body_id, through_id, through_path in rows:
        for unit in units:
            if through_path.startswith(unit.path) or villages.get(unit.id) == through_id:
                found[unit.id].add(int(body_id))
    parts = await _parts(set().union(*found.values()) if found else set())
    return {u.id: frozenset(_with_parts(found[u.id], parts)) for u in units}


async def _villages_of(grids: list[OrgUnit]) -> dict[int, int]:
    """Each grid's village: the nearest unit above it at the village level."""
    if not grids:
        return {}
    above = {g.id: path_ids(g.path)[:-1] for g in grids}
    ids = sorted({i for chain in above.values() for i in chain})
    rows = await OrgUnit.filter(id__in=ids, level=OrgLevel.VILLAGE).values("id")
    villages = {int(row["id"]) for row in rows}
    found = {}
    for grid_id, chain in above.items():
        nearest = [i for i in chain if i in villages]
        if nearest:
            found[grid_id] = nearest[-1]
    return found


async def _parts(bodies: set[int]) -> dict[int, set[int]]:
    """The parts of each water body below ``bodies`` (a basin's rivers, a river's segments),
    one statement per level."""
    children: dict[int, set[int]] = defaultdict(set)
    frontier, seen = set(bodies), set(bodies)
    while frontier:
        rows = await WaterBody.filter(parent_id__in=sorted(frontier)).values("id", "parent_id")
        frontier = set()
        for row in rows:
            body_id = int(row["id"])
            children[int(row["parent_id"])].add(body_id)
            if body_id not in seen:
                seen.add(body_id)
                frontier.add(body_id)
    return children


def _with_parts(bodies: set[int], children: dict[int, set[int]]) -> set[int]:
    found, stack = set(bodies), list(bodies)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


async def count_done(tasks: Sequence[QuotaTask]) -> dict[int, int]:
    """How many records count towards each task's quota (see the module's rules): one
    statement for the records of every task, and a few for the units and their waters."""
    if not tasks:
        return {}
    superseded = AccountabilityRecord.filter(corrects_id__isnull=False).values("corrects_id")
    rows = (
        await AccountabilityRecord.filter(
            task_id__in=sorted({t.id for t in tasks}),
            type__in=sorted({t.record_type.value for t in tasks}),
            flagged=False,
        )
        .exclude(id__in=Subquery(superseded))
        .values("task_id", "type", "water_body_id", "occurred_at", "org_unit__path")
    )
    by_task: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_task[int(row["task_id"])].append(row)
    units = await OrgUnit.filter(id__in=sorted({t.org_unit_id for t in tasks}))
    paths = {u.id: u.path for u in units}
    waters = await unit_waters(units)
    done = {}
    for task in tasks:
        first, after = task.window()
        home = paths.get(task.org_unit_id, "")
        n = 0
        for row in by_task.get(task.id, []):
            if row["type"] != task.record_type.value or not first <= row["occurred_at"] < after:
                continue
            body = row["water_body_id"]
            if body is not None:
                n += int(body) in waters.get(task.org_unit_id, frozenset())
            elif task.record_type is not RecordType.PATROL:
                n += bool(home) and str(row["org_unit__path"]).startswith(home)
        done[task.id] = n
    return done


def quota_done(context: RequestContext) -> DataLoader[QuotaTask, int]:
    """``count_done`` for the quota tasks of one level of a query, in one batch."""

    async def load(keys: Sequence[QuotaTask]) -> list[int]:
        done = await count_done(list(set(keys)))
        return [done[k.id] for k in keys]

    return context.memo.get(QuotaDone, lambda: QuotaDone(load_fn=load))


class QuotaDone(DataLoader[QuotaTask, int]):
    """The request's quota counts (``quota_done``)."""


async def require_quota_met(task: Task) -> None:
    """A quota task is verified only once its quota is met: ``INVALID_TRANSITION`` saying how
    many records count, otherwise."""
    quota = QuotaTask.of(task)
    if quota is None:
        return
    done = (await count_done([quota]))[quota.id]
    if done < quota.target:
        noun = NOUNS[quota.record_type]
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"{done} of {quota.target} {noun} counted ({quota.start.isoformat()} to "
            f"{quota.end.isoformat()}): the quota is not met yet.",
            "action",
        )
