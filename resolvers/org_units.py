"""Creating org units: parents first, each with its ``org_unit.create`` audit event, all in
one transaction or none.

The operator's ``riverchief import-org`` runs this after checking its file line by line; a
mutation that adds units would run it too. Who may create units is the caller's to decide
(a field's guard, or the operator's shell, which has the database's own authority).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import AuditAction, AuditEntity, OrgLevel
from models.org import HierarchyError, OrgUnit
from resolvers.audit import append_event

LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class NewUnit:
    code: str
    name: str
    level: OrgLevel
    parent_code: str = ""  # empty for a root (a county)


@dataclass(frozen=True)
class CreatedUnit:
    unit: OrgUnit
    audit_seq: int  # the seq of its org_unit.create event


async def create_units(
    context: RequestContext | None, units: Sequence[NewUnit]
) -> list[CreatedUnit]:
    """Create ``units`` in the order given, in one transaction, each with an
    ``org_unit.create`` audit event. A unit's parent is a unit earlier in ``units`` or one
    already in the database.

    ``NOT_FOUND`` for a parent that is neither, ``CONFLICT`` for a code already taken,
    ``VALIDATION`` for a code given twice or a unit whose level may not sit under its
    parent's; nothing is created then.
    """
    codes = [unit.code for unit in units]
    twice = sorted(code for code, count in Counter(codes).items() if count > 1)
    if twice:
        raise DomainError(
            ErrorCode.VALIDATION, f"The code {_listed(twice)} is given twice.", "code"
        )
    created: list[CreatedUnit] = []
    try:
        async with in_transaction() as conn:
            taken = sorted(await units_by_code(codes, conn))
            if taken:
                raise DomainError(
                    ErrorCode.CONFLICT,
                    f"An org unit already has the code {_listed(taken)}.",
                    "code",
                )
            new_codes = set(codes)
            wanted = {
                u.parent_code for u in units if u.parent_code and u.parent_code not in new_codes
            }
            parents = await units_by_code(wanted, conn)
            missing = sorted(wanted - parents.keys())
            if missing:
                raise DomainError(
                    ErrorCode.NOT_FOUND,
                    f"No org unit has the parent code {_listed(missing)}.",
                    "parentCode",
                )
            for new in units:
                parent = parents.get(new.parent_code) if new.parent_code else None
                if new.parent_code and parent is None:
                    raise DomainError(
                        ErrorCode.NOT_FOUND,
                        f"The parent {new.parent_code!r} of {new.code!r} comes after it.",
                        "parentCode",
                    )
                unit = await OrgUnit.place(
                    code=new.code, name=new.name, level=new.level, parent=parent, using_db=conn
                )
                event = await append_event(
                    conn,
                    context,
                    action=AuditAction.ORG_UNIT_CREATE,
                    entity_type=AuditEntity.ORG_UNIT,
                    entity_id=unit.id,
                    org_path=unit.path,
                    after={
                        "code": unit.code,
                        "name": unit.name,
                        "level": unit.level.value,
                        "parent_code": new.parent_code or None,
                        "path": unit.path,
                    },
                )
                parents[unit.code] = unit
                created.append(CreatedUnit(unit, event.seq))
    except IntegrityError as error:  # a code taken by another change since the check above
        raise DomainError(
            ErrorCode.CONFLICT, "Another change took one of the codes meanwhile.", "code"
        ) from error
    except HierarchyError as error:
        message = str(error)
        raise DomainError(
            ErrorCode.VALIDATION, f"{message[:1].upper()}{message[1:]}.", "level"
        ) from None
    return created


async def units_by_code(
    codes: Iterable[str], using_db: BaseDBAsyncClient | None = None
) -> dict[str, OrgUnit]:
    """The units that have one of ``codes``, by code (looked up a chunk at a time)."""
    wanted = sorted(set(codes))
    found: dict[str, OrgUnit] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        for unit in await OrgUnit.filter(code__in=chunk).using_db(using_db):
            found[unit.code] = unit
    return found


def _listed(codes: Sequence[str], shown: int = 10) -> str:
    named = ", ".join(repr(code) for code in codes[:shown])
    return named + (f" and {len(codes) - shown} more" if len(codes) > shown else "")
