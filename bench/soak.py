"""Soak: server processes on one database, clients of every role reading and writing.

    python -m bench.soak --database-url postgres://…/rc_soak          # 2 servers, 32 clients, 5 min
    python -m bench.soak --database-url postgres://…/rc_soak --quick  # 20 s, as CI runs it

The database is migrated and, if empty, loaded with the demo. Each server is a real
``riverchief serve`` with production settings; on PostgreSQL they share the database and keep
their policies in step through LISTEN/NOTIFY (SQLite runs one process). The run passes when
no response is a 5xx, the database holds exactly what clients were told (``bench.soak_check``:
no lost, phantom or half-applied write, version moves equal transition events, audit events
equal acknowledged mutations, the dashboards' counters equal a recount), ``verifyAuditChain``
is ok, and every server's resident memory at the end is within 10 % of what it was after the
warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.cli import prepare_database
from bench import soak_check
from bench.servers import Process, service
from bench.soak_workload import Ledger, Target, run_clients, sign_in_all, verify_every_log
from core.db import is_postgres
from core.settings import Settings

RESULTS = Path(__file__).parent / "results"
MEMORY_GROWTH_LIMIT = 1.10
SAMPLE_EVERY = 2.0  # seconds between memory samples


@dataclass
class Memory:
    """Resident memory of each server, sampled through the run (kB)."""

    samples: list[tuple[float, list[int]]] = field(default_factory=list)

    def after(self, warmup: float) -> tuple[list[int], list[int]]:
        settled = [rss for at, rss in self.samples if at >= warmup] or [self.samples[-1][1]]
        return settled[0], settled[-1]


async def sample_memory(processes: list[Process], memory: Memory, stop: asyncio.Event) -> None:
    started = time.monotonic()
    while True:
        memory.samples.append(
            (time.monotonic() - started, [p.memory_kb()["VmRSS"] for p in processes])
        )
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
            return
        except TimeoutError:
            continue


def percentile_ms(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000


def prepare(database_url: str) -> None:
    """Migrate, seed the policy and load the demo unless it is there already."""
    settings = Settings.from_env({"DATABASE_URL": database_url, "RIVERCHIEF_ENV": "test"})
    asyncio.run(prepare_database(settings, demo=True))


async def soak(
    database_url: str, processes: list[Process], *, clients: int, seconds: float, warmup: float
) -> dict[str, Any]:
    targets = [Target("127.0.0.1", p.port) for p in processes]
    ledger = Ledger()
    run_id = uuid.uuid4().hex[:8]
    crowd = await sign_in_all(targets, ledger, clients=clients, run_id=run_id)
    before = await soak_check.baseline(database_url, ledger.shared)
    stop = asyncio.Event()
    memory = Memory()
    sampler = asyncio.create_task(sample_memory(processes, memory, stop))
    load = asyncio.create_task(run_clients(crowd, stop))
    started = time.monotonic()
    await asyncio.sleep(seconds)
    stop.set()
    await load
    elapsed = time.monotonic() - started
    await sampler

    chain = await verify_every_log(crowd)
    for client in crowd:
        await client.close()
    findings = await soak_check.check(database_url, run_id, ledger, before)
    settled, final = memory.after(warmup)
    growth = [end / start for start, end in zip(settled, final, strict=True)]
    requests = len(ledger.read_latencies) + len(ledger.write_latencies)
    checks = {
        "no 5xx": ledger.server_errors == 0,
        "nothing lost, phantom or half applied": findings.ok,
        "audit events == acknowledged mutations": findings.audit_events
        == ledger.acknowledged_mutations,
        "verifyAuditChain ok": bool(chain["ok"]),
        "memory within 10 % after warm-up": all(g <= MEMORY_GROWTH_LIMIT for g in growth),
        "no unknown outcome": ledger.unknown_mutations == 0,
        "counters drift 0": findings.counter_drift == 0,
    }
    return {
        "database": "postgres" if is_postgres(database_url) else "sqlite",
        "servers": len(processes),
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_second": round(requests / elapsed, 1),
        "writes": len(ledger.write_latencies),
        "read_p50_ms": round(percentile_ms(ledger.read_latencies, 0.5), 1),
        "read_p99_ms": round(percentile_ms(ledger.read_latencies, 0.99), 1),
        "write_p50_ms": round(percentile_ms(ledger.write_latencies, 0.5), 1),
        "write_p99_ms": round(percentile_ms(ledger.write_latencies, 0.99), 1),
        "acknowledged_mutations": ledger.acknowledged_mutations,
        "audit_events": findings.audit_events,
        "counter_drift": findings.counter_drift,
        "conflicts": sum(n for k, n in ledger.outcomes.items() if k.endswith("CONFLICT")),
        "outcomes": dict(sorted(ledger.outcomes.items())),
        "requests_by_account": dict(sorted(ledger.by_account.items())),
        "statuses": {str(k): v for k, v in sorted(ledger.statuses.items())},
        "chain": chain,
        "rss_kb_after_warmup": settled,
        "rss_kb_final": final,
        "rss_growth": [round(g, 3) for g in growth],
        "rss_median_kb": [
            int(statistics.median(s[i] for _, s in memory.samples)) for i in range(len(processes))
        ],
        "problems": findings.problems,
        "checks": checks,
        "passed": all(checks.values()),
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"soak on {result['database']}: {result['servers']} server(s), {result['clients']}"
        f" clients, {result['seconds']} s",
        f"  {result['requests']} requests ({result['requests_per_second']}/s),"
        f" {result['writes']} writes; reads p50 {result['read_p50_ms']} ms /"
        f" p99 {result['read_p99_ms']} ms; writes p50 {result['write_p50_ms']} ms /"
        f" p99 {result['write_p99_ms']} ms",
        f"  {result['acknowledged_mutations']} acknowledged mutations,"
        f" {result['audit_events']} audit events, {result['conflicts']} CONFLICTs;"
        f" chain ok={result['chain']['ok']} ({result['chain']['checked']} checked)",
        f"  RSS kB after warm-up {result['rss_kb_after_warmup']}, final"
        f" {result['rss_kb_final']} (growth {result['rss_growth']})",
        f"  outcomes {result['outcomes']}",
    ]
    lines += [f"  {'ok  ' if ok else 'FAIL'} {name}" for name, ok in result["checks"].items()]
    lines += [f"  problem: {p}" for p in result["problems"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--servers", type=int, default=None, help="2 on PostgreSQL, 1 on SQLite")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--warmup", type=float, default=None, help="default: a fifth of the run")
    parser.add_argument("--quick", action="store_true", help="20 s with a 5 s warm-up")
    parser.add_argument("--record", action="store_true", help="write bench/results/…-soak.json")
    parser.add_argument("--output", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    postgres = is_postgres(args.database_url)
    servers = args.servers or (2 if postgres else 1)
    if servers > 1 and not postgres:
        parser.error("several server processes need PostgreSQL (its watcher keeps them in step)")
    seconds = 20.0 if args.quick else args.seconds
    warmup = args.warmup if args.warmup is not None else (5.0 if args.quick else seconds / 5)

    prepare(args.database_url)
    with ExitStack() as stack:
        processes = [stack.enter_context(service(args.database_url)) for _ in range(servers)]
        result = asyncio.run(
            soak(args.database_url, processes, clients=args.clients, seconds=seconds, warmup=warmup)
        )
    print(report(result))
    if args.output is not None:
        args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if args.record:
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        kind = "soak-quick" if args.quick else "soak"
        path = RESULTS / f"{stamp}-{kind}-{result['database']}.json"
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"recorded {path}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
