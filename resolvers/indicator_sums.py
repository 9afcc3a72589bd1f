"""Observations added up per indicator, subtree, period and dimension (``indicator_sum``).

Each observation adds its value (in ten-thousandths) and a count of one to the row of its
unit and of every ancestor, in the transaction that stores it, by row-level upserts
(``total_e4 = total_e4 + delta``), so concurrent writers add up. A rollup over a subtree
the viewer sees whole then reads the rows of the unit and its children
(``resolvers.indicators``) instead of every observation below them.

``drift`` compares the rows with a recount of the observation table and ``rebuild``
replaces them with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.indicator import Observation
from models.paths import path_ids

E4 = Decimal(10_000)
CHUNK = 500  # rows per statement: within SQLite's and asyncpg's parameter limits
SumKey = tuple[int, int, date, str]  # indicator, unit (the subtree's root), period, dimension


def to_e4(value: Decimal) -> int:
    """A value in ten-thousandths: exact for the four decimal places observations keep."""
    return int((Decimal(value) * E4).to_integral_value())


def from_e4(total: int) -> Decimal:
    return Decimal(int(total)).scaleb(-4)


async def add_observations(
    conn: BaseDBAsyncClient, observed: Iterable[tuple[Observation, str]], *, sign: int = 1
) -> None:
    """Add each stored observation (with its unit's path) to its subtrees' sums; with
    ``sign=-1``, take out each observation about to be deleted."""
    totals: Counter[SumKey] = Counter()
    counts: Counter[SumKey] = Counter()
    for observation, path in observed:
        for unit_id in path_ids(path):
            key = (
                observation.indicator_id,
                unit_id,
                observation.period,
                observation.dimension,
            )
            totals[key] += sign * to_e4(observation.value)
            counts[key] += sign
    rows = sorted(counts)
    if not rows:
        return
    postgres = conn.capabilities.dialect == "postgres"
    values: list[Any] = []
    for indicator_id, unit_id, period, dimension in rows:
        key = (indicator_id, unit_id, period, dimension)
        day = period if postgres else str(period)
        values += [indicator_id, unit_id, day, dimension, totals[key], counts[key]]
    for start in range(0, len(rows), CHUNK):
        count = min(CHUNK, len(rows) - start)
        await conn.execute_query(
            "INSERT INTO indicator_sum (indicator_id, org_unit_id, period, dimension,"  # noqa: S608
            f" total_e4, n) VALUES {_marks(count, postgres)}"
            " ON CONFLICT (indicator_id, org_unit_id, period, dimension) DO UPDATE SET"
            " total_e4 = indicator_sum.total_e4 + excluded.total_e4,"
            " n = indicator_sum.n + excluded.n",
            values[start * 6 : (start + count) * 6],
        )


def _marks(rows: int, postgres: bool) -> str:
    if not postgres:
        return ", ".join(["(?, ?, ?, ?, ?, ?)"] * rows)
    return ", ".join(
        "(" + ", ".join(f"${row * 6 + i}" for i in range(1, 7)) + ")" for row in range(rows)
    )


def recount_sql(postgres: bool) -> str:
    """The sums counted from the observations: each one under its unit and every ancestor."""
    integer = "BIGINT" if postgres else "INTEGER"
    return (
        "SELECT o.indicator_id AS indicator_id, a.id AS org_unit_id, o.period AS period,"  # noqa: S608
        f" o.dimension AS dimension, SUM(CAST(round(o.value * 10000) AS {integer})) AS total_e4,"
        " COUNT(*) AS n FROM observation o JOIN org_unit u ON u.id = o.org_unit_id"
        " JOIN org_unit a ON u.path >= a.path"
        " AND u.path < substr(a.path, 1, length(a.path) - 1) || '0'"
        " GROUP BY o.indicator_id, a.id, o.period, o.dimension"
    )


_KEY = ("indicator_id", "org_unit_id", "period", "dimension")


def drift_sql(postgres: bool) -> str:
    """The statement listing every drifting sum; the soak runs it with the bare driver."""
    on = " AND ".join(f"c.{k} = r.{k}" for k in _KEY)
    keys = ", ".join(f"COALESCE(r.{k}, c.{k}) AS {k}" for k in _KEY)
    return (
        f"SELECT {keys}, COALESCE(c.total_e4, 0) AS stored_e4, COALESCE(r.total_e4, 0)"  # noqa: S608
        " AS counted_e4, COALESCE(c.n, 0) AS stored, COALESCE(r.n, 0) AS counted"
        f" FROM ({recount_sql(postgres)}) r FULL OUTER JOIN (SELECT * FROM indicator_sum"
        f" WHERE n <> 0 OR total_e4 <> 0) c ON {on}"
        " WHERE COALESCE(c.n, 0) <> COALESCE(r.n, 0)"
        " OR COALESCE(c.total_e4, 0) <> COALESCE(r.total_e4, 0) ORDER BY 1, 2, 3, 4"
    )


@dataclass(frozen=True)
class SumDrift:
    """One subtree sum that disagrees with the observations."""

    indicator_id: int
    unit_id: int
    period: str
    dimension: str
    stored: Decimal
    counted: Decimal
    stored_n: int
    counted_n: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": "indicator_sum",
            "indicatorId": self.indicator_id,
            "unitId": self.unit_id,
            "period": self.period,
            "dimension": self.dimension,
            "stored": f"{self.stored.normalize():f}",
            "counted": f"{self.counted.normalize():f}",
            "storedCount": self.stored_n,
            "countedCount": self.counted_n,
        }


async def drift(conn: BaseDBAsyncClient) -> list[SumDrift]:
    postgres = conn.capabilities.dialect == "postgres"
    return [
        SumDrift(
            int(row["indicator_id"]),
            int(row["org_unit_id"]),
            str(row["period"])[:10],
            str(row["dimension"]),
            from_e4(row["stored_e4"]),
            from_e4(row["counted_e4"]),
            int(row["stored"]),
            int(row["counted"]),
        )
        for row in await conn.execute_query_dict(drift_sql(postgres))
    ]


async def rebuild(conn: BaseDBAsyncClient) -> None:
    """Replace the sums with a recount; call inside a transaction (PostgreSQL: writers of
    observations wait for it, see ``task_counters.rebuild``)."""
    postgres = conn.capabilities.dialect == "postgres"
    if postgres:
        await conn.execute_query("LOCK TABLE observation IN SHARE MODE")
    await conn.execute_query("DELETE FROM indicator_sum")
    await conn.execute_query(
        "INSERT INTO indicator_sum (indicator_id, org_unit_id, period, dimension, total_e4, n)"
        f" {recount_sql(postgres)}"
    )
