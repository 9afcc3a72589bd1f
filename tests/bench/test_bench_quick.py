"""The benchmark runner's quick mode, on the suite's kind of database.

It builds a small bench dataset, serves it with the real ``riverchief serve`` and the floor
under uvicorn, drives every benchmarked operation, and fails if an operation errs, if the
floor's answer differs from the service's, or if an operation's SQL statement count moved
from the value recorded in ``bench/statements.json``. Timings are not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_completes_with_recorded_statement_counts(
    empty_database_url: str, tmp_path: Path
) -> None:
    report = tmp_path / "quick.json"
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--quick",
            "--database-url",
            empty_database_url,
            "--output",
            str(report),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    result = json.loads(report.read_text())
    operations = result["operations"]
    assert sorted(operations) == ["M1", "Q1", "Q2", "Q3", "Q4", "Q5"]
    for key, row in operations.items():
        assert row["floor_agrees"], (key, row["disagreement"])
        assert row["service"]["requests"] > 0 and row["floor"]["requests"] > 0, key
        assert row["sql_statements"] > 0, key
    assert result["data"]["task"] >= 2000
