"""Complaints from the public: the anonymous input and receipt, the public status a receipt
shows, and the complaint as handlers read it through its task."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from core.errors import DomainError
from models.complaint import Complaint as ComplaintModel
from models.task import Task as TaskModel
from resolvers.complaints import ComplaintState as ComplaintStateValue
from resolvers.complaints import NewComplaint, PublicStatus, shown_contact
from resolvers.water import get_water_body
from schema.context import ctx
from schema.errors import UserError
from schema.geojson import GeoJSON
from schema.node import from_global_id
from schema.water import WaterBody


@strawberry.enum(description="Where a complaint stands, as its receipt shows it.")
class ComplaintState(Enum):
    RECEIVED = strawberry.enum_value(
        ComplaintStateValue.RECEIVED.value,
        description="Received by the unit responsible for the segment, not yet taken up.",
    )
    BEING_HANDLED = strawberry.enum_value(
        ComplaintStateValue.BEING_HANDLED.value, description="Someone is working on it."
    )
    CLOSED = strawberry.enum_value(
        ComplaintStateValue.CLOSED.value, description="Handled or dismissed, with feedback."
    )


def _evidence_pks(ids: list[strawberry.ID]) -> tuple[tuple[int, ...], bool]:
    try:
        decoded = [from_global_id(str(i)) for i in ids]
    except DomainError:
        return (), False
    return tuple(pk for _, pk in decoded), all(kind == "Evidence" for kind, _ in decoded)


@strawberry.input(
    description="A complaint from the public about a river segment or lake, as a river sign's "
    "QR code links to it. No account is needed."
)
class SubmitComplaintInput:
    segment_code: str = strawberry.field(
        description="The code of the segment (or lake) the complaint is about, as the sign "
        "and its QR code give it."
    )
    description: str = strawberry.field(description="What is wrong, 1 to 2000 characters.")
    location: GeoJSON | None = strawberry.field(
        default=None, description="Where it is, as a GeoJSON geometry (usually a Point)."
    )
    contact: str = strawberry.field(
        default="",
        description="A phone number to call back, at most 32 characters (optional). Only the "
        "responsible unit's handlers read it; it is never shown with the receipt.",
    )
    evidence_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Evidence you uploaded (at most 10). Uploading needs an account, so an "
        "anonymous complaint sends none (VALIDATION).",
    )

    def to_domain(self) -> NewComplaint:
        pks, well_formed = _evidence_pks(self.evidence_ids)
        return NewComplaint(
            segment_code=self.segment_code,
            description=self.description,
            location=dict(self.location) if self.location is not None else None,
            contact=self.contact,
            evidence_ids=pks,
            evidence_well_formed=well_formed,
        )


@strawberry.type(description="The receipt for a complaint, or why it was not taken.")
class SubmitComplaintPayload:
    receipt: str | None = strawberry.field(
        description="Keep it: with it `complaintStatus` shows how the complaint stands. Shown "
        "once, never stored in the clear; null when refused."
    )
    errors: list[UserError] = strawberry.field(
        description="Empty on success; TOO_MANY_ATTEMPTS when your address sent too many "
        "complaints lately, NOT_FOUND for an unknown segment, VALIDATION for bad input."
    )


@strawberry.type(
    description="How a complaint stands, for whoever holds its receipt: nothing about who "
    "handles it, the unit, other complaints or the contact given."
)
class ComplaintStatus:
    status: ComplaintState = strawberry.field(description="Received, being handled or closed.")
    feedback: str | None = strawberry.field(
        description="The answer the responsible unit gave when it closed the complaint; null "
        "until then."
    )
    received_at: datetime = strawberry.field(description="When the complaint was received.")
    segment_name: str = strawberry.field(
        description="The name of the segment the complaint is about."
    )

    @classmethod
    def maybe(cls, status: PublicStatus | None) -> ComplaintStatus | None:
        if status is None:
            return None
        return cls(
            status=ComplaintState(status.state.value),
            feedback=status.feedback,
            received_at=status.received_at,
            segment_name=status.segment_name,
        )


@strawberry.type(
    description="A complaint from the public as the handlers of its task read it (the task's "
    "read rules apply)."
)
class Complaint:
    description: str = strawberry.field(description="What the complainant wrote.")
    location: GeoJSON | None = strawberry.field(description="Where it is, if the complainant said.")
    received_at: datetime = strawberry.field(description="When the complaint was received.")
    _model: strawberry.Private[ComplaintModel]
    _task: strawberry.Private[TaskModel]

    @classmethod
    def of(cls, complaint: ComplaintModel, task: TaskModel) -> Complaint:
        return cls(
            description=complaint.description,
            location=GeoJSON(complaint.location) if complaint.location else None,
            received_at=complaint.received_at,
            _model=complaint,
            _task=task,
        )

    @strawberry.field(
        description="The phone number the complainant left, possibly empty: masked unless you "
        "read personal data (`person_pii:read`) at the task's unit."
    )
    async def contact(self, info: Info) -> str:
        return await shown_contact(ctx(info), self._model, self._task)

    @strawberry.field(description="The segment (or lake) complained about, if you may read it.")
    async def segment(self, info: Info) -> WaterBody | None:
        return WaterBody.maybe(await get_water_body(ctx(info), self._model.segment_id))
