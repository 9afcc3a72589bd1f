"""A server process killed with SIGKILL in the middle of writes, then started again.

Clients of every role read and write against a real ``riverchief serve`` until it is killed
without warning. A new process on the same database must hold every write the first one
acknowledged, none half applied (a task without its audit event, a version moved without
its transition event), and a chain that verifies; the clients then carry on against it.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bench import probe, soak_check
from bench.soak_workload import Ledger, Target, run_clients, sign_in_all, verify_every_log
from tests.servers import running_server


async def test_every_acknowledged_write_survives_a_kill_and_none_is_partial(
    empty_database_url: str, tmp_path: Path
) -> None:
    url = empty_database_url
    targets = [Target("127.0.0.1", 0)]
    ledger = Ledger()
    with running_server(url, tmp_path, demo=True) as first:
        targets[0] = Target("127.0.0.1", first.port)
        crowd = await sign_in_all(targets, ledger, clients=12, run_id="kill")
        before = await soak_check.baseline(url, ledger.shared)
        stop = asyncio.Event()
        load = asyncio.create_task(run_clients(crowd, stop))
        await asyncio.sleep(3)
        os.kill(first.process.pid, signal.SIGKILL)
        await asyncio.to_thread(first.process.wait, 10)
        acknowledged_by_first = ledger.acknowledged_mutations
        await asyncio.sleep(0.5)

    with running_server(url, tmp_path) as second:
        targets[0] = Target("127.0.0.1", second.port)  # the clients follow
        await asyncio.sleep(3)
        stop.set()
        await load
        chain = await verify_every_log(crowd)  # each county's log, by an account that reads it
        for client in crowd:
            await client.close()
        county_events = await probe.scalar(
            url, "SELECT COUNT(*) FROM audit_event WHERE jurisdiction <> 0"
        )
        findings = await soak_check.check(url, "kill", ledger, before)

    print(
        f"acknowledged {acknowledged_by_first} before the kill, {ledger.acknowledged_mutations}"
        f" in all; {ledger.unknown_mutations} cut off mid-request; {dict(ledger.outcomes)}"
    )
    assert first.process.returncode == -signal.SIGKILL
    assert acknowledged_by_first > 0
    assert ledger.acknowledged_mutations > acknowledged_by_first  # the new process writes
    assert ledger.outcomes["transport error"] > 0  # the kill did cut requests off
    assert findings.problems == []
    assert chain["ok"]
    # Every event of every county's log: the demo's own history, then every event of the run
    # (the installation's log of role-policy changes is read by operators, not through the API).
    assert findings.audit_events > 0
    assert chain["checked"] == county_events
    assert ledger.server_errors == 0
