"""The newest-first page statements of Q2 and Q5, timed against the plain backward scan.

``python -m bench.page_statements --database-url URL [--prefix /1/12/] [--rounds 15]`` runs
the plain statement (``ORDER BY id DESC`` over the subtree, as the ORM builds it) and the
unit-by-unit one (``resolvers.subtree_pages``) in turn, for a township head's inbox (Q2) and
an inspector's history of that township (Q5), and prints the median of each, whether both
found the same keys, and the load average. Statements only: no service, no HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

import asyncpg

from core.pg_listener import asyncpg_dsn
from models.paths import path_ids, upper_bound
from policies.scope import PathRange, Scope
from resolvers.subtree_pages import event_page_sql, task_page_sql

PAGE = 51  # a page of 50 and one more, to know there is a next page

PLAIN_TASKS = (
    "SELECT t.id FROM task t JOIN org_unit u ON u.id = t.org_unit_id"
    " WHERE u.path >= $1 AND u.path < $2 ORDER BY t.id DESC LIMIT 51"
)
PLAIN_EVENTS = (
    "SELECT e.seq FROM audit_event e WHERE e.seq >= 1 AND e.org_path >= $1"
    " AND e.org_path < $2 AND e.org_path >= $3 AND e.org_path < $4 ORDER BY e.seq DESC LIMIT 51"
)


def statements(prefix: str) -> dict[str, tuple[str, list[Any]]]:
    county = f"/{path_ids(prefix)[0]}/"
    township = Scope(ranges=(PathRange(prefix, None),))
    inspector = Scope(ranges=(PathRange(county, None),))
    return {
        "Q2 plain": (PLAIN_TASKS, [prefix, upper_bound(prefix)]),
        "Q2 by unit": task_page_sql(township, None, None, PAGE, None),
        "Q5 plain": (PLAIN_EVENTS, [county, upper_bound(county), prefix, upper_bound(prefix)]),
        "Q5 by unit": event_page_sql(inspector, prefix, PAGE, None),
    }


async def measure(url: str, prefix: str, rounds: int) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        cases = statements(prefix)
        times: dict[str, list[float]] = {name: [] for name in cases}
        keys: dict[str, list[int]] = {}
        for _ in range(rounds):
            for name, (sql, values) in cases.items():
                started = time.perf_counter()
                rows = await conn.fetch(sql, *values)
                times[name].append((time.perf_counter() - started) * 1000)
                keys[name] = [int(row[0]) for row in rows]
    finally:
        await conn.close()
    for name, found in times.items():
        print(f"{name:11} median {statistics.median(found):7.2f} ms  min {min(found):7.2f} ms")
    for op in ("Q2", "Q5"):
        print(f"{op}: the same keys: {keys[f'{op} plain'] == keys[f'{op} by unit']}")
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL bench-data database")
    parser.add_argument("--prefix", default="/1/12/", help="the township's path")
    parser.add_argument("--rounds", type=int, default=15)
    options = parser.parse_args()
    asyncio.run(measure(options.database_url, options.prefix, options.rounds))


if __name__ == "__main__":
    main()
