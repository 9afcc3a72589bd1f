"""Complaints from the public (群众投诉): submitted without an account, followed with a receipt.

``submit_complaint`` takes a complaint about a segment (or a lake) from anyone, throttled per
client address, and turns it into a task (``origin`` COMPLAINT) held by the unit responsible
for that water: of the units it runs through, a village first, else a township, else a
county — the deepest level there is — and among several at that level the one with the
smallest code (``responsible_unit``). The task is issued by and held at that unit, starts
ASSIGNED, is due at the end of the complaint's handle time limit (``core.time_limits``) and is
closed with feedback like any reported task (``resolvers.feedback``). In one transaction: the
complaint, its task, the ``task.create`` audit event (no actor: the public) and a
COMPLAINT_RECEIVED notice to the unit's accounts.

The complainant gets a receipt: 12 characters from an alphabet without look-alikes (no 0/O,
1/I/L), about 59 bits from ``secrets``; only its SHA-256 is stored. ``complaint_status``
looks the hash up by its unique index, so a receipt nobody holds costs the same as one that
exists and says nothing about others.

Evidence: uploads need an account, so an anonymous complaint carries no evidence
(``evidenceIds`` from an anonymous caller is VALIDATION); a signed-in caller may attach
evidence they uploaded themselves.

The throttle: every submission from a client address (an IPv6 one counted by its /64, as
logins are) is written first, in its own transaction, and counted against
``RIVERCHIEF_COMPLAINT_LIMIT`` in a fixed window; the rows live in the database, so every
server process counts the same submissions.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction

from core import clock
from core.complaint_settings import ComplaintSettings
from core.complaint_settings import configured as complaint_settings
from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from core.time_limits import Stage, TimeLimits
from core.time_limits import configured as time_limits
from models.complaint import Complaint, ComplaintAttempt
from models.enums import (
    OrgLevel,
    TaskCategory,
    TaskOrigin,
    TaskStatus,
    WaterKind,
)
from models.evidence import Evidence
from models.graph_names import global_id
from models.notification import NotificationKind
from models.org import OrgUnit, WaterBody
from models.task import Task
from policies.rights import PERSON_PII_READ
from policies.scope import scope_for
from resolvers.accounts import throttle_address
from resolvers.loaders import loaders
from resolvers.outbox import Recipients, notify
from resolvers.people import mask
from resolvers.task_commands import log_created

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_LENGTH = 12
MAX_DESCRIPTION = 2000
MAX_CONTACT = 32
MAX_EVIDENCE = 10
MAX_TITLE = 200
COMPLAINABLE = (WaterKind.SEGMENT, WaterKind.LAKE)
# Where a complaint goes: the deepest of these levels among the units the water runs through.
RESPONSIBLE_LEVELS = (OrgLevel.VILLAGE, OrgLevel.TOWNSHIP, OrgLevel.COUNTY)
THROTTLED = "Too many complaints from your address: try again in {minutes} minute(s)."


class ComplaintState(StrEnum):
    RECEIVED = "RECEIVED"
    BEING_HANDLED = "BEING_HANDLED"
    CLOSED = "CLOSED"


STATE_OF = {
    TaskStatus.DRAFT: ComplaintState.RECEIVED,
    TaskStatus.ASSIGNED: ComplaintState.RECEIVED,
    TaskStatus.IN_PROGRESS: ComplaintState.BEING_HANDLED,
    TaskStatus.SUBMITTED: ComplaintState.BEING_HANDLED,
    TaskStatus.REJECTED: ComplaintState.BEING_HANDLED,
    TaskStatus.VERIFIED: ComplaintState.CLOSED,
    TaskStatus.CANCELLED: ComplaintState.CLOSED,
}


@dataclass(frozen=True)
class NewComplaint:
    """A complaint as the public sends it."""

    segment_code: str
    description: str
    location: dict[str, Any] | None = None
    contact: str = ""
    evidence_ids: tuple[int, ...] = ()
    # False when some evidence ID is not an ``Evidence`` global ID (checked by the schema).
    evidence_well_formed: bool = True


@dataclass(frozen=True)
class PublicStatus:
    """What a receipt shows: nothing about the handlers, the unit or the complainant."""

    state: ComplaintState
    feedback: str | None
    received_at: datetime
    segment_name: str


def new_receipt(rng: random.Random | None = None) -> str:
    """A fresh receipt, ``XXXX-XXXX-XXXX``; ``rng`` only for the demo's fixed receipts."""
    pick = rng.choice if rng is not None else secrets.choice
    raw = "".join(pick(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECEIPT_LENGTH, 4))


def receipt_hash(receipt: str) -> str:
    """The stored form: as typed, upper case, without spaces and dashes, hashed."""
    normal = "".join(receipt.split()).replace("-", "").upper()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


async def complainable(code: str) -> WaterBody | None:
    """The segment or lake with this code (public: a river sign names it), or None."""
    code = code.strip()
    if not code or len(code) > 64:
        return None
    return await WaterBody.get_or_none(code=code, kind__in=[k.value for k in COMPLAINABLE])


async def responsible_unit(water: WaterBody) -> OrgUnit | None:
    """The unit a complaint about ``water`` goes to: of the units it runs through, those of
    the deepest level among village, township and county; the smallest code among them."""
    units = await OrgUnit.filter(
        water_bodies__id=water.id, level__in=[level.value for level in RESPONSIBLE_LEVELS]
    )
    for level in RESPONSIBLE_LEVELS:
        found = sorted((u for u in units if u.level == level), key=lambda u: u.code)
        if found:
            return found[0]
    return None


def _validate(context: RequestContext, spec: NewComplaint) -> None:
    if not spec.description.strip():
        raise DomainError(ErrorCode.VALIDATION, "Say what is wrong.", "description")
    if len(spec.description) > MAX_DESCRIPTION:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"A description has at most {MAX_DESCRIPTION} characters.",
            "description",
        )
    if len(spec.contact) > MAX_CONTACT:
        raise DomainError(
            ErrorCode.VALIDATION, f"A contact has at most {MAX_CONTACT} characters.", "contact"
        )
    if spec.evidence_ids and context.viewer is None:
        raise DomainError(
            ErrorCode.VALIDATION,
            "Evidence is uploaded by a signed-in account; an anonymous complaint has none.",
            "evidenceIds",
        )
    if not spec.evidence_well_formed or len(spec.evidence_ids) > MAX_EVIDENCE:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"Evidence is given as at most {MAX_EVIDENCE} IDs of your uploads.",
            "evidenceIds",
        )


async def _check_evidence(context: RequestContext, spec: NewComplaint) -> None:
    if not spec.evidence_ids or context.viewer is None:
        return
    own = await Evidence.filter(
        id__in=list(spec.evidence_ids), uploader_id=context.viewer.id
    ).count()
    if own != len(set(spec.evidence_ids)):
        raise DomainError(ErrorCode.NOT_FOUND, "No such evidence of yours.", "evidenceIds")


async def _throttle(context: RequestContext, settings: ComplaintSettings) -> None:
    """Count this submission from its address; refuse it past the limit in the window.

    The attempt is committed before the others are counted, and every other attempt in the
    window counts, those committed meanwhile too: of two at once from one address, the second
    to count sees the first, so concurrent processes never let more than the limit through:
    more than the limit arriving at once may all be refused. A refused attempt takes its row
    back."""
    now = clock.now()
    address = throttle_address(context.client_address)
    since = now - settings.window
    async with in_transaction() as conn:
        await ComplaintAttempt.filter(at__lt=since).using_db(conn).delete()
        attempt = await ComplaintAttempt.create(address=address, at=now, using_db=conn)
    earlier: list[datetime] = [
        row["at"]
        for row in await ComplaintAttempt.filter(address=address, at__gte=since)
        .exclude(id=attempt.id)
        .order_by("at")
        .values("at")
    ]
    if len(earlier) >= settings.limit:
        await ComplaintAttempt.filter(id=attempt.id).delete()
        oldest = earlier[len(earlier) - settings.limit]
        wait = max(1, int(((oldest + settings.window) - now).total_seconds() // 60) + 1)
        raise DomainError(ErrorCode.TOO_MANY_ATTEMPTS, THROTTLED.format(minutes=wait))


async def submit_complaint(
    context: RequestContext,
    spec: NewComplaint,
    *,
    settings: ComplaintSettings | None = None,
    limits: TimeLimits | None = None,
    receipt: str | None = None,
) -> str:
    """Take a complaint; returns the receipt to follow it with (shown once, never stored)."""
    settings = settings or complaint_settings()
    await _throttle(context, settings)
    _validate(context, spec)
    water = await complainable(spec.segment_code)
    if water is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No river segment has this code.", "segmentCode")
    unit = await responsible_unit(water)
    if unit is None:
        raise DomainError(
            ErrorCode.NOT_FOUND, "No unit answers for this segment yet.", "segmentCode"
        )
    await _check_evidence(context, spec)
    receipt = receipt or new_receipt()
    limits = limits or time_limits()
    now = clock.now()
    async with in_transaction() as conn:
        task = await Task.create(
            created_at=now,
            title=f"群众投诉：{water.name}"[:MAX_TITLE],
            description=spec.description.strip(),
            category=TaskCategory.OTHER,
            status=TaskStatus.ASSIGNED,
            org_unit_id=unit.id,
            issuer_unit_id=unit.id,
            issued_by_id=None,
            due_at=now + limits.limit(TaskCategory.OTHER, Stage.HANDLE, TaskOrigin.COMPLAINT),
            origin=TaskOrigin.COMPLAINT,
            water_body_id=water.id,
            location=spec.location,
            evidence_ids=[global_id("Evidence", e) for e in spec.evidence_ids] or None,
            using_db=conn,
        )
        complaint = await Complaint.create(
            task_id=task.id,
            segment_id=water.id,
            receipt_hash=receipt_hash(receipt),
            description=spec.description.strip(),
            location=spec.location,
            contact=spec.contact.strip(),
            received_at=now,
            using_db=conn,
        )
        await log_created(
            conn,
            context,
            task,
            unit,
            origin=TaskOrigin.COMPLAINT.value,
            complaint_id=complaint.id,
            water_body_id=water.id,
            contact_given=bool(complaint.contact),
            evidence_ids=task.evidence_ids or [],
        )
        await notify(
            conn,
            NotificationKind.COMPLAINT_RECEIVED,
            Recipients(units=(unit,)),
            title=f"群众投诉：{water.name}",
            body=task.description,
            task_id=task.id,
            org_unit_id=unit.id,
        )
    return receipt


async def complaint_status(receipt: str) -> PublicStatus | None:
    """What the holder of ``receipt`` may know; None for a receipt nobody holds."""
    found = (
        await Complaint.filter(receipt_hash=receipt_hash(receipt[:64]))
        .select_related("task", "segment")
        .first()
    )
    if found is None:
        return None
    task: Task = found.task
    return PublicStatus(
        state=STATE_OF[task.status],
        feedback=task.feedback if STATE_OF[task.status] is ComplaintState.CLOSED else None,
        received_at=found.received_at,
        segment_name=found.segment.name,
    )


async def complaint_of(context: RequestContext, task: Task) -> Complaint | None:
    """The complaint a task (already read by the viewer) was raised by."""
    if task.origin is not TaskOrigin.COMPLAINT:
        return None
    return await Complaint.get_or_none(task_id=task.id)


async def shown_contact(context: RequestContext, complaint: Complaint, task: Task) -> str:
    """The contact in full for a viewer who reads personal data at the task's unit, masked
    (``138****5678``) for anyone else."""
    unit = await loaders(context).unit.load(task.org_unit_id)
    if unit is not None and scope_for(context, PERSON_PII_READ).allows(unit.path, unit.level.value):
        return complaint.contact
    return mask(complaint.contact, 3, 4)
