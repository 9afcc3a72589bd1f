"""Inputs and payloads of the upward loop: ``reportIssue`` and ``escalateTask``'s answer."""

from __future__ import annotations

import strawberry

from core.errors import DomainError
from resolvers.reporting import NewReport
from schema.enums import TaskCategory
from schema.errors import UserError
from schema.geojson import GeoJSON
from schema.node import from_global_id, optional_pk
from schema.record import Record
from schema.task import Task


def _evidence(ids: list[strawberry.ID]) -> bool:
    """Every ID names uploaded evidence (an ``Evidence`` global ID)."""
    try:
        return all(from_global_id(str(i))[0] == "Evidence" for i in ids)
    except DomainError:
        return False


@strawberry.input(
    description="An issue found at a unit, reported to the unit above it (上报). It becomes a "
    "REPORTED task held by that unit, due at the end of its category's handle time limit."
)
class ReportIssueInput:
    title: str = strawberry.field(description="What is wrong, 1 to 200 characters.")
    description: str = strawberry.field(default="", description="The details.")
    org_unit_id: strawberry.ID = strawberry.field(
        description="The unit the issue was found at, where you may report; the task goes to "
        "the unit above it."
    )
    category: TaskCategory = strawberry.field(
        default=TaskCategory.OTHER,
        description="What kind of problem; it sets the time limits (default OTHER).",
    )
    water_body_id: strawberry.ID | None = strawberry.field(
        default=None, description="The water body it is at, if any, one you may read."
    )
    location: GeoJSON | None = strawberry.field(
        default=None, description="Where it is, as a GeoJSON geometry (usually a Point)."
    )
    evidence_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="IDs of uploaded evidence (at most 50), each one you uploaded or may read "
        "(`NOT_FOUND` otherwise), kept with the task as given.",
    )
    record_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The patrol or inspection finding of that unit the issue was found on.",
    )

    def to_domain(self) -> NewReport:
        return NewReport(
            title=self.title,
            description=self.description,
            org_unit_id=optional_pk(self.org_unit_id, "OrgUnit") or -1,
            category=self.category,
            water_body_id=optional_pk(self.water_body_id, "WaterBody"),
            location=dict(self.location) if self.location is not None else None,
            evidence_ids=tuple(str(i) for i in self.evidence_ids),
            evidence_well_formed=_evidence(self.evidence_ids),
            evidence_pks=tuple(optional_pk(i, "Evidence") or -1 for i in self.evidence_ids)
            if _evidence(self.evidence_ids)
            else (),
            record_id=optional_pk(self.record_id, "Record"),
        )


@strawberry.type(description="The escalation written, or why not.")
class EscalateTaskPayload:
    record: Record | None = strawberry.field(
        description="The ESCALATION record written; null when refused."
    )
    hand_over: Task | None = strawberry.field(
        description="HAND_OVER: the new REPORTED task held by the level above; null otherwise."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")
