"""The object types the plan can build, by GraphQL name: their scalars as SQL expressions,
their to-one links, and their composite fields (connections, ``taskStats``).

Personal data is masked with ``resolvers.people.mask``'s rule, decided by the
``person_pii:read`` scope; ``overdue`` is ``models.task.overdue_sql`` at the request's moment.
"""

from __future__ import annotations

from compiled.audit import AUDIT_EVENT
from compiled.nested import ListField, owned_by
from compiled.objects import (
    Link,
    ObjectType,
    Render,
    Row,
    Scalar,
    column,
    flag,
    global_id,
    instant,
)
from compiled.records import RECORD, WATER_BODY, geometry, geometry_of, water_readable
from compiled.stats import TaskStatsField
from compiled.tasks import unit_tasks
from compiled.units import unit_children
from models.task import overdue_sql
from policies.rights import PERSON_PII_READ, RECORD_READ, TASK_READ
from resolvers.pagination import OrderKey

NODE = frozenset({"Node"})
PAGE = frozenset({"first", "after"})
NEWEST = OrderKey(descending=True)


def _masked(name: str, keep_start: int, keep_end: int) -> Scalar:
    def render(r: Render, row: Row) -> str:
        value = f"{row.alias}.{name}"
        shown = r.scope(PERSON_PII_READ, row.unit)
        hidden = r.dialect.mask(value, keep_start, keep_end)
        return f"CASE WHEN {shown} THEN {value} ELSE {hidden} END"

    return render


def _evidence_ids(r: Render, row: Row) -> str:
    """The reporter's evidence IDs as stored (a JSON array), an empty list where none."""
    stored = f"{row.alias}.evidence_ids"
    if r.dialect.postgres:
        return f"COALESCE({stored}, '[]'::jsonb)"
    return f"COALESCE(json({stored}), json('[]'))"


def _overdue(r: Render, row: Row) -> str:
    return r.dialect.boolean(overdue_sql(row.alias, r.now))


TASK = ObjectType(
    "Task",
    NODE,
    {
        "id": global_id("Task"),
        "title": column("title"),
        "description": column("description"),
        "status": column("status"),
        "category": column("category"),
        "dueAt": instant("due_at"),
        "version": column("version"),
        "createdAt": instant("created_at"),
        "overdue": _overdue,
        "origin": column("origin"),
        "feedback": column("feedback"),
        "location": geometry_of("location"),
        "evidenceIds": _evidence_ids,
    },
    {
        "orgUnit": Link("OrgUnit", "org_unit_id"),
        "issuer": Link("OrgUnit", "issuer_unit_id"),
        "assignee": Link("Person", "assignee_id"),
        "parent": Link("Task", "parent_id"),
        "reporter": Link("Person", "reporter_id"),
        "reportedFrom": Link("Record", "source_record_id"),
        "waterBody": Link("WaterBody", "water_body_id", water_readable),
        "handOverOf": Link("Task", "hand_over_of_id"),
    },
    {
        "subtasks": ListField("Task", PAGE, owned_by("Task", TASK_READ, "parent_id", NEWEST)),
        "records": ListField("Record", PAGE, owned_by("Record", RECORD_READ, "task_id", NEWEST)),
    },
)

ORG_UNIT = ObjectType(
    "OrgUnit",
    NODE,
    {
        "id": global_id("OrgUnit"),
        "code": column("code"),
        "name": column("name"),
        "level": column("level"),
        "path": column("path"),
        "geometry": geometry,
    },
    {"parent": Link("OrgUnit", "parent_id")},
    {
        "children": ListField("OrgUnit", PAGE, unit_children, rolls_up=True),
        "tasks": ListField("Task", PAGE | {"filter", "orderBy"}, unit_tasks),
        "taskStats": TaskStatsField(),
    },
)

PERSON = ObjectType(
    "Person",
    NODE,
    {
        "id": global_id("Person"),
        "name": column("name"),
        "title": column("title"),
        "partyMember": flag("party_member"),
        "phone": _masked("phone", 3, 4),
        "idNumber": _masked("id_number", 0, 4),
    },
    {"orgUnit": Link("OrgUnit", "org_unit_id")},
)

USER = ObjectType("User", NODE, {"id": global_id("User"), "username": column("username")}, {})

TYPES: dict[str, ObjectType] = {
    kind.name: kind for kind in (TASK, ORG_UNIT, PERSON, USER, RECORD, WATER_BODY, AUDIT_EVENT)
}
