"""``riverchief counters check`` and ``riverchief counters rebuild``: the dashboards' counters.

The task counters (tasks per unit and status, open tasks per unit and due day) and the
indicator sums (observations per indicator, subtree, period and dimension) are kept in the
transaction of every change that moves them. ``check`` recounts them from the task and
observation tables and prints every counter that differs (its drift); ``rebuild`` replaces
them with that recount, e.g. after data was written straight into the database. On
PostgreSQL a rebuild makes task and observation writers wait until it commits.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from core.settings import Settings
from ops.runtime import EXIT_FAILED, EXIT_OK, opened, run, say
from resolvers import indicator_sums, task_counters


@dataclass
class CounterReport:
    tasks: list[task_counters.Drift] = field(default_factory=list)
    indicators: list[indicator_sums.SumDrift] = field(default_factory=list)

    @property
    def drift(self) -> int:
        return len(self.tasks) + len(self.indicators)

    def as_json(self) -> dict[str, Any]:
        return {
            "clean": self.drift == 0,
            "drift": self.drift,
            "counters": [d.as_dict() for d in self.tasks] + [d.as_dict() for d in self.indicators],
        }

    def text(self) -> str:
        lines = [f"counters: drift {self.drift}"]
        lines += [
            f"  {d.table} unit {d.unit_id} {d.key}: stored {d.stored}, counted {d.counted}"
            for d in self.tasks
        ]
        lines += [
            f"  indicator_sum indicator {d.indicator_id} unit {d.unit_id} {d.period}"
            f" {d.dimension or '-'}: stored {d.stored.normalize():f} ({d.stored_n}),"
            f" counted {d.counted.normalize():f} ({d.counted_n})"
            for d in self.indicators
        ]
        return "\n".join(lines)


async def check_counters() -> CounterReport:
    async with in_transaction() as conn:
        return CounterReport(
            tasks=await task_counters.drift(conn), indicators=await indicator_sums.drift(conn)
        )


async def rebuild_counters() -> None:
    async with in_transaction() as conn:
        await task_counters.rebuild(conn)
        await indicator_sums.rebuild(conn)


def cmd_counters_check(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> int:
        async with opened(settings):
            report = await check_counters()
        if args.json:
            say(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        else:
            say(report.text())
        return EXIT_OK if report.drift == 0 else EXIT_FAILED

    return run(work)


def cmd_counters_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> int:
        async with opened(settings):
            before = await check_counters()
            await rebuild_counters()
            after = await check_counters()
        if args.json:
            say(json.dumps({"repaired": before.drift, "drift": after.drift}, indent=2))
        else:
            say(f"counters rebuilt: {before.drift} drifting counter(s) repaired")
        return EXIT_OK if after.drift == 0 else EXIT_FAILED

    return run(work)


def register(commands: Any) -> None:
    counters = commands.add_parser(
        "counters",
        help="check or rebuild the dashboards' task counters and indicator sums",
        description="Check the dashboards' task counters and indicator sums against a "
        "recount (`counters check`), or replace them with one (`counters rebuild`).",
    )
    actions = counters.add_subparsers(dest="counters_command", required=True, metavar="ACTION")
    description = (__doc__ or "").split("\n\n", 1)[1]
    check = actions.add_parser(
        "check",
        help="print every counter that differs from a recount",
        description=description,
        epilog="Exit status: 0 no drift, 1 drift, 2 the command could not run.",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(func=cmd_counters_check)
    rebuild = actions.add_parser(
        "rebuild",
        help="replace the counters with a recount",
        description=description,
        epilog="Exit status: 0 rebuilt, 1 still drifting, 2 the command could not run.",
    )
    rebuild.add_argument("--json", action="store_true", help="print the outcome as JSON")
    rebuild.set_defaults(func=cmd_counters_rebuild)
