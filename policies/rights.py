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

# Accountability records.
RECORD_READ = Right("record", "read", where="the record's unit")
RECORD_CREATE = Right("record", "create", where="the record's unit", seen_through="org")
FINDING_CREATE = Right("finding", "create", where="the record's unit", seen_through="org")

# Grants.
GRANT_READ = Right("grant", "read", where="the unit")
GRANT_GRANT = Right("grant", "grant", where="the unit of the grant", seen_through="org")


# The unit of an object each right is decided at, when a right is named by its text
# (``accessHolders(action: "task:verify")``): one constant per resource and action.
BY_NAME: dict[str, Right] = {
    str(right): right
    for right in (
        ORG_READ,
        PERSON_READ,
        PERSON_PII_READ,
        INDICATOR_READ,
        AUDIT_READ,
        TASK_READ,
        TASK_CREATE,
        TASK_ASSIGN,
        TASK_PROGRESS,
        TASK_VERIFY,
        TASK_MANAGE,
        RECORD_READ,
        RECORD_CREATE,
        FINDING_CREATE,
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
