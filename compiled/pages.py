"""A Relay connection built whole in SQL: one ``SELECT`` whose value is the connection's JSON.

It serves the connections nested in objects (``OrgUnit.children``, ``Task.subtasks``, …) as
correlated subqueries, so a page of parents costs no statement more, and root lists whose
keys are not a single id (``orgUnits``). The page's keys are chosen first (ordered, ``LIMIT
size + 1``); only those rows are joined again to build their nodes. Cursors are the ones
``resolvers.pagination.encode_cursor`` writes: URL-safe base64 of the JSON list of the sort
key, e.g. ``["/1/5/", 5]`` (``json.dumps`` spacing), computed in SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from compiled.arguments import PageArguments
from compiled.connection import ConnectionPlan
from compiled.objects import ObjectPlan, Render, Row, render_object, row_source
from resolvers.pagination import OrderKey

# Sort keys that are text: their JSON in a cursor is the text in quotes, which holds only for
# text JSON never escapes (a path is digits and slashes).
PLAIN_TEXT_KEYS = frozenset({"path"})
ROW_PAGE_INFO = frozenset({"hasNextPage", "startCursor", "endCursor"})


@dataclass(frozen=True)
class PageSpec:
    """A list as its resolver reads it.

    ``where`` gives the conditions on a row of ``type_name`` (under the aliases it is handed);
    ``order`` is the resolver's ``OrderKey``; ``fetch_at_zero`` marks the batched first pages
    (``resolvers.batches``), whose ``hasNextPage`` says whether any row exists even when
    ``first`` is 0, where ``paginate`` reads no rows and says false."""

    type_name: str
    where: Callable[[Row, Render], list[str]]
    order: OrderKey
    page: PageArguments
    fetch_at_zero: bool = False


def page_select(
    connection: ConnectionPlan,
    node: ObjectPlan | None,
    spec: PageSpec,
    r: Render,
    *,
    as_text: bool = False,
) -> str:
    """A ``SELECT`` of one row and one column: the connection's JSON (as text in the column
    ``j``, for a root)."""
    size = spec.page.size
    # Rows are read when something is built from them (always by an aggregate, so that the
    # statement keeps its one row): edges, or a page info field other than the constants.
    wanted = any(name == "edges" for _, name in connection.entries) or any(
        name in ROW_PAGE_INFO for _, name in connection.page_info
    )
    read_rows = wanted and (size > 0 or spec.fetch_at_zero)
    d = r.dialect
    q = r.alias("q")
    pairs = []
    for key, name in connection.entries:
        if name == "__typename":
            value = f"'{connection.type_name}'"
        elif name == "totalCount":
            value = _count(spec, r)
        elif name == "pageInfo":
            value = _page_info(connection, size, read_rows, q, r)
        elif read_rows:
            value = _edges(connection, size, q, r)
        else:
            value = d.empty_array()
        pairs.append((key, value))
    body = d.obj(pairs)
    if as_text:
        body = f"{d.text(body)} AS j"
    if not read_rows:
        if node is not None:  # no node is built, but its arguments are checked all the same
            render_object(node, Row("x", "x"), r.dry())
        return f"SELECT {body}"
    return f"SELECT {body} FROM ({_rows(node, spec, r)}) {q}"


def _order(spec: PageSpec, row: Row) -> str:
    direction = "DESC" if spec.order.descending else "ASC"
    return ", ".join(f"{row.alias}.{key} {direction}" for key in spec.order.keys)


def _after(spec: PageSpec, row: Row, r: Render) -> list[str]:
    """``resolvers.pagination._after`` in SQL (no nullable sort keys here)."""
    values = spec.page.after
    if values is None:
        return []
    op = "<" if spec.order.descending else ">"
    field, tiebreak = f"{row.alias}.{spec.order.field}", f"{row.alias}.{spec.order.tiebreak}"
    if len(values) == 1:
        return [f"{field} {op} {r.params(values[0])}"]
    value, tie = values
    return [
        f"({field} {op} {r.params(value)}"
        f" OR ({field} = {r.params(value)} AND {tiebreak} {op} {r.params(tie)}))"
    ]


def _cursor(spec: PageSpec, row: Row, r: Render) -> str:
    parts = []
    for key in spec.order.keys:
        if key in PLAIN_TEXT_KEYS:
            parts.append(f"'\"' || {row.alias}.{key} || '\"'")
        elif spec.order.kind is int or key == spec.order.tiebreak:
            parts.append(f"CAST({row.alias}.{key} AS text)")
        else:
            raise ValueError(f"no cursor for the sort key {key!r}")
    text = " || ', ' || ".join(parts)
    return r.dialect.base64(f"'[' || {text} || ']'")


def _rows(node: ObjectPlan | None, spec: PageSpec, r: Render) -> str:
    """The page's rows, at most ``size + 1``, in order: ``rn``, ``n`` (how many), the cursor
    ``c`` and the node's JSON ``j``."""
    source, row = row_source(spec.type_name, r)
    where = " AND ".join([*spec.where(row, r), *_after(spec, row, r)])
    order = _order(spec, row)
    keys = (
        f"SELECT {row.alias}.id AS k, row_number() OVER (ORDER BY {order}) AS rn"
        f" FROM {source} WHERE {where} ORDER BY {order} LIMIT {spec.page.size + 1}"
    )
    source, row = row_source(spec.type_name, r)
    built = render_object(node, row, r) if node is not None else "NULL"
    p = r.alias("p")
    return (
        f"SELECT {p}.rn AS rn, count(*) OVER () AS n, {_cursor(spec, row, r)} AS c,"
        f" {built} AS j FROM {source} JOIN ({keys}) {p} ON {p}.k = {row.alias}.id"
        f" ORDER BY {p}.rn"
    )


def _count(spec: PageSpec, r: Render) -> str:
    source, row = row_source(spec.type_name, r)
    where = " AND ".join(spec.where(row, r))
    return f"(SELECT count(*) FROM {source} WHERE {where})"


def _edges(connection: ConnectionPlan, size: int, q: str, r: Render) -> str:
    """The edges of the rows aliased ``q``, the extra row (``size + 1``) left out."""
    d = r.dialect
    fields = []
    for key, name in connection.edge_entries:
        if name == "cursor":
            fields.append((key, f"{q}.c"))
        elif name == "node":
            fields.append((key, d.json_column(f"{q}.j")))
        else:
            fields.append((key, f"'{connection.node_type}Edge'"))
    return d.array_agg(d.obj(fields), f"{q}.rn", f"{q}.rn <= {size}")


def _page_info(connection: ConnectionPlan, size: int, read_rows: bool, q: str, r: Render) -> str:
    d = r.dialect
    values = {
        "hasNextPage": d.boolean(f"count(*) > {size}" if read_rows else "1 = 0"),
        "hasPreviousPage": d.boolean("1 = 0"),
        "startCursor": f"max(CASE WHEN {q}.rn = 1 AND {q}.rn <= {size} THEN {q}.c END)",
        "endCursor": f"max(CASE WHEN {q}.rn = {d.least(f'{q}.n', str(size))} THEN {q}.c END)",
        "__typename": "'PageInfo'",
    }
    if not read_rows:
        values["startCursor"] = values["endCursor"] = "NULL"
    return d.obj([(key, values[name]) for key, name in connection.page_info])
