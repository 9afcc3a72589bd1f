"""Every measurement of docs/performance.md in one command.

    python -m bench.suite [--postgres postgres://postgres@127.0.0.1:5432] [--skip-2m]

Builds each dataset that is missing (``riverchief bench-data``: PostgreSQL databases
``rc_bench_*``, SQLite files under ``data/bench/``), runs ``bench.run`` on each, writes
every report under ``bench/results/`` and prints the tables the document quotes: the county
table on both databases, growth with the data (20k → 200k → 2M tasks) and with the number
of grants (10 → 10,000).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SQLITE_DIR = ROOT / "data" / "bench"
GROWTH_OPS = "Q2,Q3,Q5"


@dataclass(frozen=True)
class Dataset:
    name: str
    tasks: int
    grants: int | None = None
    postgres: bool = True

    def url(self, server: str) -> str:
        if self.postgres:
            return f"{server}/rc_bench_{self.name}"
        return f"sqlite://{SQLITE_DIR / f'{self.name}.sqlite3'}"


@dataclass(frozen=True)
class Run:
    label: str
    dataset: Dataset
    ops: str | None = None


def runs(skip_2m: bool) -> list[Run]:
    county_pg, county_sqlite = Dataset("200k", 200_000), Dataset("200k", 200_000, postgres=False)
    found = [
        Run("county-postgres", county_pg),
        Run("county-sqlite", county_sqlite),
        Run("growth-20k-postgres", Dataset("20k", 20_000), GROWTH_OPS),
        Run("growth-20k-sqlite", Dataset("20k", 20_000, postgres=False), GROWTH_OPS),
        Run("grants-10-postgres", Dataset("200k_g10", 200_000, grants=10), GROWTH_OPS),
        Run("grants-10k-postgres", Dataset("200k_g10k", 200_000, grants=10_000), GROWTH_OPS),
    ]
    if not skip_2m:
        found.append(Run("growth-2m-postgres", Dataset("2m", 2_000_000), GROWTH_OPS))
    return found


def _has_data(dataset: Dataset, server: str) -> bool:
    if not dataset.postgres:
        return (SQLITE_DIR / f"{dataset.name}.sqlite3").exists()
    name = f"rc_bench_{dataset.name}"
    probe = subprocess.run(  # noqa: S603
        ["psql", f"{server}/{name}", "-Atc", "SELECT count(*) FROM task"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        subprocess.run(["createdb", "--maintenance-db", f"{server}/postgres", name], check=False)  # noqa: S603,S607
        return False
    return probe.stdout.strip() not in ("", "0")


def build(dataset: Dataset, server: str) -> None:
    if _has_data(dataset, server):
        return
    SQLITE_DIR.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "app.cli", "bench-data", "--tasks", str(dataset.tasks)]
    if dataset.grants is not None:
        command += ["--grants", str(dataset.grants)]
    env = dict(os.environ, DATABASE_URL=dataset.url(server))
    subprocess.run(command, env=env, check=True)  # noqa: S603


def measure(run: Run, server: str) -> dict[str, Any]:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = RESULTS / f"{stamp}-{run.label}.json"
    command = [sys.executable, "-m", "bench.run", "--database-url", run.dataset.url(server)]
    command += ["--label", run.label, "--output", str(target)]
    if run.ops:
        command += ["--ops", run.ops]
    subprocess.run(command, check=True)  # noqa: S603
    report: dict[str, Any] = json.loads(target.read_text())
    return report


def growth_table(reports: dict[str, dict[str, Any]], labels: list[str], title: str) -> str:
    present = [label for label in labels if label in reports]
    lines = [f"| {title} | " + " | ".join(present) + " | ratio last ÷ middle |"]
    lines.append("|---" * (len(present) + 2) + "|")
    for key in GROWTH_OPS.split(","):
        p50s = [reports[label]["operations"][key]["service"]["p50_ms"] for label in present]
        ratio = f"{p50s[-1] / p50s[-2]:.2f}×" if len(p50s) >= 2 else ""
        lines.append(f"| {key} p50 ms | " + " | ".join(str(v) for v in p50s) + f" | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--skip-2m", action="store_true", help="leave out the 2M-task run")
    options = parser.parse_args(argv)
    from bench.run import table

    reports: dict[str, dict[str, Any]] = {}
    for run in runs(options.skip_2m):
        build(run.dataset, options.postgres)
        reports[run.label] = measure(run, options.postgres)
    for label in ("county-postgres", "county-sqlite"):
        print(f"\n{label}\n{table(reports[label])}")
    growth = ["growth-20k-postgres", "county-postgres", "growth-2m-postgres"]
    print("\n" + growth_table(reports, growth, "PostgreSQL tasks"))
    print("\n" + growth_table(reports, ["growth-20k-sqlite", "county-sqlite"], "SQLite tasks"))
    grants = ["grants-10-postgres", "grants-10k-postgres"]
    print("\n" + growth_table(reports, grants, "grants"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
