"""The root fields a plan answers, each as one statement: the right its guard needs, the
arguments it reads, and how it plans and runs.

Three kinds: an object by id (``orgUnit``, ``task``), which reads as null outside the
viewer's scope and logs the refusal as the root field's ``DenialLog`` does; a list keyed by
one number, its nodes built in SQL and its cursors in Python (``tasks``, ``auditEvents``:
``compiled.statement``); and a list built whole in SQL (``orgUnits``, ``records``:
``compiled.pages``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tortoise.backends.base.client import BaseDBAsyncClient

from compiled.audit import run_audit
from compiled.connection import ConnectionPlan, ListPlan
from compiled.nested import plan_list
from compiled.objects import Fragments, ObjectPlan, Render, Types, plan_object, render_link
from compiled.pages import PageSpec, page_select
from compiled.records import all_records, all_water_bodies
from compiled.rollup import RollUp, anchor, render_rollup
from compiled.selection import Field, NotCompilable, merged
from compiled.tasks import run_tasks
from compiled.units import all_units
from core.errors import DomainError
from models.graph_names import global_id
from policies.guard import log_denial
from policies.rights import AUDIT_READ, ORG_READ, RECORD_READ, TASK_READ, Right
from schema.node import NodeType, pk_of

PAGE = frozenset({"first", "after"})


class RootPlan(Protocol):
    async def run(self, values: dict[str, Any], r: Render, conn: BaseDBAsyncClient) -> str:
        """The root field's JSON text, from its arguments (by Python name)."""
        ...


class RootField(Protocol):
    @property
    def right(self) -> Right | None: ...  # None: any signed-in viewer

    @property
    def arguments(self) -> frozenset[str]: ...  # GraphQL names

    def plan(self, entry: Field, fragments: Fragments, types: Types) -> RootPlan: ...


async def _one_value(sql: str, r: Render, conn: BaseDBAsyncClient) -> str | None:
    rows = await conn.execute_query_dict(sql, r.params.values)
    value = rows[0]["j"] if rows else None
    return None if value is None else str(value)


@dataclass(frozen=True)
class ObjectRoot:
    right: Right
    type_name: NodeType
    arguments: frozenset[str] = frozenset({"id"})

    def plan(self, entry: Field, fragments: Fragments, types: Types) -> RootPlan:
        node = plan_object(types[self.type_name], merged(entry), fragments, types)
        node, rollup = anchor(node, self.type_name == "OrgUnit")
        return PlannedObject(self, entry.name, node, rollup)


@dataclass(frozen=True)
class PlannedObject:
    root: ObjectRoot
    name: str
    node: ObjectPlan
    rollup: RollUp | None = None  # the dashboard's taskStats, counted once (compiled.rollup)

    async def run(self, values: dict[str, Any], r: Render, conn: BaseDBAsyncClient) -> str:
        asked = values["id"]
        try:
            pk = pk_of(asked, self.root.type_name)
        except DomainError as exc:
            raise NotCompilable("an ID the resolvers refuse") from exc
        found = None
        if pk is None:  # nothing to build, but its arguments are checked all the same
            if self.rollup is not None:
                r.rollups.update(self.rollup.names())
            render_link(self.node, "NULL", r.dry())
        else:
            head = "" if self.rollup is None else render_rollup(self.rollup, r.params(pk), r)
            body = r.dialect.text(render_link(self.node, r.params(pk), r))
            found = await _one_value(f"{head}SELECT {body} AS j", r, conn)
        if found is None:  # not found or out of scope: a refusal, logged
            log_denial(r.context, self.root.right, f"{self.name}(id={asked})")
            return "null"
        return found


Runner = Callable[[ListPlan, dict[str, Any], Render, BaseDBAsyncClient], Awaitable[str]]


@dataclass(frozen=True)
class KeyedListRoot:
    right: Right
    node_type: str
    arguments: frozenset[str]
    runner: Runner

    def plan(self, entry: Field, fragments: Fragments, types: Types) -> RootPlan:
        connection, node = plan_list(self.node_type, entry, fragments, types)
        return PlannedKeyedList(self, ListPlan(connection, node))


@dataclass(frozen=True)
class PlannedKeyedList:
    root: KeyedListRoot
    list: ListPlan

    async def run(self, values: dict[str, Any], r: Render, conn: BaseDBAsyncClient) -> str:
        return await self.root.runner(self.list, values, r, conn)


@dataclass(frozen=True)
class PageRoot:
    right: Right
    node_type: str
    arguments: frozenset[str]
    lister: Callable[[dict[str, Any], Render], PageSpec]

    def plan(self, entry: Field, fragments: Fragments, types: Types) -> RootPlan:
        connection, node = plan_list(self.node_type, entry, fragments, types)
        return PlannedPage(self, connection, node)


@dataclass(frozen=True)
class PlannedPage:
    root: PageRoot
    connection: ConnectionPlan
    node: ObjectPlan | None

    async def run(self, values: dict[str, Any], r: Render, conn: BaseDBAsyncClient) -> str:
        spec = self.root.lister(values, r)
        found = await _one_value(
            page_select(self.connection, self.node, spec, r, as_text=True), r, conn
        )
        assert found is not None  # an aggregate's one row
        return found


# The viewer's own account, as the token check read it: what ``me`` answers without a
# statement when nothing else is asked.
FROM_TOKEN = frozenset({"id", "username", "__typename"})


@dataclass(frozen=True)
class ViewerRoot:
    """``Query.me``: the signed-in account (an anonymous caller is left to the resolvers)."""

    right: None = None
    arguments: frozenset[str] = frozenset()

    def plan(self, entry: Field, fragments: Fragments, types: Types) -> RootPlan:
        node, _ = anchor(plan_object(types["User"], merged(entry), fragments, types), False)
        return PlannedViewer(node)


@dataclass(frozen=True)
class PlannedViewer:
    node: ObjectPlan

    async def run(self, values: dict[str, Any], r: Render, conn: BaseDBAsyncClient) -> str:
        viewer = r.context.viewer
        assert viewer is not None  # the plan is made for a signed-in viewer only
        account = viewer.account
        if account is not None and all(e.name in FROM_TOKEN for e in self.node.entries):
            shown = {"id": global_id("User", account.id), "username": account.username}
            shown["__typename"] = "User"
            return json.dumps(
                {e.key: shown[e.name] for e in self.node.entries},
                ensure_ascii=False,
                separators=(",", ":"),
            )
        sql = f"SELECT {r.dialect.text(render_link(self.node, r.params(viewer.id), r))} AS j"
        return await _one_value(sql, r, conn) or "null"


ROOTS: dict[str, RootField] = {
    "me": ViewerRoot(),
    "orgUnit": ObjectRoot(ORG_READ, "OrgUnit"),
    "task": ObjectRoot(TASK_READ, "Task"),
    "tasks": KeyedListRoot(TASK_READ, "Task", PAGE | {"filter", "orderBy"}, run_tasks),
    "auditEvents": KeyedListRoot(AUDIT_READ, "AuditEvent", PAGE | {"filter"}, run_audit),
    "orgUnits": PageRoot(ORG_READ, "OrgUnit", PAGE | {"level", "parentId"}, all_units),
    "records": PageRoot(RECORD_READ, "Record", PAGE | {"filter"}, all_records),
    "waterBodies": PageRoot(ORG_READ, "WaterBody", PAGE | {"kind"}, all_water_bodies),
}
