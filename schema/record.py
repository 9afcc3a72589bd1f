"""Accountability records: who patrolled, cleaned, pledged, was assessed, rewarded or pressed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from models import enums
from models.record import AccountabilityRecord
from models.record_shown import EVIDENCE_FILES, shown_details
from resolvers import org as org_resolvers
from resolvers.evidence import evidence_of, get_evidence
from resolvers.loaders import loaders
from resolvers.records import RaisedTask, RecordQuery, get_record
from resolvers.tasks import get_task
from resolvers.tracks import TrackPoint
from resolvers.users import user_in_scope
from schema.context import ctx
from schema.enums import TaskCategory
from schema.evidence import Evidence
from schema.lazy import task_type
from schema.node import Node, from_global_id, optional_pk, to_global_id
from schema.org import OrgUnit
from schema.people import User
from schema.record_flag import RecordFlag, flags_of
from schema.water import WaterBody

if TYPE_CHECKING:
    from schema.task import Task

RecordType: TypeAlias = enums.RecordType


@strawberry.type(
    description="An accountability record. Append-only: a correction is a new record that "
    "points at the one it corrects."
)
class Record(Node):
    type: RecordType = strawberry.field(description="What the record attests.")
    occurred_at: datetime = strawberry.field(description="When it happened (a patrol's start).")
    ended_at: datetime | None = strawberry.field(description="When it ended, for patrols.")
    summary: str = strawberry.field(description="A line saying what happened.")
    details: JSON = strawberry.field(
        description="Type-specific facts, with camelCase keys as in `CreateRecordInput`: a "
        "patrol's `distanceKm`, `findings` and `photos` (and with a track, its `track` and the "
        "`durationMin` measured from it); a clean-up's `participants` and "
        "`garbageKg`; an assessment's `criteria`, each with `name`, `maxScore`, `awarded` and "
        "`evidenceIds` (global IDs: the records first, then the uploaded evidence; "
        "`criteria` gives them as objects); a reward's or penalty's `amount`; an "
        "escalation's `dueAt`, `daysOverdue`, `status` and `issuerUnitId` (a global ID)."
    )
    flagged: bool = strawberry.field(
        description="Implausible: for an inspector to look at. True exactly when `flags` is "
        "not empty."
    )
    flag_reason: str = strawberry.field(
        description="Why it was flagged: the messages of `flags`, joined by `; `; empty when "
        "it was not."
    )
    created_at: datetime = strawberry.field(description="When it was filed.")
    _model: strawberry.Private[AccountabilityRecord]

    @classmethod
    def of(cls, record: AccountabilityRecord) -> Record:
        return cls(
            id=to_global_id("Record", record.id),
            type=record.type,
            occurred_at=record.occurred_at,
            ended_at=record.ended_at,
            summary=record.summary,
            details=cast(JSON, shown_details(record.details)),
            flagged=record.flagged,
            flag_reason=record.flag_reason,
            created_at=record.created_at,
            _model=record,
        )

    @classmethod
    def maybe(cls, record: AccountabilityRecord | None) -> Record | None:
        return cls.of(record) if record is not None else None

    @strawberry.field(
        description="Why it is flagged, one entry per reason, in the order they were found; "
        "empty when it is not. Decided when the record was filed."
    )
    def flags(self) -> list[RecordFlag]:
        return flags_of(self._model.flag_reason)

    @strawberry.field(
        description="The uploaded evidence the record cites (its `evidenceIds`, then its "
        "criteria's), in that order. Whoever reads the record reads these, and their bytes "
        "at `GET /evidence/<sha256>`."
    )
    async def evidence(self, info: Info) -> list[Evidence]:
        return [Evidence.of(e) for e in await evidence_of(ctx(info), self._model.id)]

    @strawberry.field(
        description="An assessment's criteria with their scores and the evidence behind each, "
        "as objects; empty for other records."
    )
    def criteria(self) -> list[Criterion]:
        items = self._model.details.get("criteria") if self._model.details else None
        if not isinstance(items, list):
            return []
        return [Criterion.of(item) for item in items if isinstance(item, dict)]

    @strawberry.field(description="The unit the record is about.")
    async def org_unit(self, info: Info) -> OrgUnit | None:
        return OrgUnit.maybe(await org_resolvers.get_unit(ctx(info), self._model.org_unit_id))

    @strawberry.field(
        description="The account that filed it; null for records entered without one, and "
        "when you may not read that account (the accounts `node` gives you)."
    )
    async def author(self, info: Info) -> User | None:
        user = await user_in_scope(ctx(info), self._model.author_id)
        return User.of(user) if user is not None else None

    @strawberry.field(
        description="The unit of the grant the record was filed under (the lowest that allowed "
        "it); null if you cannot see that unit, or for records filed before it was recorded."
    )
    async def authority(self, info: Info) -> OrgUnit | None:
        unit_id = self._model.authority_unit_id
        return OrgUnit.maybe(await org_resolvers.get_unit(ctx(info), unit_id))

    @strawberry.field(description="The task the record fulfils or was raised for, if any.")
    async def task(self, info: Info) -> Annotated[Task, strawberry.lazy("schema.task")] | None:
        return task_type().maybe(await get_task(ctx(info), self._model.task_id))

    @strawberry.field(description="The river segment or lake concerned, if any.")
    async def water_body(self, info: Info) -> WaterBody | None:
        if self._model.water_body_id is None:
            return None
        return WaterBody.maybe(await loaders(ctx(info)).water_body.load(self._model.water_body_id))

    @strawberry.field(description="The record this one corrects, if it is a correction.")
    async def corrects(self, info: Info) -> Record | None:
        if self._model.corrects_id is None:
            return None
        return Record.maybe(await get_record(ctx(info), self._model.corrects_id))


@strawberry.type(description="One criterion of an assessment, e.g. one of the six goods.")
class Criterion:
    name: str = strawberry.field(description="The criterion, e.g. one of the six goods.")
    max_score: float = strawberry.field(description="The most it could score.")
    awarded: float = strawberry.field(description="The score given.")
    _records: strawberry.Private[list[int]]
    _files: strawberry.Private[list[int]]

    @classmethod
    def of(cls, item: dict[str, Any]) -> Criterion:
        def ids(key: str) -> list[int]:
            value = item.get(key)
            return [i for i in value if isinstance(i, int)] if isinstance(value, list) else []

        return cls(
            name=str(item.get("name", "")),
            max_score=float(item.get("max", 0)),
            awarded=float(item.get("awarded", 0)),
            _records=ids("evidence"),
            _files=ids(EVIDENCE_FILES),
        )

    @strawberry.field(
        description="What justifies the score: the records (`Record`) and the uploaded "
        "evidence (`Evidence`) it cites, in that order; those you may not read are left out."
    )
    async def evidence(self, info: Info) -> list[Node]:
        found: list[Node] = []
        for record_id in self._records:
            record = await get_record(ctx(info), record_id)
            if record is not None:
                found.append(Record.of(record))
        for evidence_id in self._files:
            evidence = await get_evidence(ctx(info), evidence_id)
            if evidence is not None:
                found.append(Evidence.of(evidence))
        return found


@strawberry.input(description="Narrows a record list. Every condition given must hold.")
class RecordFilter:
    org_unit_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only records of this unit."
    )
    type: RecordType | None = strawberry.field(
        default=None, description="Only records of this type."
    )
    flagged: bool | None = strawberry.field(default=None, description="Only flagged ones.")
    task_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only records filed against this task."
    )
    author_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only records written by this user."
    )
    occurred_from: datetime | None = strawberry.field(default=None, description="At or after.")
    occurred_to: datetime | None = strawberry.field(default=None, description="Before.")


def record_query(spec: RecordFilter | None) -> RecordQuery:
    if spec is None:
        return RecordQuery()
    return RecordQuery(
        org_unit_id=optional_pk(spec.org_unit_id, "OrgUnit"),
        type=spec.type,
        flagged=spec.flagged,
        task_id=optional_pk(spec.task_id, "Task"),
        author_id=optional_pk(spec.author_id, "User"),
        occurred_from=spec.occurred_from,
        occurred_to=spec.occurred_to,
    )


@strawberry.input(description="Where a patroller was, and when: one point of a GPS track.")
class TrackPointInput:
    lon: float = strawberry.field(description="Longitude in WGS 84 degrees, within ±180.")
    lat: float = strawberry.field(description="Latitude in WGS 84 degrees, within ±90.")
    at: datetime = strawberry.field(description="When the point was recorded.")


@strawberry.input(description="A patrol's facts.")
class PatrolInput:
    distance_km: float | None = strawberry.field(
        default=None,
        description="Distance walked or sailed, in km, for a patrol filed without a track. "
        "With a `track` it is refused (`VALIDATION`): the distance is measured from the track.",
    )
    track: list[TrackPointInput] | None = strawberry.field(
        default=None,
        description="The patrol's GPS track: 2 to 3000 points in strictly increasing time, "
        "between `occurredAt` and `endedAt` (give or take the allowed clock skew). Its "
        "geodesic length (WGS 84) and its duration are stored as `details.distanceKm` and "
        "`details.durationMin`, the points as `details.track`. A patrol without one is "
        "flagged `NO_TRACK`.",
    )
    findings: list[str] = strawberry.field(
        description="What the patrol found, one line each.", default_factory=list
    )
    photos: list[str] = strawberry.field(
        default_factory=list, description="References to stored photos."
    )


@strawberry.input(
    description="A clean-up's facts (e.g. a Friday clean-up under the 1110 mechanism)."
)
class CleanupInput:
    participants: int = strawberry.field(description="How many people took part.")
    garbage_kg: float = strawberry.field(description="Garbage cleared, in kg.")


@strawberry.input(description="One assessment criterion, e.g. one of the six goods.")
class CriterionInput:
    name: str = strawberry.field(description="The criterion, e.g. one of the six goods.")
    max_score: float = strawberry.field(description="The most it can score.")
    awarded: float = strawberry.field(description="The score given, at most maxScore.")
    evidence_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="What justifies the score: records' IDs, and uploaded evidence's IDs "
        "(`uploadEvidence`) that you may read. The evidence is cited by the record "
        "(`Record.evidence`).",
    )


@strawberry.input(description="The task a patrol or an inspection finding raises.")
class RaiseTaskInput:
    title: str = strawberry.field(description="What is to be done.")
    category: TaskCategory = strawberry.field(description="The task's category.")
    due_at: datetime | None = strawberry.field(default=None, description="The deadline, if any.")

    def to_domain(self) -> RaisedTask:
        return RaisedTask(title=self.title, category=self.category, due_at=self.due_at)


@strawberry.input(description="A new accountability record. Give the part matching its type.")
class CreateRecordInput:
    type: RecordType = strawberry.field(
        description="What the record attests; give the matching part (patrol, cleanup, criteria). "
        "Each type is a right of its own (`record.patrol`, …, `record.finding`); ESCALATION is "
        "written only by `escalateTask`."
    )
    org_unit_id: strawberry.ID = strawberry.field(
        description="The unit the record is about. An ASSESSMENT, REWARD or PENALTY goes only to "
        "a unit strictly below the unit of your role, never to your own or a peer's."
    )
    occurred_at: datetime = strawberry.field(description="When it happened.")
    ended_at: datetime | None = strawberry.field(
        default=None, description="When it ended (required for a patrol)."
    )
    summary: str = strawberry.field(
        default="", description="A line saying what happened, at most 500 characters."
    )
    task_id: strawberry.ID | None = strawberry.field(
        default=None, description="The task this record fulfils (e.g. a quota of patrols)."
    )
    water_body_id: strawberry.ID | None = strawberry.field(
        default=None, description="The river segment or lake concerned."
    )
    corrects_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The record this one corrects (same type and unit): yours, or one filed "
        "under a unit where, or above which, you hold the same right.",
    )
    patrol: PatrolInput | None = strawberry.field(default=None, description="For PATROL.")
    cleanup: CleanupInput | None = strawberry.field(default=None, description="For CLEANUP.")
    criteria: list[CriterionInput] | None = strawberry.field(
        default=None, description="An assessment's scores."
    )
    amount: float | None = strawberry.field(
        default=None, description="A reward's or penalty's amount, if any."
    )
    raise_task: RaiseTaskInput | None = strawberry.field(
        default=None,
        description="For PATROL or INSPECTION_FINDING: a task handed down to the record's unit, "
        "in the same transaction; it needs `task:create` there (a unit issuing to itself or "
        "below). To send a problem upward instead, file the record, then `reportIssue` with "
        "its `recordId` (grid leaders and enterprise chiefs, who issue no tasks, do that).",
    )
    evidence_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Uploaded evidence (`uploadEvidence`) the record cites, at most 50: "
        "yours, or evidence you may read. One you may not read is NOT_FOUND. A patrol whose "
        "photos were taken outside its time or far from its track is flagged `PHOTO_TIME` or "
        "`PHOTO_PLACE`.",
    )

    def track(self) -> tuple[TrackPoint, ...] | None:
        if self.patrol is None or self.patrol.track is None:
            return None
        return tuple(TrackPoint(lon=p.lon, lat=p.lat, at=p.at) for p in self.patrol.track)

    def cited(self) -> tuple[int, ...]:
        return tuple(optional_pk(e, "Evidence") or -1 for e in self.evidence_ids)

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.patrol is not None:
            if self.patrol.distance_km is not None:
                details["distance_km"] = self.patrol.distance_km
            details.update(findings=self.patrol.findings, photos=self.patrol.photos)
        if self.cleanup is not None:
            details.update(
                participants=self.cleanup.participants, garbage_kg=self.cleanup.garbage_kg
            )
        if self.criteria is not None:
            details["criteria"] = [_criterion(c) for c in self.criteria]
        if self.amount is not None:
            details["amount"] = self.amount
        return details


def _criterion(given: CriterionInput) -> dict[str, Any]:
    """A criterion as details store it: its records under ``evidence`` (an ID of neither kind
    as -1, which is not found) and its uploaded evidence under ``evidence_files``."""
    records: list[int] = []
    files: list[int] = []
    for global_id in given.evidence_ids:
        type_name, pk = from_global_id(global_id)
        (files if type_name == "Evidence" else records).append(
            pk if type_name in ("Evidence", "Record") else -1
        )
    stored: dict[str, Any] = {
        "name": given.name,
        "max": given.max_score,
        "awarded": given.awarded,
        "evidence": records,
    }
    if files:
        stored[EVIDENCE_FILES] = files
    return stored
