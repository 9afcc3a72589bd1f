"""The soak's quick mode, on the suite's kind of database: 32 clients of every demo role
reading and writing for 20 s against two server processes (PostgreSQL) or one (SQLite).

It fails if any response is a 5xx, if the database holds anything other than what clients
were told (lost, phantom or half-applied writes), if audit events differ from acknowledged
mutations, if the chain does not verify, or if a server's memory grew more than 10 % after
the warm-up. Timings are reported, not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.soak_workload import ACCOUNTS
from tests.conftest import ON_POSTGRES

ROOT = Path(__file__).resolve().parents[2]


def test_quick_soak_loses_nothing_and_stays_up(empty_database_url: str, tmp_path: Path) -> None:
    report = tmp_path / "soak.json"
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--quick",
            "--database-url",
            empty_database_url,
            "--output",
            str(report),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(finished.stdout)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    result = json.loads(report.read_text())

    assert result["passed"] and all(result["checks"].values()), result["checks"]
    assert result["problems"] == []
    assert result["servers"] == (2 if ON_POSTGRES else 1) and result["clients"] == 32
    assert result["statuses"].keys() == {"200"}  # not one 5xx, nor any 4xx
    assert result["acknowledged_mutations"] > 0
    assert result["audit_events"] == result["acknowledged_mutations"]
    assert result["conflicts"] > 0  # writers collided, and were told so
    assert result["chain"]["ok"] and result["chain"]["checked"] >= result["audit_events"]
    assert set(result["requests_by_account"]) == set(ACCOUNTS)
    writes = result["writes"] / result["requests"]
    assert 0.1 < writes < 0.3, writes  # about one in five
