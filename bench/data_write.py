"""Writing row batches with the bare drivers, in one transaction.

PostgreSQL takes them through ``COPY`` (asyncpg's binary ``copy_records_to_table``), then
has its id sequences moved past the rows and is vacuumed and analysed. SQLite takes them
through ``executemany`` with the journal relaxed for the load, storing dates, times and
decimals as the text Tortoise writes (``str()`` of the value), then is analysed.

Before the commit the dashboards' counters and the indicator sums are counted from the loaded
rows, as the API would have kept them.

On both, the secondary (non-unique) indexes the migrations made are dropped for the load
and rebuilt from their own definitions before the commit: one sort per index instead of
millions of scattered inserts. On PostgreSQL a superuser also skips the foreign-key
triggers (as ``pg_restore --disable-triggers`` does); SQLite checks every key, and the
tests build on both.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter
from collections.abc import Iterator
from typing import Any, Final, Protocol

import asyncpg

from bench.data_tables import ORG_UNIT, TABLES, Batch, Row, Table
from models.audit import CREATE_SEQ_SEQUENCE
from resolvers import indicator_sums, task_counters

# Tables that must be empty: the dataset brings its own ids and paths.
GUARDED: Final = tuple(t.name for t in TABLES if t.name not in ("casbin_rule", "water_body_unit"))
LOADED: Final = tuple(t.name for t in TABLES)
COUNTER_TABLES: Final = ("task_count", "task_due_count", "indicator_sum")
PG_SECONDARY_INDEXES: Final = """
    SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema() AND t.relname = ANY($1::text[])
      AND NOT x.indisunique AND NOT x.indisprimary
    ORDER BY i.relname
"""
SQLITE_SECONDARY_INDEXES: Final = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE 'CREATE INDEX%' "  # noqa: S608
    f"AND tbl_name IN ({', '.join('?' for _ in LOADED)}) ORDER BY name"
)

log = logging.getLogger("riverchief.bench")


class NotEmptyError(RuntimeError):
    """The database already holds data the dataset would collide with."""


class Writer(Protocol):
    async def open(self) -> None: ...
    async def first_rule_id(self) -> int: ...
    async def write(self, batch: Batch) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def optimise(self) -> None: ...
    async def close(self) -> None: ...


def _refusal(found: dict[str, int]) -> str:
    if found.get(ORG_UNIT.name):
        return (
            f"the database already holds {found[ORG_UNIT.name]} org units: "
            "bench-data loads only into an empty database"
        )
    held = ", ".join(f"{table}: {count}" for table, count in found.items())
    return f"the database is not empty ({held}): bench-data loads only into an empty database"


class PostgresWriter:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None
        self._transaction: Any = None
        self._indexes: list[tuple[str, str]] = []

    async def open(self) -> None:
        self._conn = await asyncpg.connect(self.dsn)
        self._transaction = self._conn.transaction()
        await self._transaction.start()
        await self._conn.execute("LOCK TABLE org_unit IN EXCLUSIVE MODE")
        found = {}
        for name in GUARDED:
            count = await self._conn.fetchval(f'SELECT count(*) FROM "{name}"')  # noqa: S608
            if count:
                found[name] = int(count)
        grants = await self._conn.fetchval("SELECT count(*) FROM casbin_rule WHERE ptype = 'g'")
        if grants:
            found["casbin_rule (grants)"] = int(grants)
        if found:
            raise NotEmptyError(_refusal(found))
        try:
            async with self._conn.transaction():  # a savepoint: a refusal changes nothing
                await self._conn.execute("SET LOCAL session_replication_role = replica")
        except asyncpg.InsufficientPrivilegeError:
            log.info("not a superuser: foreign keys are checked row by row during the load")
        rows = await self._conn.fetch(PG_SECONDARY_INDEXES, list(LOADED))
        self._indexes = [(row["name"], row["definition"]) for row in rows]
        for name, _ in self._indexes:
            await self._conn.execute(f'DROP INDEX "{name}"')

    async def first_rule_id(self) -> int:
        return int(await self._conn.fetchval("SELECT COALESCE(MAX(id), 0) + 1 FROM casbin_rule"))

    async def write(self, batch: Batch) -> None:
        for table, rows in batch:
            await self._conn.copy_records_to_table(
                table.name, records=rows, columns=list(table.columns)
            )

    async def commit(self) -> None:
        await self._conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in self._indexes:
            await self._conn.execute(definition)
        for statement in counter_fill(postgres=True):
            await self._conn.execute(statement)
        for table in TABLES:
            if table.serial:
                await self._conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                    f'(SELECT MAX(id) FROM "{table.name}"))'
                )
        await self._conn.execute(CREATE_SEQ_SEQUENCE)  # the service's seqs follow the loaded ones
        await self._transaction.commit()

    async def rollback(self) -> None:
        if self._transaction is not None:
            await self._transaction.rollback()

    async def optimise(self) -> None:
        """Vacuum too, so index-only scans work from the first benchmark run on."""
        names = ", ".join([f'"{table.name}"' for table in TABLES] + list(COUNTER_TABLES))
        await self._conn.execute(f"VACUUM (ANALYZE) {names}")

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


class SqliteWriter:
    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._indexes: list[tuple[str, str]] = []

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the writer is not open")
        return self._conn

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn = conn
        for pragma in ("journal_mode=WAL", "synchronous=OFF", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB: index pages stay in memory
        conn.execute("BEGIN IMMEDIATE")
        found = {}
        for name in GUARDED:
            (count,) = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()  # noqa: S608
            if count:
                found[name] = int(count)
        (grants,) = conn.execute("SELECT count(*) FROM casbin_rule WHERE ptype = 'g'").fetchone()
        if grants:
            found["casbin_rule (grants)"] = int(grants)
        if found:
            raise NotEmptyError(_refusal(found))
        self._indexes = conn.execute(SQLITE_SECONDARY_INDEXES, LOADED).fetchall()
        for name, _ in self._indexes:
            conn.execute(f'DROP INDEX "{name}"')

    async def first_rule_id(self) -> int:
        (value,) = self.conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM casbin_rule").fetchone()
        return int(value)

    async def write(self, batch: Batch) -> None:
        await asyncio.to_thread(self._write, batch)

    def _write(self, batch: Batch) -> None:
        for table, rows in batch:
            columns = ", ".join(f'"{c}"' for c in table.columns)
            marks = ", ".join("?" for _ in table.columns)
            self.conn.executemany(
                f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})',  # noqa: S608
                _as_sqlite(table, rows),
            )

    async def commit(self) -> None:
        await asyncio.to_thread(self._commit)

    def _commit(self) -> None:
        for _, definition in self._indexes:
            self.conn.execute(definition)
        for statement in counter_fill(postgres=False):
            self.conn.execute(statement)
        self.conn.execute("COMMIT")

    async def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    async def optimise(self) -> None:
        await asyncio.to_thread(self._optimise)

    def _optimise(self) -> None:
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def counter_fill(postgres: bool) -> list[str]:
    """The dashboards' counters and the indicator sums, counted from the rows just loaded, as
    the API keeps them (``resolvers.task_counters``, ``resolvers.indicator_sums``)."""
    return [
        "DELETE FROM task_count",
        f"INSERT INTO task_count (org_unit_id, status, n) {task_counters.recount_status_sql()}",
        "DELETE FROM task_due_count",
        "INSERT INTO task_due_count (org_unit_id, due_day, n) "
        + task_counters.recount_due_sql(postgres),
        "DELETE FROM indicator_sum",
        "INSERT INTO indicator_sum (indicator_id, org_unit_id, period, dimension, total_e4, n) "
        + indicator_sums.recount_sql(postgres),
    ]


def _as_sqlite(table: Table, rows: list[Row]) -> Iterator[Row]:
    """Dates, times and decimals as the text Tortoise stores on SQLite."""
    columns = table.as_text
    if not columns:
        yield from rows
        return
    for row in rows:
        values = list(row)
        for index in columns:
            value = values[index]
            if value is not None:
                values[index] = str(value)
        yield tuple(values)


async def pump(writer: Writer, batches: Iterator[Batch]) -> Counter[str]:
    """Write every batch; the next one is generated (in a thread) while the last is written.

    Returns the number of rows written per table.
    """
    written: Counter[str] = Counter()
    pending: asyncio.Task[None] | None = None
    try:
        while True:
            batch = await asyncio.to_thread(next, batches, None)
            if pending is not None:
                await pending
                pending = None
            if batch is None:
                return written
            for table, rows in batch:
                written[table.name] += len(rows)
            pending = asyncio.create_task(writer.write(batch))
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
