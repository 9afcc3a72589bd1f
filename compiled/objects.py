"""The object types the plan can build in SQL, each field as an SQL expression.

Each to-one field is a correlated subquery that applies the same read check the resolver
does (``resolvers.org.get_unit``, ``resolvers.people.visible_person``,
``resolvers.tasks.get_task``): the one scope filter, rendered by ``policies.scope.scope_sql``,
so an object out of the viewer's scope reads as null on both paths. Personal data is masked
with ``resolvers.people.mask``'s rule, decided by the ``person_pii:read`` scope.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from graphql import FragmentDefinitionNode, SelectionSetNode

from compiled.dialect import Dialect
from compiled.selection import NotCompilable, collect, merged
from core.context import RequestContext
from models.org import OrgUnit
from models.people import Person, User
from models.policy import CasbinRule
from models.task import Task, overdue_sql
from policies.rights import ORG_READ, PERSON_PII_READ, PERSON_READ, TASK_READ, Right
from policies.scope import Params, Scope, scope_for, scope_sql

RULES = CasbinRule._meta.db_table
USERS = User._meta.db_table
UNITS = OrgUnit._meta.db_table
PEOPLE = Person._meta.db_table
TASKS = Task._meta.db_table


@dataclass
class Render:
    """One request's rendering of a plan: its parameters, its scopes and its moment."""

    dialect: Dialect
    params: Params
    context: RequestContext
    moment: datetime
    _names: itertools.count[int] = field(default_factory=itertools.count)
    _now: str | None = None

    @property
    def now(self) -> str:
        """The placeholder of the request's moment, bound only if a condition uses it (an
        unused parameter has no type PostgreSQL could infer)."""
        if self._now is None:
            self._now = self.params(self.dialect.moment(self.moment))
        return self._now

    def alias(self, stem: str) -> str:
        return f"{stem}{next(self._names)}"

    def scope(self, right: Right, unit: str) -> str:
        """The rows whose unit (aliased ``unit``) the viewer holds ``right`` on."""
        found = scope_for(self.context, right)
        return scope_sql(found, self.params, f"{unit}.path", f"{unit}.level")


@dataclass(frozen=True)
class Row:
    """An object's row and its unit's row, by alias."""

    alias: str
    unit: str


Scalar = Callable[[Render, Row], str]


@dataclass(frozen=True)
class Link:
    """A to-one field: the type it reaches and the column holding the key."""

    type_name: str
    key: str


@dataclass(frozen=True)
class ObjectType:
    name: str
    interfaces: frozenset[str]
    scalars: dict[str, Scalar]
    links: dict[str, Link]

    @property
    def names(self) -> frozenset[str]:
        return self.interfaces | {self.name}


@dataclass(frozen=True)
class Entry:
    key: str
    name: str
    child: ObjectPlan | None = None


@dataclass(frozen=True)
class ObjectPlan:
    """What to build of one object: its fields by response key."""

    type: ObjectType
    entries: tuple[Entry, ...]


def _column(name: str) -> Scalar:
    return lambda r, row: f"{row.alias}.{name}"


def _instant(name: str) -> Scalar:
    return lambda r, row: r.dialect.instant(f"{row.alias}.{name}")


def _id(type_name: str) -> Scalar:
    return lambda r, row: r.dialect.global_id(type_name, f"{row.alias}.id")


def _masked(name: str, keep_start: int, keep_end: int) -> Scalar:
    def render(r: Render, row: Row) -> str:
        column = f"{row.alias}.{name}"
        shown = r.scope(PERSON_PII_READ, row.unit)
        hidden = r.dialect.mask(column, keep_start, keep_end)
        return f"CASE WHEN {shown} THEN {column} ELSE {hidden} END"

    return render


def _overdue(r: Render, row: Row) -> str:
    return r.dialect.boolean(overdue_sql(row.alias, r.now))


NODE = frozenset({"Node"})

TYPES: dict[str, ObjectType] = {
    "Task": ObjectType(
        "Task",
        NODE,
        {
            "id": _id("Task"),
            "title": _column("title"),
            "description": _column("description"),
            "status": _column("status"),
            "category": _column("category"),
            "dueAt": _instant("due_at"),
            "version": _column("version"),
            "createdAt": _instant("created_at"),
            "overdue": _overdue,
        },
        {
            "orgUnit": Link("OrgUnit", "org_unit_id"),
            "issuer": Link("OrgUnit", "issuer_unit_id"),
            "assignee": Link("Person", "assignee_id"),
            "parent": Link("Task", "parent_id"),
        },
    ),
    "OrgUnit": ObjectType(
        "OrgUnit",
        NODE,
        {
            "id": _id("OrgUnit"),
            "code": _column("code"),
            "name": _column("name"),
            "level": _column("level"),
            "path": _column("path"),
        },
        {"parent": Link("OrgUnit", "parent_id")},
    ),
    "Person": ObjectType(
        "Person",
        NODE,
        {
            "id": _id("Person"),
            "name": _column("name"),
            "title": _column("title"),
            "partyMember": lambda r, row: r.dialect.flag(f"{row.alias}.party_member"),
            "phone": _masked("phone", 3, 4),
            "idNumber": _masked("id_number", 0, 4),
        },
        {"orgUnit": Link("OrgUnit", "org_unit_id")},
    ),
    "User": ObjectType(
        "User",
        NODE,
        {"id": _id("User"), "username": _column("username")},
        {},
    ),
}


def plan_object(
    kind: ObjectType,
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
) -> ObjectPlan:
    type_name = kind.name
    entries = []
    for entry in collect(selection_set, kind.names, fragments):
        if entry.arguments:
            raise NotCompilable(f"arguments on {type_name}.{entry.name}")
        if entry.name == "__typename" or entry.name in kind.scalars:
            if entry.selections:
                raise NotCompilable("a selection on a scalar")
            entries.append(Entry(entry.key, entry.name))
        elif entry.name in kind.links:
            target = TYPES[kind.links[entry.name].type_name]
            entries.append(
                Entry(entry.key, entry.name, plan_object(target, merged(entry), fragments))
            )
        else:
            raise NotCompilable(f"{type_name}.{entry.name}")
    return ObjectPlan(kind, tuple(entries))


def render_object(plan: ObjectPlan, row: Row, r: Render) -> str:
    """The SQL expression of the object's JSON."""
    pairs = []
    for entry in plan.entries:
        if entry.name == "__typename":
            pairs.append((entry.key, f"'{plan.type.name}'"))
        elif entry.child is None:
            pairs.append((entry.key, plan.type.scalars[entry.name](r, row)))
        else:
            link = plan.type.links[entry.name]
            pairs.append((entry.key, render_link(entry.child, f"{row.alias}.{link.key}", r)))
    return r.dialect.obj(pairs)


# The read check of each type reached by a to-one field: the right, on the object's unit.
SIGHT: dict[str, Right] = {"OrgUnit": ORG_READ, "Person": PERSON_READ, "Task": TASK_READ}
TABLES: dict[str, str] = {"OrgUnit": UNITS, "Person": PEOPLE, "Task": TASKS}


def render_link(plan: ObjectPlan, key: str, r: Render) -> str:
    """The object ``key`` names, or null when there is none or the viewer may not read it."""
    name = plan.type.name
    alias = r.alias("o")
    if name == "User":
        row = Row(alias, "")
        source = f"{USERS} {alias}"
        visible = account_in_scope(alias, r)
    elif name == "OrgUnit":
        row = Row(alias, alias)
        source = f"{UNITS} {alias}"
        visible = r.scope(SIGHT[name], row.unit)
    else:
        row = Row(alias, r.alias("ou"))
        joined = f"{row.unit}.id = {alias}.org_unit_id"
        source = f"{TABLES[name]} {alias} JOIN {UNITS} {row.unit} ON {joined}"
        visible = r.scope(SIGHT[name], row.unit)
    body = render_object(plan, row, r)
    found = f"{alias}.id = {key} AND {visible}"
    return r.dialect.nested(f"SELECT {body} FROM {source} WHERE {found}")


def account_in_scope(user: str, r: Render) -> str:
    """``resolvers.users.user_in_scope`` on the account aliased ``user``: the viewer's own;
    one whose person is at a unit where the viewer reads people; one placed nowhere (no
    person, no grant); one holding a grant at a unit the viewer's ``org:read`` reaches (not
    the units seen only from below). Grants are the policy's grouping rules (``casbin_rule``),
    the rows the engine loads."""
    viewer = r.context.viewer
    if viewer is None:
        return "(1 = 0)"
    person, unit, rule, held = r.alias("ap"), r.alias("apu"), r.alias("g"), r.alias("gu")
    subject = f"'user:' || {user}.id"
    grants = f"{RULES} {rule} WHERE {rule}.ptype = 'g' AND {rule}.v0 = {subject}"
    reach = Scope(ranges=scope_for(r.context, ORG_READ).ranges)
    reached = scope_sql(reach, r.params, f"{held}.path", f"{held}.level")
    people = r.scope(PERSON_READ, unit)
    return (
        f"({user}.id = {r.params(viewer.id)}"
        f" OR EXISTS (SELECT 1 FROM {PEOPLE} {person} JOIN {UNITS} {unit}"
        f" ON {unit}.id = {person}.org_unit_id WHERE {person}.id = {user}.person_id"
        f" AND {people})"
        f" OR (NOT EXISTS (SELECT 1 FROM {PEOPLE} {person}"
        f" WHERE {person}.id = {user}.person_id) AND NOT EXISTS (SELECT 1 FROM {grants}))"
        f" OR EXISTS (SELECT 1 FROM {grants} AND EXISTS (SELECT 1 FROM {UNITS} {held}"
        f" WHERE {held}.path || '*' = {rule}.v2 AND {reached})))"
    )
