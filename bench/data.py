"""``riverchief bench-data``: a deterministic, seeded benchmark dataset, bulk-loaded.

At ``tasks=200_000`` it is one county at full scale (DESIGN.md, "Scale"): 10 townships,
150 villages, 3,000 grids, 10 departments, ~19,000 people, 200,000 tasks with their
subtasks, 500,000 records, 100,000 observations and the hash-chained audit trail of it all.
Fewer tasks keep the same tree; more add counties of 200,000 tasks each. The same tasks,
seed and grant count give the same rows, except the password hash (argon2 salts it).

Rows are generated with explicit ids and written with the bare drivers in one transaction:
an ORM insert per row would take hours at this size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise
from tortoise.transactions import in_transaction

from bench.data_accounts import BENCH_ACCOUNTS, BENCH_PASSWORD
from bench.data_generate import Scale, generate
from bench.data_tables import TABLES
from bench.data_write import NotEmptyError, PostgresWriter, SqliteWriter, Writer, pump
from core.db import apply_migrations, tortoise_config
from core.security import hash_password
from core.settings import ensure_sqlite_directory
from policies.engine import PolicyEngine
from policies.store import adopt_untracked_grants

__all__ = ["BENCH_ACCOUNTS", "BENCH_PASSWORD", "BenchDataError", "BenchSummary", "build_bench_data"]

POSTGRES_SCHEMES: Final = ("postgres://", "postgresql://", "asyncpg://")
SQLITE_SCHEME: Final = "sqlite://"
# Query parameters of Tortoise's connection pool, which a bare asyncpg connection refuses.
POOL_PARAMETERS: Final = frozenset(
    {"minsize", "maxsize", "max_queries", "max_inactive_connection_lifetime", "connection_class"}
)


class BenchDataError(Exception):
    """The dataset cannot be built here: bad arguments, or a database that is not empty."""


@dataclass(frozen=True)
class BenchSummary:
    database: str  # "postgres" or "sqlite"
    tasks: int
    seed: int
    counties: int
    rows: dict[str, int]  # per table, in the order written
    seconds: float

    @property
    def grants(self) -> int:
        return self.rows.get("casbin_rule", 0)

    def report(self) -> str:
        lines = [
            f"bench data on {self.database}: {self.tasks:,} tasks in {self.counties:,} "
            f"count{'y' if self.counties == 1 else 'ies'}, seed {self.seed}, "
            f"{self.grants:,} grants"
        ]
        lines += [f"  {table:<24}{count:>12,}" for table, count in self.rows.items()]
        lines.append(f"  {'total':<24}{sum(self.rows.values()):>12,}")
        lines.append(f"loaded in {self.seconds:.1f} s")
        return "\n".join(lines)


def _writer(database_url: str) -> tuple[str, Writer]:
    if database_url.startswith(POSTGRES_SCHEMES):
        parts = urlsplit(database_url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in POOL_PARAMETERS]
        dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
        return "postgres", PostgresWriter(dsn)
    if database_url.startswith(SQLITE_SCHEME):
        path = database_url[len(SQLITE_SCHEME) :].split("?", 1)[0]
        if not path or ":memory:" in path:
            raise BenchDataError("an in-memory SQLite database would vanish: give a file")
        return "sqlite", SqliteWriter(path)
    raise BenchDataError(f"unsupported database URL scheme: {database_url.split(':', 1)[0]}")


async def _prepare(database_url: str) -> None:
    """Migrate and seed the role policy, as ``riverchief migrate`` does."""
    ensure_sqlite_directory(database_url)
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await PolicyEngine().seed_if_empty()
    finally:
        await Tortoise.close_connections()


async def _record_grant_history(database_url: str) -> None:
    """The generated grants' history (``grant_history``), by the rule data loaded straight
    into the database follows: from their role.grant events, or from now."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        async with in_transaction() as conn:
            await adopt_untracked_grants(conn, at=datetime.now(UTC))
    finally:
        await Tortoise.close_connections()


async def build_bench_data(
    database_url: str, tasks: int, seed: int = 1, grants: int | None = None
) -> BenchSummary:
    """Build the dataset into the empty database at ``database_url``; refuse any other."""
    if tasks < 1:
        raise BenchDataError("--tasks must be at least 1")
    if grants is not None and grants < len(BENCH_ACCOUNTS):
        raise BenchDataError(
            f"--grants must be at least {len(BENCH_ACCOUNTS)}: the benchmark accounts' grants"
        )
    kind, writer = _writer(database_url)
    began = time.perf_counter()
    await _prepare(database_url)
    scale = Scale(tasks=tasks, seed=seed, grants=grants)
    try:
        try:
            await writer.open()
            first_rule_id = await writer.first_rule_id()
        except NotEmptyError as exc:
            raise BenchDataError(str(exc)) from exc
        password_hash = hash_password(BENCH_PASSWORD)  # once: argon2 is slow by design
        written = await pump(writer, generate(scale, first_rule_id, password_hash))
        await writer.commit()
    except BaseException:
        await writer.rollback()
        await writer.close()
        raise
    try:
        await writer.optimise()
    finally:
        await writer.close()
    await _record_grant_history(database_url)
    rows = {t.name: written[t.name] for t in TABLES if written[t.name]}
    return BenchSummary(kind, tasks, seed, scale.counties, rows, time.perf_counter() - began)
