"""Accountability records: append-only, validated per type, implausible ones flagged
(``resolvers.record_flags``); a clean-up feeds its metrics (``resolvers.observations``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from core import clock
from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import AuditAction, AuditEntity, RecordType, TaskCategory
from models.evidence import Evidence
from models.org import OrgUnit, WaterBody
from models.paths import path_ids
from models.record import AccountabilityRecord
from policies.authority import authority_path, require_correction, require_filing, right_to_file
from policies.guard import allowed, log_denial
from policies.rights import JUDGEMENTS, RECORD_READ, TASK_REPORT
from policies.scope import scope, scope_for
from resolvers.audit import append_event
from resolvers.evidence import PatrolWindow, citable, cite, photo_flags
from resolvers.loaders import loaders
from resolvers.observations import cleanup_observations
from resolvers.org import get_unit
from resolvers.pagination import OrderKey, Page, paginate
from resolvers.record_flags import RecordFlag, RecordFlagCode, flag, in_future, reason_of
from resolvers.task_commands import NewTask, Placement, insert_task, place_task
from resolvers.tasks import get_task
from resolvers.tracks import TrackPoint, check_track, has_gap, measure, off_water, stored
from resolvers.water import get_water_body

MAX_PATROL_SPEED_KMH = 12.0  # faster than a brisk walk along a river bank is implausible
MAX_PATROL_DURATION = timedelta(hours=16)
MAX_SEGMENT_LAPS = 4  # both banks of a segment, there and back
MAX_LIST_ITEMS = 50  # findings, photos, criteria, evidence
MAX_TEXT = 500

# Which part of the input each detail comes from, and which parts each type takes.
PART_OF = {
    "distance_km": "patrol",
    "findings": "patrol",
    "photos": "patrol",
    "participants": "cleanup",
    "garbage_kg": "cleanup",
    "criteria": "criteria",
    "amount": "amount",
}
PARTS_OF_TYPE: dict[RecordType, frozenset[str]] = {
    RecordType.PATROL: frozenset({"patrol"}),
    RecordType.CLEANUP: frozenset({"cleanup"}),
    RecordType.ASSESSMENT: frozenset({"criteria"}),
    RecordType.REWARD: frozenset({"amount"}),
    RecordType.PENALTY: frozenset({"amount"}),
}


@dataclass(frozen=True)
class NewRecord:
    type: RecordType
    org_unit_id: int
    occurred_at: datetime
    ended_at: datetime | None = None
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    task_id: int | None = None
    water_body_id: int | None = None
    corrects_id: int | None = None
    raise_task: RaisedTask | None = None
    # A patrol's GPS track; its distance and duration are measured from it.
    track: tuple[TrackPoint, ...] | None = None
    # Uploaded evidence the record cites (``resolvers.evidence``), in order.
    evidence_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class RaisedTask:
    """A task a patrol or an inspection finding raises for the unit it was made at."""

    title: str
    category: TaskCategory
    due_at: datetime | None = None


def _number(details: dict[str, Any], key: str, where: str) -> float:
    value = details.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        raise DomainError(ErrorCode.VALIDATION, f"{where}: {key} must be a number ≥ 0.", where)
    return float(value)


def _texts(details: dict[str, Any], key: str, where: str) -> None:
    items = details.get(key, [])
    if not isinstance(items, list) or len(items) > MAX_LIST_ITEMS:
        raise DomainError(ErrorCode.VALIDATION, f"At most {MAX_LIST_ITEMS} {key}.", where)
    if not all(isinstance(i, str) and 0 < len(i.strip()) <= MAX_TEXT for i in items):
        raise DomainError(
            ErrorCode.VALIDATION, f"Each of the {key} has 1 to {MAX_TEXT} characters.", where
        )


def _validate(spec: NewRecord) -> None:
    for key in spec.details:
        part = PART_OF.get(key, key)
        if part not in PARTS_OF_TYPE.get(spec.type, frozenset()):
            raise DomainError(
                ErrorCode.VALIDATION, f"A {spec.type.value} record takes no {part}.", part
            )
    if spec.ended_at is not None and spec.ended_at < spec.occurred_at:
        raise DomainError(ErrorCode.VALIDATION, "A record cannot end before it starts.", "endedAt")
    if len(spec.summary) > 500:
        raise DomainError(ErrorCode.VALIDATION, "A summary has at most 500 characters.", "summary")
    if spec.track is not None and spec.type is not RecordType.PATROL:
        raise DomainError(ErrorCode.VALIDATION, "Only a patrol has a track.", "patrol")
    if spec.type is RecordType.PATROL:
        if spec.ended_at is None:
            raise DomainError(ErrorCode.VALIDATION, "A patrol needs its end time.", "endedAt")
        _patrol_distance(spec)
        _texts(spec.details, "findings", "patrol")
        _texts(spec.details, "photos", "patrol")
    elif spec.type is RecordType.CLEANUP:
        _number(spec.details, "participants", "cleanup")
        _number(spec.details, "garbage_kg", "cleanup")
    elif spec.type is RecordType.ASSESSMENT:
        criteria = spec.details.get("criteria")
        if not isinstance(criteria, list) or not 0 < len(criteria) <= MAX_LIST_ITEMS:
            raise DomainError(
                ErrorCode.VALIDATION,
                f"An assessment lists 1 to {MAX_LIST_ITEMS} criteria.",
                "criteria",
            )
        for item in criteria:
            if not isinstance(item, dict) or not 0 < len(str(item.get("name", "")).strip()) <= 200:
                raise DomainError(
                    ErrorCode.VALIDATION,
                    "Each criterion has a name of 1 to 200 characters.",
                    "criteria",
                )
            top, got = _number(item, "max", "criteria"), _number(item, "awarded", "criteria")
            if got > top:
                raise DomainError(
                    ErrorCode.VALIDATION,
                    f"{item['name']}: awarded exceeds the maximum.",
                    "criteria",
                )
    if "amount" in spec.details:
        _number(spec.details, "amount", "amount")


def _patrol_distance(spec: NewRecord) -> None:
    """A patrol's distance is measured from its track, or typed in without one; never both,
    so that no typed figure stands beside (or in for) a measured one."""
    typed = "distance_km" in spec.details
    if spec.track is not None and typed:
        raise DomainError(
            ErrorCode.VALIDATION,
            "Give a track or a distance, not both: a track's distance is measured from it.",
            "patrol",
        )
    if spec.track is None and not typed:
        raise DomainError(ErrorCode.VALIDATION, "A patrol needs a track or its distance.", "patrol")
    if typed:
        _number(spec.details, "distance_km", "patrol")


RAISES_TASKS = frozenset({RecordType.PATROL, RecordType.INSPECTION_FINDING})


async def _check_evidence(context: RequestContext, spec: NewRecord) -> list[Evidence]:
    """An assessment's scores point at the records and the uploaded evidence that justify
    them, which must exist and be readable; so must the evidence the record cites. The
    evidence items the record will cite, in order: its own, then its criteria's."""
    files: list[int] = []
    for item in spec.details.get("criteria", []) if spec.type is RecordType.ASSESSMENT else []:
        evidence, uploaded = item.get("evidence", []), item.get("evidence_files", [])
        if not all(_ids(ids) for ids in (evidence, uploaded)):
            raise DomainError(ErrorCode.VALIDATION, "Evidence lists record ids.", "criteria")
        for record_id in evidence:
            if await get_record(context, record_id) is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND, f"No evidence record {record_id}.", "criteria"
                )
        files.extend(uploaded)
    own = await citable(context, spec.evidence_ids, "evidenceIds")
    criteria = await citable(context, list(dict.fromkeys(files)), "criteria")
    return list({e.id: e for e in [*own, *criteria]}.values())


def _ids(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= MAX_LIST_ITEMS
        and all(isinstance(e, int) and not isinstance(e, bool) for e in value)
    )


async def _implausibility(
    spec: NewRecord, details: dict[str, Any], author_id: int | None, segment: WaterBody | None
) -> list[RecordFlag]:
    """What an inspector should look at in this patrol: every check it fails, in order.

    The speed is the track's (its measured length over its own duration) when there is one.
    """
    if spec.type is not RecordType.PATROL or spec.ended_at is None:
        return []
    found = []
    duration = spec.ended_at - spec.occurred_at
    hours = duration.total_seconds() / 3600
    if spec.track is not None:
        hours = float(details["duration_min"]) / 60
    distance = float(details.get("distance_km", 0))
    if duration > MAX_PATROL_DURATION:
        found.append(flag(RecordFlagCode.TOO_LONG))
    if hours <= 0 or distance / hours > MAX_PATROL_SPEED_KMH:
        found.append(flag(RecordFlagCode.TOO_FAST))
    length = float(segment.length_km) if segment and segment.length_km is not None else None
    if length is not None and distance > MAX_SEGMENT_LAPS * length:
        found.append(flag(RecordFlagCode.BEYOND_SEGMENT))
    if author_id is not None:
        # Only the current version of each patrol counts: a correction does not overlap the
        # record it corrects, nor anything that record's own corrections replaced.
        superseded = AccountabilityRecord.filter(corrects_id__isnull=False).values("corrects_id")
        others = AccountabilityRecord.filter(
            Q(author_id=author_id, type=RecordType.PATROL)
            & Q(occurred_at__lt=spec.ended_at, ended_at__gt=spec.occurred_at)
        ).exclude(id__in=Subquery(superseded))
        if spec.corrects_id is not None:
            others = others.exclude(id=spec.corrects_id)
        if await others.exists():
            found.append(flag(RecordFlagCode.OVERLAPPING))
    found.extend(await _track_flags(spec.track, segment))
    return found


async def _track_flags(
    track: tuple[TrackPoint, ...] | None, segment: WaterBody | None
) -> list[RecordFlag]:
    """``NO_TRACK`` without a track; with one, ``OFF_WATER`` when it strays from the water
    patrolled (when that water, or a water it is part of, has a geometry) and ``TRACK_GAP``."""
    if track is None:
        return [flag(RecordFlagCode.NO_TRACK)]
    found = []
    geometry = await _geometry_of(segment)
    if geometry is not None and off_water(track, geometry):
        found.append(flag(RecordFlagCode.OFF_WATER))
    if has_gap(track):
        found.append(flag(RecordFlagCode.TRACK_GAP))
    return found


async def _geometry_of(water: WaterBody | None) -> dict[str, Any] | None:
    """The water body's geometry, or the nearest one of the river or basin it is part of: a
    segment drawn on no map is still patrolled along its river."""
    seen: set[int] = set()
    while water is not None and water.id not in seen:
        if water.geometry is not None:
            return water.geometry
        seen.add(water.id)
        water = await WaterBody.get_or_none(id=water.parent_id) if water.parent_id else None
    return None


def _with_track(context: RequestContext, spec: NewRecord) -> dict[str, Any]:
    """The details to store: with a track, the track itself and what was measured from it."""
    if spec.track is None:
        return spec.details
    check_track(spec.track, spec.occurred_at, spec.ended_at, context.clock_skew)
    measured = measure(spec.track)
    return {
        **spec.details,
        "distance_km": measured.distance_km,
        "duration_min": measured.duration_min,
        "track": stored(spec.track),
    }


async def _person_unit_path(context: RequestContext) -> str | None:
    """Where the viewer's own person belongs (a judgement never concerns its author)."""
    if context.viewer is None or context.viewer.person_id is None:
        return None
    person = await loaders(context).person.load(context.viewer.person_id)
    unit = await loaders(context).unit.load(person.org_unit_id) if person else None
    return unit.path if unit else None


async def _check_correction(context: RequestContext, spec: NewRecord, unit: OrgUnit) -> None:
    """A correction keeps its original's type and unit; only the original's author, or a
    holder of the same right at the original's authority or above, files one."""
    if spec.corrects_id is None:
        return
    original = await get_record(context, spec.corrects_id)
    if original is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such record.", "correctsId")
    if original.type is not spec.type or original.org_unit_id != unit.id:
        raise DomainError(
            ErrorCode.VALIDATION,
            "A correction keeps the type and unit it corrects.",
            "correctsId",
        )
    recorded = None
    if original.authority_unit_id is not None:
        authority = await loaders(context).unit.load(original.authority_unit_id)
        recorded = authority.path if authority else None
    require_correction(
        context,
        spec.type,
        unit,
        author_id=original.author_id,
        authority=authority_path(recorded, unit.path),
    )


async def place_task_or_report(
    context: RequestContext, raised: NewTask, unit: OrgUnit
) -> Placement:
    """``raiseTask`` hands a task down; one who may only report upward is told where to go."""
    try:
        return await place_task(context, raised)
    except DomainError as error:
        if error.code is ErrorCode.FORBIDDEN and allowed(context, TASK_REPORT, unit):
            raise DomainError(
                ErrorCode.FORBIDDEN,
                "You may not hand a task down here: report the issue upward with reportIssue "
                "and this record's recordId.",
                error.field,
            ) from None
        raise


async def create_record(context: RequestContext, spec: NewRecord) -> AccountabilityRecord:
    right = right_to_file(spec.type)  # ESCALATION: only escalateTask writes one
    _validate(spec)
    details = _with_track(context, spec)
    unit = await get_unit(context, spec.org_unit_id)
    if unit is None:
        log_denial(context, right, f"unit:{spec.org_unit_id}")
        raise DomainError(ErrorCode.NOT_FOUND, "No such org unit.", "orgUnitId")
    person_unit_path = await _person_unit_path(context) if spec.type in JUDGEMENTS else None
    authority = require_filing(context, spec.type, unit, person_unit_path=person_unit_path)
    if spec.task_id is not None and await get_task(context, spec.task_id) is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such task.", "taskId")
    segment = None
    if spec.water_body_id is not None:
        segment = await get_water_body(context, spec.water_body_id)
        if segment is None:  # none, or one the filer may not read
            raise DomainError(ErrorCode.NOT_FOUND, "No such water body.", "waterBodyId")
    await _check_correction(context, spec, unit)
    cited = await _check_evidence(context, spec)
    placed_task = None
    if spec.raise_task is not None:
        if spec.type not in RAISES_TASKS:
            raise DomainError(
                ErrorCode.VALIDATION, "Only patrols and findings raise tasks.", "raiseTask"
            )
        if spec.task_id is not None:
            raise DomainError(
                ErrorCode.VALIDATION, "Give either a task or a task to raise.", "raiseTask"
            )
        raised = NewTask(
            title=spec.raise_task.title,
            category=spec.raise_task.category,
            org_unit_id=unit.id,
            description=spec.summary,
            due_at=spec.raise_task.due_at,
        )
        placed_task = (raised, await place_task_or_report(context, raised, unit))
    author_id = context.viewer.id if context.viewer else None
    flags = await _implausibility(spec, details, author_id, segment)
    if cited and spec.type is RecordType.PATROL and spec.ended_at is not None:
        window = PatrolWindow(spec.occurred_at, spec.ended_at, spec.track, None)
        if spec.track is None:
            window = replace(window, water=await _geometry_of(segment))
        flags.extend(photo_flags(window, cited))
    filed_at = clock.now()
    if in_future(spec.occurred_at, spec.ended_at, filed_at, context.clock_skew):
        flags.append(flag(RecordFlagCode.IN_FUTURE))
    reason = reason_of(flags)
    async with in_transaction() as conn:
        task_id = spec.task_id
        if placed_task is not None:
            task_id = (await insert_task(conn, context, *placed_task)).id
        record = await AccountabilityRecord.create(
            created_at=filed_at,
            type=spec.type,
            org_unit_id=unit.id,
            author_id=author_id,
            authority_unit_id=path_ids(authority)[-1],
            person_id=context.viewer.person_id if context.viewer else None,
            task_id=task_id,
            water_body_id=spec.water_body_id,
            corrects_id=spec.corrects_id,
            occurred_at=spec.occurred_at,
            ended_at=spec.ended_at,
            summary=spec.summary,
            details=details,
            flagged=bool(reason),
            flag_reason=reason,
            using_db=conn,
        )
        await append_event(
            conn,
            context,
            action=AuditAction.RECORD_CREATE,
            entity_type=AuditEntity.RECORD,
            entity_id=record.id,
            org_path=unit.path,
            after={
                "type": spec.type.value,
                "unit": unit.path,
                "authority": authority,
                "flagged": reason or None,
                "corrects": spec.corrects_id,
                "task_id": task_id,
            },
        )
        await cite(conn, context, record, unit.path, cited)
        if spec.type is RecordType.CLEANUP:
            await cleanup_observations(conn, context, unit, record)
    return record


@dataclass(frozen=True)
class RecordQuery:
    org_unit_id: int | None = None
    type: RecordType | None = None
    flagged: bool | None = None
    task_id: int | None = None
    author_id: int | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


async def list_records(
    context: RequestContext, spec: RecordQuery, *, first: int | None, after: str | None
) -> Page[AccountabilityRecord]:
    query = scope(AccountabilityRecord.all(), context, RECORD_READ)
    if spec.org_unit_id is not None:
        unit = await get_unit(context, spec.org_unit_id)
        query = query.filter(org_unit_id=unit.id) if unit else query.filter(id__lt=0)
    if spec.type is not None:
        query = query.filter(type=spec.type)
    if spec.flagged is not None:
        query = query.filter(flagged=spec.flagged)
    if spec.task_id is not None:
        query = query.filter(task_id=spec.task_id)
    if spec.author_id is not None:
        query = query.filter(author_id=spec.author_id)
    if spec.occurred_from is not None:
        query = query.filter(occurred_at__gte=spec.occurred_from)
    if spec.occurred_to is not None:
        query = query.filter(occurred_at__lt=spec.occurred_to)
    return await paginate(query, first=first, after=after, order=OrderKey(descending=True))


async def get_record(context: RequestContext, record_id: int | None) -> AccountabilityRecord | None:
    """The record if the viewer may read it: batched per request, checked against the scope."""
    if record_id is None:
        return None
    record = await loaders(context).record.load(record_id)
    if record is None:
        return None
    unit = await loaders(context).unit.load(record.org_unit_id)
    if unit is None:
        return None
    allowed = scope_for(context, RECORD_READ).allows(unit.path, unit.level.value)
    return record if allowed else None
