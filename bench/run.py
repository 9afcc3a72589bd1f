"""The benchmark runner: the real service under uvicorn, driven over loopback.

    python -m bench.run --database-url URL [--rounds 3] [--label county-pg]
    python -m bench.run --quick            # CI: small data, checks statement counts

For each operation it records the SQL statements per request (one request against a
server with debugging on), then p50/p99 or the rate over several rounds for the service
and for the floor (``bench/floor.py``) in the same run, their ratio, and the service's
memory. The database must hold ``riverchief bench-data``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import queries
from bench.floor import Database, gid
from bench.load import LoadError, Request, Sample, drive, graphql_ok, post_once
from bench.servers import Process, floor, service
from policies.engine import ancestors
from schema.node import from_global_id

RESULTS = Path(__file__).parent / "results"
RECORDED_STATEMENTS = Path(__file__).parent / "statements.json"
PASSWORD = "bench-pass"  # noqa: S105 - the generated accounts' documented password
ACCOUNTS = ("bench_county", "bench_township", "bench_village", "bench_inspector")
WRITER_TASKS_PER_CLIENT = 3
OPEN_FOR_WRITER = ("ASSIGNED", "IN_PROGRESS", "SUBMITTED", "REJECTED")
NEXT_ACTION = {
    "ASSIGNED": "START",
    "REJECTED": "START",
    "IN_PROGRESS": "SUBMIT",
    "SUBMITTED": "REJECT",
}


@dataclass(frozen=True)
class Area:
    """Where writers work: a township issuing tasks to one of its villages, and the heads
    that act there (the village's starts and submits, the township's rejections)."""

    township: int
    village: int
    issuer: str
    doer: str


@dataclass
class Fixture:
    """Who asks and about what: read from the bench data once per run."""

    tokens: dict[str, str]
    user_ids: dict[str, int]
    county: tuple[int, str]
    township: tuple[int, str]
    village: int
    metrics: list[str]
    writer_tasks: list[int] = field(default_factory=list)
    # A second county's writing area, when the data has one (M1x2), and its tasks.
    other: Area | None = None
    other_tasks: list[int] = field(default_factory=list)

    @property
    def home(self) -> Area:
        return Area(self.township[0], self.village, "bench_township", "bench_village")

    def area_of(self, task: int) -> Area:
        return self.other if self.other and task in self.other_tasks else self.home


@dataclass
class Plan:
    rounds: int
    latency_requests: int
    rate_seconds: float
    warmup: int


FULL = Plan(rounds=3, latency_requests=100, rate_seconds=5.0, warmup=20)
QUICK = Plan(rounds=1, latency_requests=10, rate_seconds=0.5, warmup=2)


# -- set-up -----------------------------------------------------------------------------------


async def read_fixture(db: Database, server: Process) -> Fixture:
    rows = await db.fetch(
        "SELECT id, username FROM user_account WHERE username IN ($1, $2, $3, $4)", *ACCOUNTS
    )
    user_ids = {name: uid for uid, name in rows}
    missing = set(ACCOUNTS) - set(user_ids)
    if missing:
        raise SystemExit(f"no bench data here (missing {sorted(missing)}): run bench-data")
    places: dict[str, tuple[int, str]] = {}
    for name in ("bench_county", "bench_township", "bench_village"):
        domain = (
            await db.fetch(
                "SELECT v2 FROM casbin_rule WHERE ptype = 'g' AND v0 = $1",
                f"user:{user_ids[name]}",
            )
        )[0][0]
        path = domain.rstrip("*")
        unit = (await db.fetch("SELECT id FROM org_unit WHERE path = $1", path))[0][0]
        places[name] = (unit, path)
    metrics = [r[0] for r in await db.fetch("SELECT code FROM indicator ORDER BY code")]
    other = await other_county(db, places["bench_county"][0])
    names = [*ACCOUNTS, *((other.issuer, other.doer) if other else ())]
    for uid, name in await db.fetch(
        "SELECT id, username FROM user_account WHERE username = ANY($1)"
        if db.postgres
        else "SELECT id, username FROM user_account WHERE username IN ($1, $2)",
        *((names,) if db.postgres else names[-2:]),
    ):
        user_ids[name] = uid
    tokens = {name: await login(server, name) for name in names}
    return Fixture(
        tokens=tokens,
        user_ids=user_ids,
        county=places["bench_county"],
        township=places["bench_township"],
        village=places["bench_village"][0],
        metrics=metrics,
        other=other,
    )


async def other_county(db: Database, county: int) -> Area | None:
    """The first township and village of another county, with their heads' accounts
    (``head_<unit id>``, the bench password): None when the data has one county."""
    found = await db.fetch(
        "SELECT t.id, v.id FROM org_unit c JOIN org_unit t ON t.parent_id = c.id"
        " JOIN org_unit v ON v.parent_id = t.id"
        " WHERE c.parent_id IS NULL AND c.id <> $1 AND t.level = 'TOWNSHIP'"
        " AND v.level = 'VILLAGE' ORDER BY c.id, t.id, v.id LIMIT 1",
        county,
    )
    if not found:
        return None
    township, village = found[0]
    return Area(township, village, f"head_{township}", f"head_{village}")


async def login(server: Process, username: str) -> str:
    body = await post_once(
        "127.0.0.1",
        server.port,
        "/graphql",
        {
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p)"
            " { token errors { code message } } }",
            "variables": {"u": username, "p": PASSWORD},
        },
        {},
    )
    token = body["data"]["login"]["token"]
    if not token:
        raise SystemExit(f"cannot log in as {username}: {body}")
    return str(token)


async def writer_tasks(
    db: Database, server: Process, fixture: Fixture, needed: int, area: Area | None = None
) -> list[int]:
    """Open tasks the township issued to the village, created through the API if too few."""
    area = area or fixture.home
    found = [
        r[0]
        for r in await db.fetch(
            "SELECT id FROM task WHERE org_unit_id = $1 AND issuer_unit_id = $2"
            " AND title LIKE 'bench write %' AND status IN ($3, $4, $5, $6) ORDER BY id",
            area.village,
            area.township,
            *OPEN_FOR_WRITER,
        )
    ]
    while len(found) < needed:
        body = await post_once(
            "127.0.0.1",
            server.port,
            "/graphql",
            {
                "query": "mutation($i: CreateTaskInput!) { createTask(input: $i)"
                " { task { id } errors { code message } } }",
                "variables": {
                    "i": {
                        "title": f"bench write {len(found) + 1}",
                        "category": "PATROL",
                        "orgUnitId": gid("OrgUnit", area.village),
                    }
                },
            },
            bearer(fixture.tokens[area.issuer]),
        )
        payload = body["data"]["createTask"]
        if payload["errors"]:
            raise SystemExit(f"cannot create a writer task: {payload['errors']}")
        found.append(from_global_id(payload["task"]["id"])[1])
    return found[:needed]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the operations -------------------------------------------------------------------------


@dataclass
class Subject:
    """One operation, as the service is asked for it and as the floor is."""

    operation: queries.Operation
    service: Callable[[int, int], Request]
    floor: Callable[[int, int], Request]


def graphql(query: str, token: str, variables: dict[str, Any] | None = None) -> Request:
    return Request("/graphql", {"query": query, "variables": variables or {}}, bearer(token))


def floor_request(key: str, variables: dict[str, Any]) -> Request:
    return Request(f"/floor/{key}", {"variables": variables}, {})


class Writer:
    """Each client moves its own tasks round START → SUBMIT → REJECT, tracking versions."""

    def __init__(self, tasks: list[int], states: dict[int, tuple[str, int]], clients: int):
        self.states = states
        self.mine = [tasks[n::clients] for n in range(clients)]

    def next(self, client: int, n: int) -> tuple[int, str, int]:
        tasks = self.mine[client]
        task = tasks[n % len(tasks)]
        status, version = self.states[task]
        return task, NEXT_ACTION[status], version

    def recorder(self, task: int) -> Callable[[dict[str, Any]], None]:
        def record(body: dict[str, Any]) -> None:
            graphql_ok(body)
            payload = body["data"]["transitionTask"]
            if payload["errors"]:
                raise LoadError(f"transition refused: {payload['errors']}")
            self.states[task] = (payload["task"]["status"], payload["task"]["version"])

        return record


async def task_states(db: Database, tasks: list[int]) -> dict[int, tuple[str, int]]:
    rows = [await db.fetch("SELECT status, version FROM task WHERE id = $1", t) for t in tasks]
    return {task: (r[0][0], r[0][1]) for task, r in zip(tasks, rows, strict=True)}


def subjects(
    fixture: Fixture, writer: Writer | None, spread: Writer | None = None
) -> list[Subject]:
    t = fixture.tokens
    county = gid("OrgUnit", fixture.county[0])
    township = gid("OrgUnit", fixture.township[0])
    rollups = queries.indicator_rollups(fixture.metrics)
    by_key = {op.key: op for op in queries.OPERATIONS}
    found = [
        Subject(
            by_key["Q1"],
            lambda c, n: graphql(queries.ME, t["bench_township"]),
            lambda c, n: floor_request("Q1", {"userId": fixture.user_ids["bench_township"]}),
        ),
        Subject(
            by_key["Q2"],
            lambda c, n: graphql(queries.TASK_INBOX, t["bench_township"]),
            lambda c, n: floor_request(
                "Q2", {"prefix": fixture.township[1], "above": ancestors(fixture.township[1])}
            ),
        ),
        Subject(
            by_key["Q3"],
            lambda c, n: graphql(queries.COUNTY_DASHBOARD, t["bench_county"], {"county": county}),
            lambda c, n: floor_request("Q3", {"countyId": fixture.county[0]}),
        ),
        Subject(
            by_key["Q4"],
            lambda c, n: graphql(rollups, t["bench_county"], {"county": county}),
            lambda c, n: floor_request(
                "Q4", {"countyId": fixture.county[0], "metrics": fixture.metrics}
            ),
        ),
        Subject(
            by_key["Q5"],
            lambda c, n: graphql(
                queries.ASSIGNMENT_HISTORY, t["bench_inspector"], {"unit": township}
            ),
            lambda c, n: floor_request("Q5", {"prefix": fixture.township[1]}),
        ),
    ]
    if writer is not None:
        found.append(writing(by_key["M1"], fixture, writer))
    if spread is not None:
        found.append(writing(by_key["M1x2"], fixture, spread))
    return found


def writing(op: queries.Operation, fixture: Fixture, writer: Writer) -> Subject:
    """Transitions by the writers of ``writer``, each by the head of its task's area."""
    t = fixture.tokens

    def who(task: int, action: str) -> str:
        area = fixture.area_of(task)
        return area.issuer if action == "REJECT" else area.doer

    def write(client: int, n: int) -> Request:
        task, action, version = writer.next(client, n)
        variables = {
            "input": {"taskId": gid("Task", task), "action": action, "expectedVersion": version}
        }
        request = graphql(queries.TRANSITION, t[who(task, action)], variables)
        return Request(request.path, request.payload, request.headers, writer.recorder(task))

    def write_floor(client: int, n: int) -> Request:
        task, action, version = writer.next(client, n)
        variables = {
            "taskId": task,
            "action": action,
            "expectedVersion": version,
            "userId": fixture.user_ids[who(task, action)],
        }
        request = floor_request("M1", variables)
        return Request(request.path, request.payload, {}, writer.recorder(task))

    return Subject(op, write, write_floor)


# -- measuring ----------------------------------------------------------------------------------


async def measure(
    process: Process,
    make: Callable[[int, int], Request],
    op: queries.Operation,
    plan: Plan,
    requests: int | None = None,
) -> Sample:
    if op.measure == "rate":
        return await drive(
            "127.0.0.1", process.port, make, clients=op.clients, seconds=plan.rate_seconds
        )
    return await drive(
        "127.0.0.1",
        process.port,
        make,
        clients=op.clients,
        requests=requests or plan.latency_requests,
    )


def summary(samples: list[Sample], op: queries.Operation) -> dict[str, Any]:
    """The median over rounds of each round's figure."""
    result: dict[str, Any] = {"requests": sum(s.count for s in samples)}
    if op.measure == "rate":
        result["per_second"] = round(statistics.median(s.per_second for s in samples), 1)
        result["rounds_per_second"] = [round(s.per_second, 1) for s in samples]
    result["p50_ms"] = round(statistics.median(s.p50_ms for s in samples), 2)
    result["p99_ms"] = round(statistics.median(s.p99_ms for s in samples), 2)
    result["rounds_p50_ms"] = [round(s.p50_ms, 2) for s in samples]
    return result


def same(a: Any, b: Any, where: str = "data") -> str | None:
    """Where two JSON answers differ (floats to 1e-9 relative), or None."""
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, int | float) and isinstance(b, int | float):
            return None if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) else where
        return where
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{where}: keys {sorted(a)} vs {sorted(b)}"
        for key in a:
            if (found := same(a[key], b[key], f"{where}.{key}")) is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} vs {len(b)} items"
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            if (found := same(x, y, f"{where}[{n}]")) is not None:
                return found
        return None
    return None if a == b else f"{where}: {a!r} vs {b!r}"


async def statements_and_agreement(
    server: Process, floor_process: Process, found: list[Subject]
) -> tuple[dict[str, int], dict[str, str | None]]:
    """One request each against the debugging server: statement counts, and the floor's
    answer compared with the service's (reads only; a write is compared by shape)."""
    counts: dict[str, int] = {}
    agreement: dict[str, str | None] = {}
    for subject in found:
        request = subject.service(0, 0)
        body = await post_once(
            "127.0.0.1", server.port, request.path, request.payload, request.headers
        )
        (request.check or graphql_ok)(body)
        counts[subject.operation.key] = int(body["extensions"]["debug"]["sqlStatements"])
        if subject.operation.key in ("M1", "M1x2"):
            floored = subject.floor(0, 1)
            answer = await post_once(
                "127.0.0.1", floor_process.port, floored.path, floored.payload, {}
            )
            (floored.check or graphql_ok)(answer)
            agreement[subject.operation.key] = same(
                sorted(answer["data"]["transitionTask"]), sorted(body["data"]["transitionTask"])
            )
            continue
        floored = subject.floor(0, 0)
        answer = await post_once("127.0.0.1", floor_process.port, floored.path, floored.payload, {})
        agreement[subject.operation.key] = same(body["data"], answer["data"])
    return counts, agreement


async def bench(
    database_url: str, plan: Plan, workers: int, only: set[str] | None = None
) -> dict[str, Any]:
    db = Database(database_url)
    await db.open()
    try:
        with service(database_url, debug=True) as debugging, floor(database_url) as floor_process:
            fixture = await read_fixture(db, debugging)
            clients = next(op.clients for op in queries.OPERATIONS if op.key == "M1")
            needed = clients * WRITER_TASKS_PER_CLIENT
            half = needed // 2
            home = await writer_tasks(
                db, debugging, fixture, needed + (half if fixture.other else 0)
            )
            fixture.writer_tasks = home[:needed]
            writer = Writer(
                fixture.writer_tasks, await task_states(db, fixture.writer_tasks), clients
            )
            spread = None
            if fixture.other is not None:
                # Tasks of their own (not M1's), alternating, so that client n writes in one
                # county: the even ones at home, the odd ones in the other.
                fixture.other_tasks = await writer_tasks(
                    db, debugging, fixture, half, fixture.other
                )
                pairs = zip(home[needed:], fixture.other_tasks, strict=True)
                mixed = [task for pair in pairs for task in pair]
                spread = Writer(mixed, await task_states(db, mixed), clients)
            found = [
                s for s in subjects(fixture, writer, spread) if not only or s.operation.key in only
            ]
            counts, agreement = await statements_and_agreement(debugging, floor_process, found)
            floor_memory = floor_process.memory_kb()
        results: dict[str, Any] = {}
        with service(database_url, workers=workers) as server, floor(database_url) as floor_process:
            fixture.tokens = {name: await login(server, name) for name in fixture.tokens}
            writer.states = await task_states(db, fixture.writer_tasks)
            found = [
                s for s in subjects(fixture, writer, spread) if not only or s.operation.key in only
            ]
            samples: dict[str, dict[str, list[Sample]]] = {
                s.operation.key: {"service": [], "floor": []} for s in found
            }
            for subject in found:  # warm-up: caches, pools, the interpreter
                await refresh(db, writer, spread)
                await measure(
                    server, subject.service, _as_latency(subject.operation), plan, plan.warmup
                )
                await refresh(db, writer, spread)
                await measure(
                    floor_process, subject.floor, _as_latency(subject.operation), plan, plan.warmup
                )
            for _ in range(plan.rounds):
                for subject in found:
                    key = subject.operation.key
                    await refresh(db, writer, spread)
                    samples[key]["service"].append(
                        await measure(server, subject.service, subject.operation, plan)
                    )
                    await refresh(db, writer, spread)
                    samples[key]["floor"].append(
                        await measure(floor_process, subject.floor, subject.operation, plan)
                    )
            memory = server.memory_kb()
        for subject in found:
            op = subject.operation
            service_figures = summary(samples[op.key]["service"], op)
            floor_figures = summary(samples[op.key]["floor"], op)
            ratio = (
                floor_figures["per_second"] / service_figures["per_second"]
                if op.measure == "rate"
                else service_figures["p50_ms"] / floor_figures["p50_ms"]
            )
            results[op.key] = {
                "title": op.title,
                "clients": op.clients,
                "measure": op.measure,
                "sql_statements": counts[op.key],
                "service": service_figures,
                "floor": floor_figures,
                "ratio_to_floor": round(ratio, 2),
                "floor_agrees": agreement[op.key] is None,
                "disagreement": agreement[op.key],
            }
        if "M1" in results and "M1x2" in results:
            # Writers over two counties against the same writers in one: the audit logs' locks.
            for side in ("service", "floor"):
                one = results["M1"][side]["per_second"]
                results["M1x2"][side]["vs_one_county"] = round(
                    results["M1x2"][side]["per_second"] / one, 2
                )
        return {
            "operations": results,
            "service_memory_mb": {
                "rss_after": round(memory["VmRSS"] / 1024, 1),
                "peak": round(memory["VmHWM"] / 1024, 1),
            },
            "floor_memory_mb": {"peak": round(floor_memory["VmHWM"] / 1024, 1)},
            "data": await data_size(db),
            "workers": workers,
        }
    finally:
        await db.close()


async def refresh(db: Database, *writers: Writer | None) -> None:
    """Each writer's tasks as the database has them now (the other run moved them on)."""
    for writer in writers:
        if writer is not None:
            writer.states = await task_states(db, list(writer.states))


def _as_latency(op: queries.Operation) -> queries.Operation:
    return queries.Operation(op.key, op.title, op.clients, "latency")


async def data_size(db: Database) -> dict[str, int]:
    tables = ("org_unit", "person", "task", "accountability_record", "observation", "audit_event")
    sizes = {t: (await db.fetch(f"SELECT count(*) FROM {t}"))[0][0] for t in tables}  # noqa: S608
    sizes["grants"] = (await db.fetch("SELECT count(*) FROM casbin_rule WHERE ptype = 'g'"))[0][0]
    return sizes


# -- reporting ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| op | SQL | service p50 / p99 ms | floor p50 ms | rate /s (service / floor) | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in report["operations"].items():
        s, f = row["service"], row["floor"]
        rate = f"{s['per_second']} / {f['per_second']}" if row["measure"] == "rate" else ""
        lines.append(
            f"| {key} | {row['sql_statements']} | {s['p50_ms']} / {s['p99_ms']} | {f['p50_ms']}"
            f" | {rate} | {row['ratio_to_floor']}× |"
        )
    return "\n".join(lines)


def dialect(database_url: str) -> str:
    return "postgres" if Database(database_url).postgres else "sqlite"


def check_statements(report: dict[str, Any], database_url: str, record: bool) -> list[str]:
    """The statement counts must stay at their recorded values (``--record`` updates them)."""
    recorded: dict[str, dict[str, int]] = json.loads(RECORDED_STATEMENTS.read_text())
    now = {key: row["sql_statements"] for key, row in report["operations"].items()}
    kind = dialect(database_url)
    if record:
        recorded[kind] = now
        RECORDED_STATEMENTS.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
        return []
    expected = recorded.get(kind, {})
    return [
        f"{key}: {count} SQL statements per request, recorded {expected.get(key)}"
        for key, count in now.items()
        if expected.get(key) != count
    ]


def build_quick_data(database_url: str | None, tasks: int) -> str:
    """A small bench dataset in a fresh database (a temporary SQLite file unless given)."""
    url = database_url or f"sqlite://{tempfile.mkdtemp(prefix='rc-bench-')}/bench.sqlite3"
    command = [sys.executable, "-m", "app.cli", "bench-data", "--tasks", str(tasks)]
    subprocess.run(command, env=dict(os.environ, DATABASE_URL=url), check=True)  # noqa: S603
    return url


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    args.add_argument("--database-url", help="a database holding bench-data")
    args.add_argument("--quick", action="store_true", help="small data, short runs (CI)")
    args.add_argument("--quick-tasks", type=int, default=2000)
    args.add_argument("--record", action="store_true", help="record the statement counts")
    args.add_argument("--rounds", type=int)
    args.add_argument("--workers", type=int, default=1)
    args.add_argument("--label", default="")
    args.add_argument("--ops", help="only these operations, e.g. Q2,Q3,Q5")
    args.add_argument("--output", type=Path, help="where the JSON goes (default bench/results)")
    options = args.parse_args(argv)
    plan = QUICK if options.quick else FULL
    if options.rounds:
        plan = Plan(options.rounds, plan.latency_requests, plan.rate_seconds, plan.warmup)
    if options.quick:
        url = build_quick_data(options.database_url, options.quick_tasks)
    elif options.database_url:
        url = options.database_url
    else:
        args.error("give --database-url (a database holding bench-data) or --quick")
    started = time.monotonic()
    only = set(options.ops.split(",")) if options.ops else None
    report = asyncio.run(bench(url, plan, options.workers, only))
    report.update(
        {
            "label": options.label or ("quick" if options.quick else ""),
            "database": dialect(url),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "plan": plan.__dict__,
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    print(table(report))
    print(f"service memory: {report['service_memory_mb']}  data: {report['data']}")
    problems = [
        f"{key}: the floor's answer differs at {row['disagreement']}"
        for key, row in report["operations"].items()
        if not row["floor_agrees"]
    ]
    if options.quick:
        problems += check_statements(report, url, options.record)
    if options.output or not options.quick:
        RESULTS.mkdir(exist_ok=True)
        name = (
            f"{report['at'][:19].replace(':', '')}-{report['database']}-{report['label'] or 'run'}"
        )
        target = options.output or RESULTS / f"{name}.json"
        target.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {target}")
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
