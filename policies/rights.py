"""Every right the service checks, declared once: what it is and where on an object it applies.

A ``Right`` names a permission line of the role policy (``roles.csv``: resource and action)
and the unit of an object it is checked at. Fields declare the rights they need
(``guard(TASK_VERIFY)``), and the same constant drives three things: the field's guard (does
the viewer hold it anywhere?), the object check (``policies.guard.require``: does the viewer
hold it at this object's unit?) and the sentence clients read in the SDL. Resolvers name these
constants, never a resource or action string of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.enums import RecordType


class On(StrEnum):
    """Which unit of an object a right is checked at."""

    UNIT = "unit"  # the object's own unit (a task's holding unit, a record's unit, …)
    ISSUER = "issuer"  # a task's issuing unit


@dataclass(frozen=True)
class Right:
    """``<resource>:<action>``, held at a unit (and, by the grant model, its subtree)."""

    resource: str
    action: str
    on: On = On.UNIT
    where: str = "the unit"
    # Inside the viewer's sight but not allowed reads as FORBIDDEN; outside it, NOT_FOUND.
    # Sight is this resource's read right (by default the right's own resource).
    seen_through: str | None = None

    def __str__(self) -> str:
        return f"{self.resource}:{self.action}"

    @property
    def sentence(self) -> str:
        return f"`{self}` at {self.where}"

    @property
    def sight(self) -> Right:
        """The read right that decides whether a refusal is FORBIDDEN or NOT_FOUND."""
        return Right(self.seen_through or self.resource, "read", self.on, self.where)


# Units, people and the shared catalogue.
ORG_READ = Right("org", "read", where="the unit")
PERSON_READ = Right("person", "read", where="the person's unit")
PERSON_PII_READ = Right("person_pii", "read", where="the person's unit")
INDICATOR_READ = Right("indicator", "read", where="the unit rolled up")
# Reporting an observation (a figure for a period) at a unit; clean-up records feed their
# metrics under `record.cleanup:create` instead.
INDICATOR_REPORT = Right("indicator", "create", where="the unit observed", seen_through="org")
AUDIT_READ = Right("audit", "read", where="the unit the event belongs to")

# Tasks: held at the holding unit, issued and signed off at the issuing unit.
TASK_READ = Right("task", "read", where="the task's unit")
TASK_CREATE = Right("task", "create", where="the unit the task goes to", seen_through="org")
TASK_DECOMPOSE = Right("task", "create", where="the task's unit")
TASK_ASSIGN = Right(
    "task", "assign", On.ISSUER, "the issuing unit and at the unit the task moves to"
)
TASK_ASSIGN_TO = Right("task", "assign", where="the unit the task moves to", seen_through="org")
TASK_PROGRESS = Right("task", "transition", where="the task's unit")
TASK_VERIFY = Right("task", "verify", On.ISSUER, "the issuing unit")
TASK_MANAGE = Right("task", "update", On.ISSUER, "the issuing unit")
# The upward loop (上报): reporting an issue found at a unit to the unit above it, and a
# task's holding side asking the level above to take it over (``escalateTask`` HAND_OVER).
TASK_REPORT = Right(
    "task.report", "create", where="the unit the issue is reported from", seen_through="org"
)
TASK_HAND_OVER = Right(
    "task.report", "create", where="the task's unit (its holding side)", seen_through="task"
)

# Accountability records: one read right for every type; filing one is a right per type,
# `record.<type>:create` at the record's unit. ESCALATION has none: only `escalateTask` writes
# it, under `task:update` at the issuing unit.
RECORD_READ = Right("record", "read", where="the record's unit")
RECORD_RESOURCES: dict[RecordType, str] = {
    RecordType.PATROL: "record.patrol",
    RecordType.CLEANUP: "record.cleanup",
    RecordType.PLEDGE: "record.pledge",
    RecordType.ASSESSMENT: "record.assessment",
    RecordType.REWARD: "record.reward",
    RecordType.PENALTY: "record.penalty",
    RecordType.INSPECTION_FINDING: "record.finding",
}
RECORD_RIGHTS: dict[RecordType, Right] = {
    kind: Right(resource, "create", where="the record's unit", seen_through="org")
    for kind, resource in RECORD_RESOURCES.items()
}
RECORD_CREATE_RIGHTS: tuple[Right, ...] = tuple(RECORD_RIGHTS.values())
# Judgements of a unit's work: filed only at units strictly below the unit of the grant that
# allows them, and never by their subject (``policies.authority``).
JUDGEMENTS = frozenset({RecordType.ASSESSMENT, RecordType.REWARD, RecordType.PENALTY})
# Field work a pairing lends its reach to (a department patrolling its paired village's river);
# every other record right holds only in the grant's own subtree.
FIELD_WORK: frozenset[Right] = frozenset(
    {RECORD_RIGHTS[RecordType.PATROL], RECORD_RIGHTS[RecordType.CLEANUP]}
)

# Grants.
GRANT_READ = Right("grant", "read", where="the unit")
GRANT_GRANT = Right("grant", "grant", where="the unit of the grant", seen_through="org")


def record_right(kind: RecordType) -> Right | None:
    """The right to file a record of ``kind``; None for ESCALATION, which nobody files."""
    return RECORD_RIGHTS.get(kind)


# The unit of an object each right is decided at, when a right is named by its text
# (``accessHolders(action: "task:verify")``): one constant per resource and action.
BY_NAME: dict[str, Right] = {
    str(right): right
    for right in (
        ORG_READ,
        PERSON_READ,
        PERSON_PII_READ,
        INDICATOR_READ,
        INDICATOR_REPORT,
        AUDIT_READ,
        TASK_READ,
        TASK_CREATE,
        TASK_ASSIGN,
        TASK_PROGRESS,
        TASK_VERIFY,
        TASK_MANAGE,
        TASK_REPORT,
        RECORD_READ,
        *RECORD_RIGHTS.values(),
        GRANT_READ,
        GRANT_GRANT,
    )
}


def policy_right(resource: str, action: str) -> Right:
    """A right read from policy data (a role's permission lines), not from code."""
    return Right(resource, action)


def right_named(resource: str, action: str) -> Right:
    """The right ``<resource>:<action>`` as the service checks it: the catalogue's constant,
    which says which unit of an object it is decided at, or the object's own unit for a pair
    no field checks by itself."""
    return BY_NAME.get(f"{resource}:{action}") or policy_right(resource, action)
