"""The keys of a subtree's newest page, read unit by unit (PostgreSQL).

A list ordered newest first, narrowed to a subtree, is planned by PostgreSQL as a backward scan
of the primary key that skips every row outside the subtree. That is quick while the subtree
holds a good share of the newest rows, and slow when it does not: with ten counties, a township
of the first one waits behind nine counties of newer rows. The planner cannot tell, as it does
not know that ids and places are correlated.

So the page's keys are found from the subtree's own entries of an index ordered by unit, then
by key (``task (org_unit_id, id)``, ``audit_event (org_path, seq)``):

1. each unit's newest key (one index probe per unit);
2. the n-th largest of those is a lower bound: n units have a row at or above it, so the n
   newest rows of the subtree are all at or above it (n is the page size plus one);
3. each unit's rows at or above that bound, at most n per unit, merged newest first.

The work follows the number of units in the subtree and the page size, not the table. A
county's thousands of units cost more probes than its newest rows cost to scan, so a list of a
whole county keeps the plain backward scan (``worth_it``). The caller then reads the rows by
key through its usual scoped query, which applies every filter again, so a key found here can
never show a row the viewer may not see.

Audit events carry the path their unit had when they were written; after a unit moved, older
events keep the older path. Their paths are therefore walked in the index itself (one probe per
distinct path), not taken from the units table.
"""

# ruff: noqa: S608 - every value is a bound parameter (``Params``); the text holds only constant
# fragments, column names and integers.
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tortoise import connections

from models.audit import FIRST_SEQ
from models.paths import path_ids, upper_bound
from policies.scope import Params, Scope, scope_sql

# How deep a subtree must start for this to pay: a county holds thousands of units, whose
# probes cost more than the backward scan does within the county; a township a few hundred.
MIN_DEPTH = 2


def on_postgres() -> bool:
    return bool(connections.get("default").capabilities.dialect == "postgres")


def worth_it(prefixes: Iterable[str]) -> bool:
    """Whether every subtree starts below a county (``MIN_DEPTH`` ids or more)."""
    return all(len(path_ids(prefix)) >= MIN_DEPTH for prefix in prefixes)


def _page(key: str, rows: str, n: int) -> str:
    """Steps 2 and 3: the bound from the CTE ``tops`` (``top`` per unit), then the rows at or
    above it of the units whose newest reaches it, newest first. ``rows`` selects a unit's
    newest rows (it may use ``tops`` and ``bound.low``)."""
    return (
        f" bound AS MATERIALIZED (SELECT coalesce((SELECT top FROM tops WHERE top IS NOT NULL"
        f" ORDER BY top DESC OFFSET {int(n) - 1} LIMIT 1), 0) AS low)"
        f" SELECT x.{key} FROM tops CROSS JOIN bound CROSS JOIN LATERAL ({rows} LIMIT {int(n)}) x"
        f" WHERE tops.top >= bound.low ORDER BY x.{key} DESC LIMIT {int(n)}"
    )


# A unit's rows are chosen by comparing rows of the index's columns, (unit, key) between
# (unit, low) and (unit, high), and ordered as the index is, unit first. With the unit as an
# equality instead, PostgreSQL may read the primary key backwards and filter by unit, which it
# estimates cheaper whenever a unit holds a fair share of the table, and which is the very
# scan past the other counties' newer rows that this module avoids.
ORDER_TASKS = "t.org_unit_id DESC, t.id DESC"
ORDER_EVENTS = "e.org_path DESC, e.seq DESC"
MAX_ID = 2**31 - 1  # task ids are 32-bit
MAX_SEQ = 2**63 - 1  # sequence numbers are 64-bit


Statement = tuple[str, list[Any]]


async def newest_task_ids(
    visible: Scope, unit_path: str | None, unit_id: int | None, n: int, before: int | None
) -> list[int]:
    """The ids of the n newest tasks (``id < before``) at units in ``visible`` and, if given,
    in the subtree at ``unit_path`` or at the unit ``unit_id`` alone."""
    sql, values = task_page_sql(visible, unit_path, unit_id, n, before)
    rows = await connections.get("default").execute_query_dict(sql, values)
    return [int(row["id"]) for row in rows]


def task_page_sql(
    visible: Scope, unit_path: str | None, unit_id: int | None, n: int, before: int | None
) -> Statement:
    """The statement of ``newest_task_ids``."""
    params = Params(postgres=True)
    units = scope_sql(visible, params, "u.path", "u.level")
    if unit_path is not None:
        units += f" AND u.path >= {params(unit_path)} AND u.path < {params(upper_bound(unit_path))}"
    if unit_id is not None:
        units += f" AND u.id = {params(unit_id)}"
    below = f"< ({{unit}}, {params(before)})" if before is not None else f"<= ({{unit}}, {MAX_ID})"
    key = "(t.org_unit_id, t.id)"
    sql = (
        f"WITH tops AS MATERIALIZED (SELECT u.id AS unit, (SELECT t.id FROM task t"
        f" WHERE {key} > (u.id, 0) AND {key} {below.format(unit='u.id')}"
        f" ORDER BY {ORDER_TASKS} LIMIT 1) AS top FROM org_unit u WHERE {units}),"
    ) + _page(
        "id",
        "SELECT t.id FROM task t WHERE"
        f" {key} >= (tops.unit, bound.low) AND {key} {below.format(unit='tops.unit')}"
        f" ORDER BY {ORDER_TASKS}",
        n,
    )
    return sql, params.values


async def newest_event_seqs(visible: Scope, subtree: str, n: int, before: int | None) -> list[int]:
    """The sequence numbers of the n newest audit events (``seq < before``) in the subtree at
    ``subtree`` that ``visible`` covers."""
    sql, values = event_page_sql(visible, subtree, n, before)
    rows = await connections.get("default").execute_query_dict(sql, values)
    return [int(row["seq"]) for row in rows]


def event_page_sql(visible: Scope, subtree: str, n: int, before: int | None) -> Statement:
    """The statement of ``newest_event_seqs``. Of ``visible``, the ranges without levels count:
    an event has no level to check.

    The distinct paths are walked from the last down, one probe each, and each probe also
    finds that path's newest event. That is its ``top`` on a first page; it may be an event
    outside the chain, whose number is below every one in it, which only lowers the bound.
    Past a cursor, each path's newest event before it is looked up instead."""
    params = Params(postgres=True)
    unlevelled = Scope(
        ranges=tuple(r for r in visible.ranges if r.levels is None),
        exact_paths=visible.exact_paths,
    )
    low, high = params(subtree), params(upper_bound(subtree))
    seen = scope_sql(unlevelled, params, "paths.p", "")
    first = params(FIRST_SEQ)
    key = "(e.org_path, e.seq)"
    below = f"< ({{p}}, {params(before)})" if before is not None else f"<= ({{p}}, {MAX_SEQ})"
    top = "paths.top"
    if before is not None:
        top = (
            f"(SELECT e.seq FROM audit_event e WHERE {key} >= (paths.p, {first})"
            f" AND {key} {below.format(p='paths.p')} ORDER BY {ORDER_EVENTS} LIMIT 1)"
        )
    sql = (
        "WITH RECURSIVE paths(p, top) AS ("
        f"(SELECT e.org_path, e.seq FROM audit_event e WHERE e.org_path >= {low}"
        f" AND e.org_path < {high} ORDER BY {ORDER_EVENTS} LIMIT 1)"
        " UNION ALL SELECT next.org_path, next.seq FROM paths CROSS JOIN LATERAL"
        f" (SELECT e.org_path, e.seq FROM audit_event e WHERE e.org_path >= {low}"
        f" AND e.org_path < paths.p ORDER BY {ORDER_EVENTS} LIMIT 1) next),"
        f" tops AS MATERIALIZED (SELECT paths.p AS p, {top} AS top FROM paths WHERE {seen}),"
    ) + _page(
        "seq",
        "SELECT e.seq FROM audit_event e WHERE"
        f" {key} >= (tops.p, greatest(bound.low, {first})) AND {key} {below.format(p='tops.p')}"
        f" ORDER BY {ORDER_EVENTS}",
        n,
    )
    return sql, params.values
