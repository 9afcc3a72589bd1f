"""Objects as the plan builds them in SQL: each field an SQL expression of the object's row.

Each to-one field is a correlated subquery that applies the same read check the resolver
does (``resolvers.org.get_unit``, ``resolvers.people.visible_person``,
``resolvers.tasks.get_task``, ``resolvers.records.get_record``): the one scope filter,
rendered by ``policies.scope.scope_sql``, so an object out of the viewer's scope reads as null
on both paths. The types themselves are listed in ``compiled.graph``; a field holding a list
or a computed object (a connection, ``taskStats``) is a ``Composite``, planned and rendered by
its own module.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from graphql import FragmentDefinitionNode, SelectionSetNode

from compiled.arguments import ArgumentReader
from compiled.dialect import Dialect
from compiled.selection import Field, NotCompilable, collect, merged
from core.context import RequestContext
from models.org import OrgUnit, WaterBody
from models.people import Person, User
from models.policy import CasbinRule
from models.record import AccountabilityRecord
from models.task import Task
from policies.reporting import reporter_sql
from policies.rights import ORG_READ, PERSON_READ, RECORD_READ, TASK_READ, Right
from policies.scope import Params, Scope, scope_for, scope_sql

RULES = CasbinRule._meta.db_table
USERS = User._meta.db_table
UNITS = OrgUnit._meta.db_table
PEOPLE = Person._meta.db_table
TASKS = Task._meta.db_table
RECORDS = AccountabilityRecord._meta.db_table
WATER_BODIES = WaterBody._meta.db_table

Fragments = dict[str, FragmentDefinitionNode]


@dataclass
class Render:
    """One statement's rendering: its parameters, the request's scopes, arguments and moment."""

    dialect: Dialect
    params: Params
    context: RequestContext
    moment: datetime
    arguments: ArgumentReader
    # The roll-up of ``taskStats`` each shape reads, by name (``compiled.rollup``).
    rollups: dict[Any, str] = field(default_factory=dict)
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

    def dry(self) -> Render:
        """A rendering whose text is thrown away: it reads every argument of what it renders
        (``NotCompilable`` for one the resolvers would refuse), binding nothing for real."""
        return Render(
            self.dialect,
            Params(self.dialect.postgres),
            self.context,
            self.moment,
            self.arguments,
            self.rollups,
        )

    def scope(self, right: Right, unit: str) -> str:
        """The rows whose unit (aliased ``unit``) the viewer holds ``right`` on."""
        found = scope_for(self.context, right)
        return scope_sql(found, self.params, f"{unit}.path", f"{unit}.level")


@dataclass(frozen=True)
class Row:
    """An object's row and its unit's row, by alias (the same for a unit; empty for an object
    that belongs to no unit)."""

    alias: str
    unit: str


Scalar = Callable[[Render, Row], str]


@dataclass(frozen=True)
class Link:
    """A to-one field: the type it reaches and the column holding the key."""

    type_name: str
    key: str
    # The read check of the object reached, where it is not its type's (``visible``): a
    # water body reached from another is read where the river runs, not with a record.
    sight: Callable[[Row, Render], str] | None = None


class Nested(Protocol):
    """A planned composite field: renders its JSON for the object in ``row``."""

    def render(self, row: Row, r: Render) -> str: ...


class Composite(Protocol):
    """A field whose value is a list or an object computed from the row (a connection,
    ``taskStats``): it plans its own selection and arguments."""

    def plan(self, owner: str, entry: Field, fragments: Fragments, types: Types) -> Nested: ...


@dataclass(frozen=True)
class ObjectType:
    name: str
    interfaces: frozenset[str]
    scalars: dict[str, Scalar]
    links: dict[str, Link]
    composites: dict[str, Composite] = field(default_factory=dict)

    @property
    def names(self) -> frozenset[str]:
        return self.interfaces | {self.name}


Types = Mapping[str, ObjectType]


@dataclass(frozen=True)
class Entry:
    key: str
    name: str
    child: ObjectPlan | None = None
    nested: Nested | None = None


@dataclass(frozen=True)
class ObjectPlan:
    """What to build of one object: its fields by response key."""

    type: ObjectType
    entries: tuple[Entry, ...]


def column(name: str) -> Scalar:
    return lambda r, row: f"{row.alias}.{name}"


def instant(name: str) -> Scalar:
    return lambda r, row: r.dialect.instant(f"{row.alias}.{name}")


def global_id(type_name: str) -> Scalar:
    return lambda r, row: r.dialect.global_id(type_name, f"{row.alias}.id")


def flag(name: str) -> Scalar:
    return lambda r, row: r.dialect.flag(f"{row.alias}.{name}")


def subtree_end(path: str) -> str:
    """``models.paths.upper_bound`` of the path ``path`` (SQL): its last '/' made '0'."""
    return f"substr({path}, 1, length({path}) - 1) || '0'"


def plan_object(
    kind: ObjectType, selection_set: SelectionSetNode | None, fragments: Fragments, types: Types
) -> ObjectPlan:
    type_name = kind.name
    entries = []
    for entry in collect(selection_set, kind.names, fragments):
        if entry.name in kind.composites:
            nested = kind.composites[entry.name].plan(type_name, entry, fragments, types)
            entries.append(Entry(entry.key, entry.name, nested=nested))
            continue
        if entry.arguments:
            raise NotCompilable(f"arguments on {type_name}.{entry.name}")
        if entry.name == "__typename" or entry.name in kind.scalars:
            if entry.selections:
                raise NotCompilable("a selection on a scalar")
            entries.append(Entry(entry.key, entry.name))
        elif entry.name in kind.links:
            target = types[kind.links[entry.name].type_name]
            child = plan_object(target, merged(entry), fragments, types)
            entries.append(Entry(entry.key, entry.name, child))
        else:
            raise NotCompilable(f"{type_name}.{entry.name}")
    return ObjectPlan(kind, tuple(entries))


def render_object(plan: ObjectPlan, row: Row, r: Render) -> str:
    """The SQL expression of the object's JSON."""
    pairs = []
    for entry in plan.entries:
        if entry.name == "__typename":
            pairs.append((entry.key, f"'{plan.type.name}'"))
        elif entry.nested is not None:
            pairs.append((entry.key, entry.nested.render(row, r)))
        elif entry.child is None:
            pairs.append((entry.key, plan.type.scalars[entry.name](r, row)))
        else:
            link = plan.type.links[entry.name]
            key = f"{row.alias}.{link.key}"
            pairs.append((entry.key, render_link(entry.child, key, r, link.sight)))
    return r.dialect.obj(pairs)


# The read check of each type reached by id: the right, on the object's unit. A type not
# listed here has no unit (accounts are checked by ``account_in_scope``; a water body is
# reached only as a record's, which names it to whoever reads the record).
SIGHT: dict[str, Right] = {
    "OrgUnit": ORG_READ,
    "Person": PERSON_READ,
    "Task": TASK_READ,
    "Record": RECORD_READ,
}
TABLES: dict[str, str] = {
    "OrgUnit": UNITS,
    "Person": PEOPLE,
    "Task": TASKS,
    "Record": RECORDS,
    "User": USERS,
    "WaterBody": WATER_BODIES,
}


def row_source(type_name: str, r: Render) -> tuple[str, Row]:
    """The rows of a type with their unit joined (``FROM`` text), under fresh aliases."""
    alias = r.alias("o")
    if type_name == "OrgUnit":
        return f"{UNITS} {alias}", Row(alias, alias)
    if type_name not in SIGHT:
        return f"{TABLES[type_name]} {alias}", Row(alias, "")
    row = Row(alias, r.alias("ou"))
    joined = f"{row.unit}.id = {alias}.org_unit_id"
    return f"{TABLES[type_name]} {alias} JOIN {UNITS} {row.unit} ON {joined}", row


def visible(type_name: str, row: Row, r: Render) -> str:
    """The condition under which the viewer reads the object in ``row``."""
    if type_name == "User":
        return account_in_scope(row.alias, r)
    if type_name == "Task":  # its reporter reads it too (``policies.reporting``)
        return f"({r.scope(TASK_READ, row.unit)} OR {reporter_sql(r.context, r.params, row.alias)})"
    if type_name in SIGHT:
        return r.scope(SIGHT[type_name], row.unit)
    return "(1 = 1)"


def render_link(
    plan: ObjectPlan, key: str, r: Render, sight: Callable[[Row, Render], str] | None = None
) -> str:
    """The object ``key`` names, or null when there is none or the viewer may not read it
    (``sight``, where given, decides that instead of the type's rule)."""
    name = plan.type.name
    source, row = row_source(name, r)
    body = render_object(plan, row, r)
    seen = sight(row, r) if sight is not None else visible(name, row, r)
    found = f"{row.alias}.id = {key} AND {seen}"
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
