"""Reporting an issue upward (上报): the first step of 上报 → 交办 → 处置 → 反馈.

An account holding ``task.report:create`` at a unit reports a problem found there. It becomes
a task held by the unit above (the parent of the unit reported from), ``origin`` REPORTED,
with its ``reporter``: issued by and held at that receiving unit, which dispatches it down
with the ordinary assign/decompose mutations, and closes it with feedback
(``resolvers.feedback``). It starts ASSIGNED (delivered, not yet acknowledged), due at the end
of its category's handle time limit (``core.time_limits``). The reporter reads that one task
(``policies.reporting``), nothing else of the unit above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core import clock
from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from core.time_limits import Stage, TimeLimits, configured
from models.enums import TaskCategory, TaskOrigin, TaskStatus
from models.org import OrgUnit
from models.task import Task
from policies.guard import Site, log_denial, require
from policies.reporting import reported_by_viewer
from policies.rights import TASK_REPORT
from resolvers.evidence import citable
from resolvers.org import get_unit
from resolvers.pagination import OrderKey, Page, paginate
from resolvers.records import RAISES_TASKS, get_record
from resolvers.task_commands import MAX_NOTE, MAX_TITLE, log_created
from resolvers.water import get_water_body

MAX_EVIDENCE = 50


@dataclass(frozen=True)
class NewReport:
    """An issue reported from ``org_unit_id`` to the unit above it."""

    title: str
    org_unit_id: int
    description: str = ""
    category: TaskCategory = TaskCategory.OTHER
    water_body_id: int | None = None
    location: dict[str, Any] | None = None
    evidence_ids: tuple[str, ...] = ()
    # False when some evidence ID is not an ``Evidence`` global ID (checked by the schema).
    evidence_well_formed: bool = True
    evidence_pks: tuple[int, ...] = ()  # their keys, when well formed
    record_id: int | None = None
    hand_over_of_id: int | None = None


def _validate(spec: NewReport) -> None:
    if not spec.title.strip() or len(spec.title) > MAX_TITLE:
        raise DomainError(
            ErrorCode.VALIDATION, f"A title has 1 to {MAX_TITLE} characters.", "title"
        )
    if len(spec.description) > MAX_NOTE:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"A description has at most {MAX_NOTE} characters.",
            "description",
        )
    if not spec.evidence_well_formed or len(spec.evidence_ids) > MAX_EVIDENCE:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"Evidence is given as at most {MAX_EVIDENCE} IDs of uploaded evidence.",
            "evidenceIds",
        )


async def receiving_unit(unit: OrgUnit, field: str) -> OrgUnit:
    """The unit above ``unit``: where what is reported from it goes."""
    if unit.parent_id is None:
        raise DomainError(
            ErrorCode.VALIDATION, "There is no level above this unit to report to.", field
        )
    return await OrgUnit.get(id=unit.parent_id)


async def _check_sources(context: RequestContext, spec: NewReport, unit: OrgUnit) -> None:
    # No citing an upload one may not read, as a record may not (``resolvers.evidence``).
    await citable(context, spec.evidence_pks, "evidenceIds")
    if spec.record_id is not None:
        record = await get_record(context, spec.record_id)
        if record is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such record.", "recordId")
        if record.org_unit_id != unit.id or record.type not in RAISES_TASKS:
            raise DomainError(
                ErrorCode.VALIDATION,
                "An issue is reported from a patrol or a finding of the same unit.",
                "recordId",
            )
    if spec.water_body_id is not None and await get_water_body(context, spec.water_body_id) is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such water body.", "waterBodyId")


async def insert_report(
    conn: BaseDBAsyncClient,
    context: RequestContext,
    spec: NewReport,
    unit: OrgUnit,
    receiver: OrgUnit,
    limits: TimeLimits,
) -> Task:
    """Write the reported task and its ``task.create`` event in the caller's transaction."""
    viewer = context.viewer
    now = clock.now()
    task = await Task.create(
        created_at=now,
        title=spec.title.strip(),
        description=spec.description.strip(),
        category=spec.category,
        status=TaskStatus.ASSIGNED,
        org_unit_id=receiver.id,
        issuer_unit_id=receiver.id,
        issued_by_id=None,  # nobody issued it: it was reported (``reported_by``)
        due_at=now + limits.limit(spec.category, Stage.HANDLE),
        origin=TaskOrigin.REPORTED,
        reporter_id=viewer.person_id if viewer else None,
        reported_by_id=viewer.id if viewer else None,
        source_record_id=spec.record_id,
        water_body_id=spec.water_body_id,
        location=spec.location,
        evidence_ids=list(spec.evidence_ids) or None,
        hand_over_of_id=spec.hand_over_of_id,
        using_db=conn,
    )
    await log_created(
        conn,
        context,
        task,
        receiver,
        origin=TaskOrigin.REPORTED.value,
        reported_from_unit_id=unit.id,
        reporter_id=task.reporter_id,
        source_record_id=spec.record_id,
        water_body_id=spec.water_body_id,
        evidence_ids=list(spec.evidence_ids),
        hand_over_of=spec.hand_over_of_id,
    )
    return task


async def report_issue(
    context: RequestContext, spec: NewReport, limits: TimeLimits | None = None
) -> Task:
    """Report an issue found at a unit where the viewer may report, to the unit above it."""
    unit = await get_unit(context, spec.org_unit_id)
    if unit is None:
        log_denial(context, TASK_REPORT, f"unit:{spec.org_unit_id}")
        raise DomainError(ErrorCode.NOT_FOUND, "No such org unit.", "orgUnitId")
    require(context, TASK_REPORT, Site(unit), field="orgUnitId")
    _validate(spec)
    receiver = await receiving_unit(unit, "orgUnitId")
    await _check_sources(context, spec, unit)
    async with in_transaction() as conn:
        return await insert_report(conn, context, spec, unit, receiver, limits or configured())


async def list_my_reports(
    context: RequestContext, *, first: int | None, after: str | None
) -> Page[Task]:
    """The issues the viewer reported, newest first, wherever they are now held."""
    query = Task.filter(reported_by_viewer(context))
    return await paginate(query, first=first, after=after, order=OrderKey(descending=True))
