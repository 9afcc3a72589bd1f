"""``riverchief bench-data``: the benchmark's command, registered with ``riverchief`` through
the ``riverchief.commands`` entry point (pyproject.toml), so the product never imports
``bench``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bench.data import BenchDataError, build_bench_data
from core.settings import Settings
from ops.runtime import check_database_url, positive_int


def cmd_bench_data(settings: Settings, args: argparse.Namespace) -> int:
    check_database_url(settings.database_url)  # said as every command says it
    try:
        summary = asyncio.run(
            build_bench_data(settings.database_url, args.tasks, seed=args.seed, grants=args.grants)
        )
    except BenchDataError as exc:
        print(f"riverchief: {exc}", file=sys.stderr)
        return 2
    print(summary.report())
    return 0


def register(commands: Any) -> None:
    bench = commands.add_parser(
        "bench-data",
        help="load the seeded benchmark dataset into an empty database",
        description="Load a deterministic benchmark dataset into an empty DATABASE_URL: one "
        "county per 200,000 tasks, with records, observations, accounts, grants and the "
        "hash-chained audit trail. The benchmark accounts (bench_county, bench_township, "
        "bench_village, bench_grid, bench_inspector, bench_department) log in with "
        "the password bench-pass.",
    )
    bench.add_argument("--tasks", type=positive_int, required=True, help="how many tasks")
    bench.add_argument("--seed", type=int, default=1, help="the random seed (default 1)")
    bench.add_argument(
        "--grants",
        type=positive_int,
        default=None,
        help="how many role grants in all (default: one per unit head and inspector)",
    )
    bench.set_defaults(func=cmd_bench_data)
