"""Under whose authority a record is filed, and who may correct it.

Record types are rights: filing a record of a type needs `record.<type>:create` at the
record's unit (``policies.rights.RECORD_RIGHTS``; ESCALATION has no such right). The record is
filed under the viewer's lowest grant that allows it, and that grant's unit is the record's
``authority``. Of the grants that allow the type there, only these count:

- a pairing lends its reach to field work only (``policies.engine.through_pairings``:
  patrols, clean-ups); every other record is filed inside the grant's own subtree;
- a judgement (``JUDGEMENTS``: assessment, reward, penalty) only at a unit strictly below the
  grant's unit: never at one's own unit, and so never at a peer's (a township head judges
  neither its own township nor another);
- and never by its subject: nobody files a judgement of a unit while they hold any grant at
  that unit or below it, or while their person belongs there.

A correction (a record naming the one it corrects) is a filing like any other, and besides is
allowed only to the original's author or to a viewer holding the same right through a grant
at the original's authority unit or above it. A record without a recorded authority (filed
before authorities were recorded) counts as filed under its top-level unit.
"""

from __future__ import annotations

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from core.policy import Grant
from models.enums import RecordType
from models.paths import path_ids
from policies.explain import deciding_grants
from policies.guard import Site, UnitLike, log_denial, require
from policies.rights import JUDGEMENTS, Right, record_right

ONLY_ESCALATE = "ESCALATION records are written only by escalateTask."
# What `createRecord` tells clients it needs.
RECORD_SENTENCE = (
    "Requires `record.<type>:create` for the record's type at the record's unit (`record.finding` "
    "for an INSPECTION_FINDING); an ASSESSMENT, REWARD or PENALTY only at a unit strictly below "
    "the unit of the grant that allows it, and never about yourself. ESCALATION records come "
    "only from `escalateTask`."
)


def _level(unit: UnitLike) -> str:
    return unit.level.value if hasattr(unit.level, "value") else str(unit.level)


def right_to_file(kind: RecordType) -> Right:
    """The right a record of ``kind`` needs, or ``VALIDATION`` on ``type`` for ESCALATION."""
    right = record_right(kind)
    if right is None:
        raise DomainError(ErrorCode.VALIDATION, ONLY_ESCALATE, "type")
    return right


def filing_grants(context: RequestContext, kind: RecordType, unit: UnitLike) -> list[Grant]:
    """The viewer's grants under which it may file a record of ``kind`` at ``unit``, lowest
    unit first."""
    if context.viewer is None:
        return []
    right = right_to_file(kind)
    subject = context.viewer.subject
    grants = deciding_grants(context.policy, subject, right, unit.path, _level(unit))
    if kind in JUDGEMENTS:  # and strictly below its unit
        grants = [g for g in grants if unit.path != g.prefix]
    return grants


def is_subject(context: RequestContext, unit_path: str, person_unit_path: str | None) -> bool:
    """The viewer is (part of) the unit at ``unit_path``: a grant there or below, or its
    person belongs there."""
    if context.viewer is None:
        return False
    held = context.policy.grants_of(context.viewer.subject)
    if any(g.prefix.startswith(unit_path) for g in held):
        return True
    return person_unit_path is not None and person_unit_path.startswith(unit_path)


def require_filing(
    context: RequestContext,
    kind: RecordType,
    unit: UnitLike,
    *,
    person_unit_path: str | None = None,
) -> str:
    """The path of the unit under whose authority the viewer files a record of ``kind`` at
    ``unit``; else ``NOT_FOUND`` outside the viewer's sight, ``FORBIDDEN`` inside it (field
    ``orgUnitId``), ``VALIDATION`` for ESCALATION (field ``type``)."""
    right = right_to_file(kind)
    require(context, right, Site(unit), field="orgUnitId")
    grants = filing_grants(context, kind, unit)
    if not grants:
        log_denial(context, right, unit.path)
        if kind in JUDGEMENTS:
            message = f"A {kind.value} is filed only for units below your own."
        else:
            message = f"You may not file a {kind.value} here: your pairing lends only field work."
        raise DomainError(ErrorCode.FORBIDDEN, message, "orgUnitId")
    if kind in JUDGEMENTS and is_subject(context, unit.path, person_unit_path):
        log_denial(context, right, unit.path)
        raise DomainError(
            ErrorCode.FORBIDDEN, f"Nobody files a {kind.value} about themselves.", "orgUnitId"
        )
    return grants[0].prefix


def acting_authority(context: RequestContext, right: Right, unit: UnitLike) -> str | None:
    """The path of the viewer's lowest grant that allows ``right`` at ``unit`` (an
    escalation's authority: ``task:update`` at the issuing unit)."""
    if context.viewer is None:
        return None
    grants = deciding_grants(context.policy, context.viewer.subject, right, unit.path, _level(unit))
    return grants[0].prefix if grants else None


def authority_path(recorded: str | None, unit_path: str) -> str:
    """A record's authority: the recorded unit, or else its top-level unit."""
    if recorded is not None:
        return recorded
    return f"/{path_ids(unit_path)[0]}/"


def require_correction(
    context: RequestContext,
    kind: RecordType,
    unit: UnitLike,
    *,
    author_id: int | None,
    authority: str,
) -> None:
    """The viewer may correct a record of ``kind`` at ``unit`` that ``author_id`` filed under
    the authority at path ``authority``; else ``FORBIDDEN`` on ``correctsId``."""
    if context.viewer is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such record.", "correctsId")
    if author_id is not None and author_id == context.viewer.id:
        return
    if any(authority.startswith(g.prefix) for g in filing_grants(context, kind, unit)):
        return
    right = right_to_file(kind)
    log_denial(context, right, unit.path)
    raise DomainError(
        ErrorCode.FORBIDDEN,
        "Only its author, or someone holding the same right at the unit it was filed under "
        "or above it, corrects a record.",
        "correctsId",
    )
