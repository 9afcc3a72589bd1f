"""``taskStats`` of every unit a dashboard shows, counted once per statement.

Below a root ``orgUnit`` (the anchor), the units of ``children`` lists — children,
grandchildren, … — read their ``taskStats`` from one roll-up at the head of the statement
(``WITH``), as ``resolvers.task_stats`` counts a page of units in one grouped statement: the
counter rows (``task_count``; ``task_due_count`` before today; the tasks due earlier today)
of the units in the anchor's subtree on which the viewer holds ``task:read`` are read once
and added up by each unit's deepest shown ancestor (the id at that depth in its path), and
those sums by their ancestors at the depths shown. Each shown unit then looks its figures
up by its id.
That is exact: a unit's subtree is the anchor's units whose path holds its id at its depth.

``taskStats`` on list rows anywhere else (a list at the root, a unit reached by a link) has
no anchor and leaves the operation to the resolvers (``NotCompilable``), as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time

from compiled.nested import PlannedList
from compiled.objects import UNITS, Entry, ObjectPlan, Render, subtree_end
from compiled.selection import NotCompilable
from compiled.stats import COUNTS, DUE_COUNTS, TASKS, PlannedStats, RolledStats, place
from models.task import overdue_sql
from policies.rights import TASK_READ


@dataclass(frozen=True)
class RollUp:
    """What a root unit's statement counts: the depths below the anchor whose units show
    ``taskStats`` (0 the anchor), and each shape of ``taskStats`` asked for."""

    depths: frozenset[int]
    shapes: tuple[PlannedStats, ...]

    def names(self) -> dict[PlannedStats, str]:
        return {shape: f"rollup_j{n}" for n, shape in enumerate(self.shapes)}


def anchor(plan: ObjectPlan, root_unit: bool) -> tuple[ObjectPlan, RollUp | None]:
    """The root object's plan and its roll-up (None when nothing reads one). A root unit
    whose list rows count reads its own ``taskStats`` from the roll-up as well; a ``taskStats``
    on list rows that no root unit anchors is ``NotCompilable``."""
    if not _Found().walk(plan, 0 if root_unit else None, False):
        return plan, None
    own = tuple(
        replace(e, nested=RolledStats(e.nested)) if isinstance(e.nested, PlannedStats) else e
        for e in plan.entries
    )
    rolled = replace(plan, entries=own)
    found = _Found()
    found.walk(rolled, 0, False)
    return rolled, RollUp(frozenset(found.depths), tuple(found.shapes))


@dataclass
class _Found:
    """The depths and shapes (in the order met) of the rolled-up ``taskStats`` of a plan."""

    depths: set[int] = field(default_factory=set)
    shapes: dict[PlannedStats, None] = field(default_factory=dict)

    def walk(self, plan: ObjectPlan, depth: int | None, in_list: bool) -> bool:
        """Whether any was found; ``depth`` is None off the anchor's chain of ``children``
        lists, where a rolled-up ``taskStats`` has no roll-up to read."""
        for entry in plan.entries:
            self.visit(entry, depth, in_list)
        return bool(self.depths)

    def visit(self, entry: Entry, depth: int | None, in_list: bool) -> None:
        nested = entry.nested
        if isinstance(nested, RolledStats):
            if depth is None:
                raise NotCompilable("taskStats below the nodes of a list no root unit anchors")
            self.depths.add(depth)
            self.shapes[nested.stats] = None
        elif isinstance(nested, PlannedStats):
            if in_list:
                raise NotCompilable("taskStats below the nodes of a list")
        elif isinstance(nested, PlannedList) and nested.plan is not None:
            chained = depth is not None and nested.field.rolls_up
            self.walk(nested.plan, depth + 1 if chained and depth is not None else None, True)
        elif entry.child is not None:
            self.walk(entry.child, None, in_list)


def render_rollup(rollup: RollUp, unit_id: str, r: Render) -> str:
    """The ``WITH`` clause: the counts of the subtree of the unit whose id is ``unit_id``
    (a placeholder) under each ancestor at the depths shown, and per shape of ``taskStats``
    one row per ancestor (``k``, the JSON ``j``). Rendered before the statement's body, so
    that its placeholders come first."""
    d = r.dialect
    names = rollup.names()
    r.rollups.update(names)
    start = datetime.combine(r.moment.date(), time(), UTC)
    today = r.params(r.moment.date() if d.postgres else str(r.moment.date()))
    since = r.params(d.moment(start))
    depths = sorted(rollup.depths)
    # A unit's ancestor at a depth (itself at its own): the id at that depth of its path
    # '/1/5/23/', the (depth + 2)nd part.
    if d.postgres:
        at = "CAST(split_part(u.path, '/', {depth} + 2) AS bigint)"
        deepest = at.format(depth=f"least(u.depth, a.depth + {depths[-1]})")
    else:
        ids = "'[' || replace(trim(u.path, '/'), '/', ',') || ']'"
        at = f"json_extract({ids}, '$[' || ({{depth}}) || ']')"
        deepest = at.format(depth=f"min(u.depth, a.depth + {depths[-1]})")
    above = ", ".join(
        f"CASE WHEN u.depth >= a.depth + {n} THEN {at.format(depth=f'a.depth + {n}')} END AS a{n}"
        for n in depths
    )
    columns = ", ".join(f"a{n}" for n in depths)
    counted = " UNION ALL ".join(
        f"SELECT a{n} AS k, status, late, sum(n) AS n FROM rollup_deep WHERE a{n} IS NOT NULL"
        f" GROUP BY a{n}, status, late"
        for n in depths
    )
    # The counter rows, read once and added up by key: by status (late 0), and the overdue
    # tasks (late 1; the due days before today added up per unit first). PostgreSQL groups
    # by the one key and joins its ancestors after; SQLite, which would search the list of
    # keys once per row, groups by the ancestors as well.
    shown = "" if d.postgres else ", ".join(f"x.a{n} AS a{n}" for n in depths) + ", "
    grouped = "" if d.postgres else ", ".join(f"x.a{n}" for n in depths) + ", "
    if d.postgres:  # the counter rows first, their units hashed
        by_key = (
            "SELECT u.key AS key, x.status AS status, x.late AS late, sum(x.n) AS n FROM ("
            f"SELECT c.org_unit_id AS unit, c.status AS status, 0 AS late, c.n AS n"
            f" FROM {COUNTS} c WHERE c.n <> 0"
            f" UNION ALL SELECT e.org_unit_id, NULL, 1, sum(e.n) FROM {DUE_COUNTS} e"
            f" WHERE e.due_day < {today} AND e.n <> 0 GROUP BY e.org_unit_id"
            f" UNION ALL SELECT t.org_unit_id, NULL, 1, 1 FROM {TASKS} t"
            f" WHERE t.due_at >= {since} AND {overdue_sql('t', r.now)}"
            ") x JOIN rollup_units u ON u.id = x.unit GROUP BY u.key, x.status, x.late"
        )
    else:  # each unit's counter rows by the counters' keys (SQLite would loop over both)
        by_key = (
            f"SELECT x.key AS key, {shown}x.status AS status, x.late AS late, sum(x.n) AS n"
            f" FROM (SELECT u.*, c.status AS status, 0 AS late, c.n AS n FROM rollup_units u"
            f" JOIN {COUNTS} c ON c.org_unit_id = u.id WHERE c.n <> 0"
            f" UNION ALL SELECT u.*, NULL, 1, e.n FROM rollup_units u JOIN (SELECT"
            f" e.org_unit_id AS unit, sum(e.n) AS n FROM {DUE_COUNTS} e WHERE e.due_day < {today}"
            " AND e.n <> 0 GROUP BY e.org_unit_id) e ON e.unit = u.id"
            f" UNION ALL SELECT u.*, NULL, 1, 1 FROM rollup_units u JOIN {TASKS} t"
            f" ON t.org_unit_id = u.id WHERE t.due_at >= {since} AND {overdue_sql('t', r.now)}"
            f") x GROUP BY x.key, {grouped}x.status, x.late"
        )
    mat = "MATERIALIZED "
    if d.postgres:
        deep = [
            f"rollup_keys AS ({by_key})",
            f"rollup_deep AS {mat}(SELECT {', '.join(f'k.a{n} AS a{n}' for n in depths)},"
            " y.status AS status, y.late AS late, y.n AS n FROM rollup_keys y"
            f" JOIN (SELECT DISTINCT key, {columns} FROM rollup_units) k ON k.key = y.key)",
        ]
    else:
        deep = [f"rollup_deep AS {mat}({by_key})"]
    clauses = [
        f"rollup_anchor AS (SELECT a.path AS path, a.depth AS depth FROM {UNITS} a"
        f" WHERE a.id = {unit_id})",
        # The units counted, each with its ancestors at the depths shown (none above it)
        # and the deepest of them, its ``key``.
        f"rollup_units AS {mat}(SELECT u.id AS id, {deepest} AS key, {above} FROM {UNITS} u"
        f" JOIN rollup_anchor a ON u.path >= a.path AND u.path < {subtree_end('a.path')}"
        f" WHERE {r.scope(TASK_READ, 'u')})",
        *deep,
        # Each ancestor's counts: its keys' added up.
        f"rollup_counts AS {mat}(SELECT y.k AS k, y.status AS status, y.late AS late,"
        f" {d.integer('y.n')} AS n, {place('y.status')} AS place FROM ({counted}) y)",
    ]
    for shape in rollup.shapes:
        clauses.append(f"{names[shape]} AS {mat}({_shape(shape, r)})")
    return "WITH " + ", ".join(clauses) + " "


def _shape(shape: PlannedStats, r: Render) -> str:
    """One row per ancestor: ``k`` and the JSON ``j`` of its ``taskStats``."""
    d = r.dialect
    shown = {"status": "c.status", "count": "c.n", "__typename": "'StatusCount'"}
    item = d.obj([(k, shown[n]) for k, n in shape.by_status])
    pairs = []
    if d.postgres:
        for key, name in shape.fields:
            if name == "total":
                value = d.integer("coalesce(sum(c.n) FILTER (WHERE c.late = 0), 0)")
            elif name == "overdue":
                value = d.integer("coalesce(sum(c.n) FILTER (WHERE c.late = 1), 0)")
            elif name == "byStatus":
                value = d.array_agg(item, "c.place", "c.late = 0")
            else:
                value = "'TaskStats'"
            pairs.append((key, value))
        return f"SELECT c.k AS k, {d.obj(pairs)} AS j FROM rollup_counts c GROUP BY c.k"
    # SQLite aggregates in the order of the rows it reads: each list is its own subquery.
    for key, name in shape.fields:
        if name in ("total", "overdue"):
            late = 0 if name == "total" else 1
            value = (
                "(SELECT coalesce(sum(c.n), 0) FROM rollup_counts c"
                f" WHERE c.k = g.k AND c.late = {late})"
            )
        elif name == "byStatus":
            rows = "SELECT * FROM rollup_counts c WHERE c.k = g.k AND c.late = 0 ORDER BY c.place"
            value = d.nested(f"SELECT {d.array_agg(item, 'c.place')} FROM ({rows}) c")
        else:
            value = "'TaskStats'"
        pairs.append((key, value))
    return f"SELECT g.k AS k, {d.obj(pairs)} AS j FROM (SELECT DISTINCT k FROM rollup_counts) g"
