"""The one statement of a root list: its count and its page, JSON built by the database.

The page's keys are chosen first (ordered, limited); the JSON is built only for those rows,
so the planner costs the nodes' expressions over one page, not over the whole list. Rows
come back ordered by ``o``: what the list reads beside its page first (``o = -1``), then the
count (``o = 0``), then the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from compiled.arguments import PageArguments
from compiled.connection import ListPlan, assemble
from compiled.fresh_plan import fetch_planned_afresh
from compiled.objects import Render, Row, render_object
from resolvers.pagination import encode_cursor

# Typed nulls: PostgreSQL reads a bare NULL in a subquery as text, which a UNION with a number
# refuses.
NO_KEY = "CAST(NULL AS bigint)"
NO_TEXT = "CAST(NULL AS text)"
# The fields of an edge and of ``pageInfo`` that show a cursor.


@dataclass(frozen=True)
class Beside:
    """One JSON value the statement reads beside the page (over ``page`` and the shared
    tables), and what the page's nodes become with it (their JSON texts, the value parsed)."""

    value: Callable[[Render], str]
    finish: Callable[[list[str], Any], list[str]]


@dataclass(frozen=True)
class ListQuery:
    """A list as SQL: ``source`` joins the rows (``row`` names their aliases), ``key`` is the
    unique sort key, ``where`` the conditions and the page's ``after`` the key in the cursor
    (bound only when the page is read: an unused parameter is an error on both databases)."""

    source: str
    row: Row
    table: str  # the table of ``row.alias``, joined again for the page's rows
    key: str  # the key column, unqualified
    descending: bool
    where: str
    page: PageArguments
    # Tables the nodes' expressions share, computed once over the page's keys (``page``):
    # ``(name, query)`` pairs rendered into the statement's ``WITH``.
    shared: Callable[[Render], list[tuple[str, str]]] | None = None
    beside: Beside | None = None
    # Planned with its values on every run (``compiled.fresh_plan``), never a generic plan.
    planned_afresh: bool = False

    @property
    def size(self) -> int:
        return self.page.size


async def run_list(plan: ListPlan, query: ListQuery, r: Render, conn: BaseDBAsyncClient) -> str:
    alias, key = query.row.alias, query.key
    direction = "DESC" if query.descending else "ASC"
    branches = []
    prelude = ""
    if plan.connection.counts:
        branches.append(
            f"SELECT 0 AS o, {NO_KEY} AS k, {NO_TEXT} AS j,"
            f" (SELECT count(*) FROM {query.source} WHERE {query.where}) AS n"
        )
    if plan.connection.needs_rows and query.size > 0:
        page_where = query.where
        if query.page.after is not None:
            beyond = "<" if query.descending else ">"
            page_where += f" AND {alias}.{key} {beyond} {r.params(query.page.after[0])}"
        chosen = (
            f"SELECT {alias}.{key} AS k FROM {query.source} WHERE {page_where}"
            f" ORDER BY {alias}.{key} {direction} LIMIT {query.size + 1}"
        )
        node = (
            r.dialect.text(render_object(plan.node, query.row, r))
            if plan.node is not None
            else NO_TEXT
        )
        shared = query.shared(r) if query.shared is not None else []
        if shared or query.beside is not None:
            # The page is a table of its own, which the shared ones read as well.
            tables = [("page", chosen), *shared]
            prelude = "WITH " + ", ".join(f"{name} AS ({sql})" for name, sql in tables) + " "
            picked = "page"
        else:
            picked = f"({chosen}) page"
        if query.beside is not None:
            branches.insert(
                0,
                f"SELECT -1 AS o, {NO_KEY} AS k, {r.dialect.text(query.beside.value(r))} AS j,"
                f" {NO_KEY} AS n",
            )
        joined = query.source.replace(
            f"{query.table} {alias}",
            f"{picked} JOIN {query.table} {alias} ON {alias}.{key} = page.k",
            1,
        )
        branches.append(
            f"SELECT row_number() OVER (ORDER BY {alias}.{key} {direction}) AS o,"
            f" {alias}.{key} AS k, {node} AS j, {NO_KEY} AS n FROM {joined}"
        )
    elif plan.node is not None:  # no node is built, but its arguments are checked all the same
        render_object(plan.node, query.row, r.dry())
    rows: list[dict[str, Any]] = []
    if branches:
        sql = prelude + " UNION ALL ".join(branches) + " ORDER BY o"
        if query.planned_afresh:
            rows = await fetch_planned_afresh(conn, sql, r.params.values)
        else:
            rows = list(await conn.execute_query_dict(sql, r.params.values))
    beside = None
    if rows and int(rows[0]["o"]) < 0:
        beside = json.loads(rows[0]["j"]) if rows[0]["j"] is not None else None
        rows = rows[1:]
    total = None
    if plan.connection.counts:
        total = int(rows[0]["n"])
        rows = rows[1:]
    has_next = len(rows) > query.size
    rows = rows[: query.size]
    nodes = [str(row["j"]) for row in rows] if plan.node is not None else ["null"] * len(rows)
    if query.beside is not None and plan.node is not None:
        nodes = query.beside.finish(nodes, beside)
    # A cursor is encoded only when the selection shows one (an inbox asks for none).
    asked = plan.connection.shows_cursors
    cursors = [encode_cursor([int(row["k"])]) if asked else "" for row in rows]
    return assemble(plan.connection, cursors, nodes, has_next, total)
