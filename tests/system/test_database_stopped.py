"""PostgreSQL stopped mid-load, as a crash would stop it, then started again.

A private PostgreSQL server (``tests.pg_cluster``) serves a real ``riverchief serve`` while
clients of every role read and write. While it is down, every request is answered with a
typed ``SERVICE_UNAVAILABLE`` and ``/readyz`` fails; once it is back, the service recovers by
itself, and the database holds every acknowledged write and no half-applied one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bench import probe, soak_check
from bench.soak_workload import (
    ACCOUNTS,
    Ledger,
    Target,
    run_clients,
    sign_in_all,
    verify_every_log,
)
from tests.conftest import ON_POSTGRES
from tests.pg_cluster import binaries, private_cluster
from tests.servers import Server, running_server, wait_until

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES or binaries() is None,
    reason="stops a PostgreSQL server: runs in the PostgreSQL half of the suite",
)

RECOVERS_WITHIN = 15.0  # seconds after the database is back
EXPECTED = {"ok", "FORBIDDEN", "CONFLICT", "SERVICE_UNAVAILABLE"}
# Warnings the outage makes on purpose, each logged with its traceback.
OUTAGE_LOGGERS = ("asyncpg.pool", "riverchief.policy.watcher", "riverchief.pg_listener")


def ready(server: Server) -> bool:
    try:
        return httpx.get(f"{server.base}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


async def test_writes_survive_a_database_crash_and_the_service_recovers_by_itself(
    tmp_path: Path,
) -> None:
    with (
        private_cluster() as cluster,
        running_server(cluster.url, tmp_path, demo=True, tolerate=OUTAGE_LOGGERS) as server,
    ):
        ledger = Ledger()
        crowd = await sign_in_all(
            # One client per demo account, so every county's log has a reader in the crowd.
            [Target("127.0.0.1", server.port)],
            ledger,
            clients=len(ACCOUNTS),
            run_id="crash",
        )
        before = await soak_check.baseline(cluster.url, ledger.shared)
        stop = asyncio.Event()
        load = asyncio.create_task(run_clients(crowd, stop))
        await asyncio.sleep(3)
        acknowledged_before_crash = ledger.acknowledged_mutations

        await asyncio.to_thread(cluster.stop, "immediate")
        await asyncio.sleep(2)
        token = crowd[0].token
        during = await asyncio.to_thread(
            httpx.post,
            f"{server.base}/graphql",
            json={"query": "{ tasks(first: 1) { totalCount } }"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        readiness = await asyncio.to_thread(httpx.get, f"{server.base}/readyz", timeout=30)
        refused_during = ledger.outcomes.copy()

        await asyncio.to_thread(cluster.start)
        recovered_in = await asyncio.to_thread(wait_until, lambda: ready(server), RECOVERS_WITHIN)
        after_recovery = ledger.acknowledged_mutations
        await asyncio.sleep(3)
        stop.set()
        await load
        chain = await verify_every_log(crowd)  # each county's log, by an account that reads it
        for client in crowd:
            await client.close()
        county_events = await probe.scalar(
            cluster.url, "SELECT COUNT(*) FROM audit_event WHERE jurisdiction <> 0"
        )
        findings = await soak_check.check(cluster.url, "crash", ledger, before)

    print(f"recovered in {recovered_in:.2f} s; outcomes {dict(ledger.outcomes)}")
    assert during.status_code == 503
    assert [e["extensions"]["code"] for e in during.json()["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert readiness.status_code == 503
    assert sum(n for k, n in refused_during.items() if k.endswith("SERVICE_UNAVAILABLE")) > 0
    # Every answer was a success, a typed refusal, or "unavailable": never a 500.
    assert {k.rsplit(" ", 1)[-1] for k in ledger.outcomes} <= EXPECTED, ledger.outcomes
    assert set(ledger.statuses) <= {200, 503}, ledger.statuses
    assert acknowledged_before_crash > 0
    assert ledger.acknowledged_mutations > after_recovery  # writing again, by itself
    assert findings.problems == []  # nothing acknowledged lost, nothing half applied
    assert chain["ok"]
    # Every event of every county's log: the demo's own history, then every event of the run
    # (the installation's log of role-policy changes is read by operators, not through the API).
    assert findings.audit_events > 0
    assert chain["checked"] == county_events
