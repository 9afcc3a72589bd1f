"""The floor: each benchmarked answer produced by hand-written SQL through the bare driver.

A raw ASGI app, served by the same uvicorn as the service and driven by the same load
generator, so the ratio service ÷ floor measures what the service adds on top of the HTTP
round trip, the database and JSON: GraphQL, the ORM, authorization and batching. It
trusts its caller (no token, no policy): the runner passes the scope the viewer has.
The runner checks, once per operation, that the floor's JSON equals the service's.

Run: ``DATABASE_URL=… uvicorn bench.floor:app``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from core.merkle import completed_by, leaf_hash, left_siblings, node_hash
from models.audit import NEXT_SEQ
from models.enums import TaskStatus
from models.paths import upper_bound
from models.task import overdue_sql
from resolvers.audit import GENESIS_HASH, LOG_LOCK_CLASS, canonical, jurisdiction_of
from schema.audit import ENTITY_TYPES
from schema.node import NodeType, to_global_id

Row = Sequence[Any]
Handler = Callable[["Database", dict[str, Any]], Awaitable[dict[str, Any]]]
STATUSES = tuple(s.value for s in TaskStatus)  # the order the graph lists them in


def gid(type_name: NodeType, pk: object) -> str:
    return str(to_global_id(type_name, str(pk)))


class Database:
    """asyncpg or sqlite3 (through aiosqlite), with ``$n`` placeholders for both."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith(("postgres://", "postgresql://", "asyncpg://"))
        self.pool: Any = None
        self.sqlite: Any = None
        self.writing = asyncio.Lock()

    async def open(self) -> None:
        if self.postgres:
            import asyncpg

            dsn = re.sub(r"^(asyncpg|postgres)://", "postgresql://", self.url)
            self.pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        else:
            import aiosqlite

            # Autocommit: transactions are begun and ended explicitly, one at a time.
            self.sqlite = await aiosqlite.connect(self.url.split("://", 1)[1], isolation_level=None)
            await self.sqlite.execute("PRAGMA journal_mode=WAL")

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        if self.sqlite is not None:
            await self.sqlite.close()

    def sql(self, query: str) -> str:
        """SQLite numbers its parameters ``?n``, so one may be used twice, as on PostgreSQL."""
        return query if self.postgres else re.sub(r"\$(\d+)", r"?\1", query)

    async def fetch(self, query: str, *args: Any) -> list[Row]:
        if self.postgres:
            async with self.pool.acquire() as conn:
                return list(await conn.fetch(query, *args))
        async with self.sqlite.execute(self.sql(query), args) as cursor:
            return list(await cursor.fetchall())

    def when(self, value: Any) -> str | None:
        """A timestamp as the graph prints it (ISO 8601, UTC)."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return str(value.astimezone(UTC).isoformat())

    def stored_time(self, value: datetime) -> Any:
        return value if self.postgres else str(value)

    def loads(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


# -- Q1 -------------------------------------------------------------------------------------


async def me(db: Database, args: dict[str, Any]) -> dict[str, Any]:
    rows = await db.fetch("SELECT id, username FROM user_account WHERE id = $1", args["userId"])
    user = rows[0]
    return {"me": {"id": gid("User", user[0]), "username": user[1]}}


# -- Q2 -------------------------------------------------------------------------------------


async def inbox(db: Database, args: dict[str, Any]) -> dict[str, Any]:
    """The viewer's scope arrives as path prefixes: ``prefix`` for tasks and people,
    ``prefix`` plus the ``above`` paths for units (a township head sees its county's name)."""
    prefix, above = args["prefix"], set(args["above"])
    rows = await db.fetch(
        "SELECT t.id, t.title, t.status, t.due_at, u.id, u.name, i.id, i.name, i.path,"
        " p.id, p.name, pu.path, pt.id, pt.title, ptu.path"
        " FROM task t JOIN org_unit u ON u.id = t.org_unit_id"
        " JOIN org_unit i ON i.id = t.issuer_unit_id"
        " LEFT JOIN person p ON p.id = t.assignee_id"
        " LEFT JOIN org_unit pu ON pu.id = p.org_unit_id"
        " LEFT JOIN task pt ON pt.id = t.parent_id"
        " LEFT JOIN org_unit ptu ON ptu.id = pt.org_unit_id"
        " WHERE u.path >= $1 AND u.path < $2 ORDER BY t.id DESC LIMIT 50",
        prefix,
        upper_bound(prefix),
    )

    def seen(path: str | None, units: bool = False) -> bool:
        return path is not None and (path.startswith(prefix) or (units and path in above))

    edges = [
        {
            "node": {
                "id": gid("Task", r[0]),
                "title": r[1],
                "status": r[2],
                "dueAt": db.when(r[3]),
                "orgUnit": {"id": gid("OrgUnit", r[4]), "name": r[5]},
                "issuer": {"id": gid("OrgUnit", r[6]), "name": r[7]} if seen(r[8], True) else None,
                "assignee": {"id": gid("Person", r[9]), "name": r[10]} if seen(r[11]) else None,
                "parent": {"id": gid("Task", r[12]), "title": r[13]} if seen(r[14]) else None,
            }
        }
        for r in rows
    ]
    return {"tasks": {"edges": edges}}


# -- Q3 -------------------------------------------------------------------------------------


async def dashboard(db: Database, args: dict[str, Any]) -> dict[str, Any]:
    county_id = args["countyId"]
    county = (await db.fetch("SELECT path FROM org_unit WHERE id = $1", county_id))[0]
    prefix = county[0]
    units = await db.fetch(
        "SELECT id, name, level, path, parent_id, depth FROM org_unit"
        " WHERE path >= $1 AND path < $2 AND depth <= $3 ORDER BY path",
        prefix,
        upper_bound(prefix),
        prefix.count("/") + 1,
    )
    # From the counters the service keeps (``resolvers.task_counters``): per unit and status,
    # open tasks per due day before today, and today's overdue tasks from the task table.
    moment = datetime.now(UTC)
    start = datetime.combine(moment.date(), time(), UTC)
    counts = await db.fetch(
        "SELECT u.path, c.status, 0, c.n FROM task_count c"  # noqa: S608
        " JOIN org_unit u ON u.id = c.org_unit_id"
        " WHERE u.path >= $1 AND u.path < $2 AND c.n <> 0"
        " UNION ALL SELECT u.path, NULL, 1, d.n FROM task_due_count d"
        " JOIN org_unit u ON u.id = d.org_unit_id"
        " WHERE u.path >= $1 AND u.path < $2 AND d.due_day < $4 AND d.n <> 0"
        " UNION ALL SELECT u.path, NULL, 1, count(*) FROM task t"
        " JOIN org_unit u ON u.id = t.org_unit_id"
        f" WHERE u.path >= $1 AND u.path < $2 AND t.due_at >= $5 AND {overdue_sql('t', '$3')}"
        " GROUP BY u.path",
        prefix,
        upper_bound(prefix),
        db.stored_time(moment),
        moment.date() if db.postgres else str(moment.date()),
        db.stored_time(start),
    )
    # Roll each unit path's counts up to the shown unit that holds it.
    shown = {path for _, _, _, path, _, _ in units}
    by_unit: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    late: dict[str, int] = defaultdict(int)
    for path, status, overdue, n in counts:
        for holder in _holders(path, shown):
            if overdue:
                late[holder] += n
            else:
                by_unit[holder][status] += n

    def node(unit: Row, levels_below: int) -> dict[str, Any]:
        unit_id, name, level, path = unit[0], unit[1], unit[2], unit[3]
        stats = by_unit.get(path, {})
        result: dict[str, Any] = {
            "id": gid("OrgUnit", unit_id),
            "name": name,
            "level": level,
            "taskStats": {
                "total": sum(stats.values()),
                "overdue": late.get(path, 0),
                "byStatus": [{"status": s, "count": stats[s]} for s in STATUSES if s in stats],
            },
        }
        if levels_below:
            children = [c for c in units if c[4] == unit_id]
            result["children"] = {"edges": [{"node": node(c, levels_below - 1)} for c in children]}
        return result

    root = next(u for u in units if u[0] == county_id)
    return {"orgUnit": node(root, 2)}


def _holders(path: str, shown: set[str]) -> list[str]:
    holders = []
    end = path.find("/", 1)
    while end != -1:
        prefix = path[: end + 1]
        if prefix in shown:
            holders.append(prefix)
        end = path.find("/", end + 1)
    return holders


# -- Q4 -------------------------------------------------------------------------------------


async def rollups(db: Database, args: dict[str, Any]) -> dict[str, Any]:
    county_id = args["countyId"]
    indicators = await db.fetch("SELECT id, code, aggregation FROM indicator")
    children = await db.fetch(
        "SELECT id, name, path FROM org_unit WHERE parent_id = $1 ORDER BY path", county_id
    )
    # The subtree sums the service keeps (``resolvers.indicator_sums``): the county's and
    # its children's rows.
    sums = await db.fetch(
        "SELECT indicator_id, org_unit_id, dimension, period, total_e4, n FROM indicator_sum"
        " WHERE n > 0 AND org_unit_id IN (SELECT id FROM org_unit WHERE id = $1 OR parent_id = $1)",
        county_id,
    )
    groups: dict[tuple[int, str, str], list[tuple[Any, Decimal, int]]] = defaultdict(list)
    for indicator_id, unit_id, dimension, period, total_e4, n in sums:
        part = (period, Decimal(int(total_e4)).scaleb(-4), n)
        if unit_id != county_id:
            groups[(indicator_id, "child", str(unit_id))].append(part)
            continue
        groups[(indicator_id, "total", "")].append(part)
        if dimension:
            groups[(indicator_id, "dimension", dimension)].append(part)
    result: dict[str, Any] = {}
    for number, code in enumerate(args["metrics"]):
        indicator_id, _, how = next(i for i in indicators if i[1] == code)

        def value(kind: str, key: str, _id: int = indicator_id, _how: str = how) -> float | None:
            parts = groups.get((_id, kind, key))
            return None if parts is None else float(_aggregate(_how, parts))

        dims = sorted(k for (i, kind, k) in groups if i == indicator_id and kind == "dimension")
        result[f"m{number}"] = {
            "metric": code,
            # Nothing observed reads null, and every child is listed, with null where it has
            # nothing (``resolvers.indicators.rollup``).
            "total": value("total", ""),
            "byDimension": [{"key": k, "value": value("dimension", k)} for k in dims],
            "byChild": [
                {
                    "orgUnit": {"id": gid("OrgUnit", c[0]), "name": c[1]},
                    "value": value("child", str(c[0])),
                }
                for c in children
            ],
        }
    return result


def _aggregate(how: str, parts: list[tuple[Any, Decimal, int]]) -> Decimal:
    if how == "LATEST":
        latest = max(p[0] for p in parts)
        parts = [p for p in parts if p[0] == latest]
        how = "AVERAGE"
    total = sum((p[1] for p in parts), Decimal(0))
    if how == "AVERAGE":
        return (total / sum(p[2] for p in parts)).quantize(Decimal("0.0001")).normalize()
    return total.normalize()


# -- Q5 -------------------------------------------------------------------------------------


async def history(db: Database, args: dict[str, Any]) -> dict[str, Any]:
    prefix = args["prefix"]
    rows = await db.fetch(
        "SELECT e.seq, e.at, e.action, e.entity_type, e.entity_id, a.username,"
        " e.before, e.after"
        " FROM audit_event e LEFT JOIN user_account a ON a.id = e.actor_id"
        " WHERE e.org_path >= $1 AND e.org_path < $2 ORDER BY e.seq DESC LIMIT 50",
        prefix,
        upper_bound(prefix),
    )
    edges = []
    for seq, at, action, entity_type, entity_id, username, before, after in rows:
        graph_type = ENTITY_TYPES.get(entity_type)
        edges.append(
            {
                "node": {
                    "seq": seq,
                    "at": db.when(at),
                    "action": action,
                    "entityId": gid(graph_type, entity_id)
                    if graph_type and entity_id.isdigit()
                    else entity_id,
                    "actor": None if username is None else {"username": username},
                    "before": db.loads(before),
                    "after": db.loads(after),
                }
            }
        )
    return {"auditEvents": {"edges": edges}}


# -- M1 -------------------------------------------------------------------------------------

MOVES = {"START": "IN_PROGRESS", "SUBMIT": "SUBMITTED", "REJECT": "REJECTED"}


async def transition(db: Database, args: dict[str, Any]) -> dict[str, Any]:
    """The same change and audit append as ``transitionTask``, in one transaction."""
    task_id, action, expected, user_id = (
        args["taskId"],
        args["action"],
        args["expectedVersion"],
        args["userId"],
    )
    if db.postgres:
        async with db.pool.acquire() as conn, conn.transaction():
            return await _transition(
                lambda q, *a: conn.fetch(q, *a), True, db, task_id, action, expected, user_id
            )

    async def fetch(query: str, *a: Any) -> list[Row]:
        async with db.sqlite.execute(db.sql(query), a) as cursor:
            return list(await cursor.fetchall())

    async with db.writing:  # one connection, so one transaction at a time
        await db.sqlite.execute("BEGIN IMMEDIATE")
        try:
            result = await _transition(fetch, False, db, task_id, action, expected, user_id)
        except BaseException:
            await db.sqlite.execute("ROLLBACK")
            raise
        await db.sqlite.execute("COMMIT")
    return result


async def _transition(
    fetch: Callable[..., Awaitable[list[Row]]],
    postgres: bool,
    db: Database,
    task_id: int,
    action: str,
    expected: int,
    user_id: int,
) -> dict[str, Any]:
    task = (
        await fetch(
            "SELECT t.status, t.version, t.org_unit_id, t.issuer_unit_id, t.assignee_id,"
            " t.due_at, u.path FROM task t JOIN org_unit u ON u.id = t.org_unit_id"
            " WHERE t.id = $1",
            task_id,
        )
    )[0]
    status, version, unit_id, issuer_id, assignee_id, due_at, path = task
    if version != expected:
        return _payload(None, "CONFLICT")
    now = datetime.now(UTC)
    target = MOVES[action]
    submitted = user_id if action == "SUBMIT" else None
    updated = await fetch(
        "UPDATE task SET status = $1, version = version + 1, updated_at = $2,"
        " submitted_by_id = COALESCE($3, submitted_by_id) WHERE id = $4 AND version = $5"
        " RETURNING version",
        target,
        db.stored_time(now),
        submitted,
        task_id,
        expected,
    )
    if not updated:
        return _payload(None, "CONFLICT")
    due = db.when(due_at)
    snapshot = {
        "org_unit_id": unit_id,
        "issuer_unit_id": issuer_id,
        "assignee_id": assignee_id,
        "due_at": due,
    }
    before = {**snapshot, "status": status, "version": version}
    after = {**snapshot, "status": target, "version": version + 1}
    seq, log, index, prev = await _log_head(fetch, postgres, path)
    body = {
        "seq": seq,
        "jurisdiction": log,
        "leaf_index": index,
        "at": now.isoformat(timespec="microseconds"),
        "action": f"task.{action.lower()}",
        "entity_type": "task",
        "entity_id": str(task_id),
        "actor_id": user_id,
        "org_path": path,
        "before": before,
        "after": after,
        "request_id": "floor",
    }
    digest = hashlib.sha256((prev + canonical(body)).encode()).hexdigest()
    await fetch(
        "INSERT INTO audit_event (seq, jurisdiction, leaf_index, at, action, entity_type,"
        " entity_id, actor_id, org_path, before, after, request_id, prev_hash, hash)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        seq,
        log,
        index,
        db.stored_time(now),
        body["action"],
        "task",
        str(task_id),
        user_id,
        path,
        json.dumps(before),
        json.dumps(after),
        "floor",
        prev,
        digest,
    )
    await _append_nodes(fetch, log, index, leaf_hash(canonical(body).encode()))
    # The dashboards' counters, as the service keeps them (``resolvers.task_counters``): these
    # moves are between open statuses, so the due-day counts stay as they are.
    if status != target:
        (low, low_n), (high, high_n) = sorted(((status, -1), (target, 1)))
        await fetch(
            "INSERT INTO task_count (org_unit_id, status, n) VALUES ($1, $2, $3), ($1, $4, $5)"
            " ON CONFLICT (org_unit_id, status) DO UPDATE SET n = task_count.n + excluded.n",
            unit_id,
            low,
            low_n,
            high,
            high_n,
        )
    if postgres:
        await fetch(
            "SELECT pg_notify('riverchief_tasks', $1)",
            json.dumps({"task": task_id, "action": body["action"], "seq": seq}),
        )
    return _payload({"id": gid("Task", task_id), "status": target, "version": version + 1}, None)


async def _log_head(
    fetch: Callable[..., Awaitable[list[Row]]], postgres: bool, path: str
) -> tuple[int, int, int, str]:
    """(seq, jurisdiction, leaf index, previous hash) of the event to append, under its
    jurisdiction's lock, as ``resolvers.audit.append_event`` takes them."""
    log = jurisdiction_of(path)
    if postgres:
        await fetch("SELECT pg_advisory_xact_lock($1, $2)", LOG_LOCK_CLASS, log)
        seq = (await fetch(NEXT_SEQ))[0][0]
    else:
        top = await fetch("SELECT MAX(seq) FROM audit_event")
        seq = max(top[0][0] or 0, 0) + 1
    head = await fetch(
        "SELECT leaf_index, hash FROM audit_event WHERE jurisdiction = $1"
        " ORDER BY leaf_index DESC LIMIT 1",
        log,
    )
    index, prev = (head[0][0] + 1, head[0][1]) if head else (0, GENESIS_HASH)
    return seq, log, index, prev


async def _append_nodes(
    fetch: Callable[..., Awaitable[list[Row]]], log: int, index: int, leaf: bytes
) -> None:
    hashes = [leaf]
    for level, position in left_siblings(index):
        (row,) = await fetch(
            "SELECT hash FROM audit_node WHERE jurisdiction = $1 AND level = $2 AND position = $3",
            log,
            level,
            position,
        )
        hashes.append(node_hash(bytes.fromhex(row[0]), hashes[-1]))
    for (level, position), value in zip(completed_by(index), hashes, strict=True):
        await fetch(
            "INSERT INTO audit_node (jurisdiction, level, position, hash) VALUES ($1, $2, $3, $4)",
            log,
            level,
            position,
            value.hex(),
        )


def _payload(task: dict[str, Any] | None, code: str | None) -> dict[str, Any]:
    errors = [] if code is None else [{"code": code, "message": "conflict"}]
    return {"transitionTask": {"task": task, "errors": errors}}


HANDLERS: dict[str, Handler] = {
    "Q1": me,
    "Q2": inbox,
    "Q3": dashboard,
    "Q4": rollups,
    "Q5": history,
    "M1": transition,
}


class FloorApp:
    """``POST /floor/<operation>`` with ``{"variables": {...}}``; answers ``{"data": ...}``."""

    def __init__(self) -> None:
        self.db = Database(os.environ.get("DATABASE_URL", "sqlite://db.sqlite3"))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.db.open()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.db.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        handler = HANDLERS.get(scope["path"].rsplit("/", 1)[-1])
        if handler is None:
            await _respond(send, 404, {"errors": [{"message": "no such operation"}]})
            return
        data = await handler(self.db, json.loads(body)["variables"])
        await _respond(send, 200, {"data": data})


async def _respond(send: Any, status: int, payload: dict[str, Any]) -> None:
    raw = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(raw)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


app = FloorApp()
