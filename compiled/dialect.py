"""The SQL each database needs to build JSON, global IDs, instants and masks."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

# SQLite has no base64: global IDs come from this function, registered on each connection.
GLOBAL_ID_FUNCTION = "rc_global_id"


def global_id(type_name: str, pk: int | str) -> str:
    """``schema.node.to_global_id``'s encoding (kept equal by the differential test)."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode()


@dataclass(frozen=True)
class Dialect:
    postgres: bool

    def obj(self, pairs: list[tuple[str, str]]) -> str:
        """A JSON object of ``(key, SQL value)`` pairs, keys in the order given."""
        if not pairs:
            return "json_build_object()" if self.postgres else "json_object()"
        args = ", ".join(f"{_literal(key)}, {value}" for key, value in pairs)
        return f"json_build_object({args})" if self.postgres else f"json_object({args})"

    def nested(self, subquery: str) -> str:
        """A subquery's one JSON value (null when it finds no row) inside another object."""
        return f"({subquery})" if self.postgres else f"json(({subquery}))"

    def text(self, value: str) -> str:
        """A JSON column as text, the way the driver hands it back."""
        return f"({value})::text" if self.postgres else value

    def boolean(self, condition: str) -> str:
        if self.postgres:
            return f"({condition})"
        return f"json(CASE WHEN {condition} THEN 'true' ELSE 'false' END)"

    def flag(self, column: str) -> str:
        """A boolean column."""
        return column if self.postgres else self.boolean(f"{column} <> 0")

    def global_id(self, type_name: str, column: str) -> str:
        if self.postgres:
            raw = f"convert_to('{type_name}:' || {column}::text, 'UTF8')"
            return f"translate(encode({raw}, 'base64'), '+/', '-_')"
        return f"{GLOBAL_ID_FUNCTION}('{type_name}', {column})"

    def instant(self, column: str) -> str:
        """A timestamp as ``datetime.isoformat()`` writes it in UTC (microseconds only when
        there are some), the way the resolvers serialise a ``DateTime``."""
        if not self.postgres:
            return f"replace({column}, ' ', 'T')"  # stored as str(datetime) in UTC
        utc = f"({column} AT TIME ZONE 'UTC')"
        fraction = (
            f"CASE WHEN date_part('microseconds', {utc})::bigint % 1000000 = 0 THEN ''"
            f" ELSE to_char({utc}, '.US') END"
        )
        return (
            f"CASE WHEN {column} IS NULL THEN NULL ELSE "
            f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS') || {fraction} || '+00:00' END"""
        )

    def stars(self, count: str) -> str:
        if self.postgres:
            return f"repeat('*', {count})"
        return f"replace(hex(zeroblob({count})), '00', '*')"

    def mask(self, column: str, keep_start: int, keep_end: int) -> str:
        """``resolvers.people.mask`` in SQL."""
        kept = keep_start + keep_end
        length = f"length({column})"
        start = f"substr({column}, 1, {keep_start})" if keep_start else "''"
        end = f"substr({column}, {length} - {keep_end - 1})" if keep_end else "''"
        return (
            f"CASE WHEN {column} = '' THEN {column}"
            f" WHEN {length} <= {kept} THEN {self.stars(length)}"
            f" ELSE {start} || {self.stars(f'{length} - {kept}')} || {end} END"
        )

    def moment(self, value: Any) -> Any:
        """A datetime parameter as the column compares with it (SQLite keeps Tortoise's
        text form)."""
        return value if self.postgres else str(value)


def _literal(key: str) -> str:
    """A JSON key as an SQL string literal (response keys are GraphQL names: no quotes)."""
    if not key.replace("_", "").isalnum():
        raise ValueError(f"not a GraphQL name: {key!r}")
    return f"'{key}'"


MARK = "_riverchief_plan_functions"


async def connection_for_plans() -> tuple[BaseDBAsyncClient, Dialect]:
    """The default connection, with what the plans' SQL needs registered on it."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    if not postgres:
        raw = getattr(conn, "_connection", None)
        if raw is not None and not getattr(raw, MARK, False):
            await raw.create_function(GLOBAL_ID_FUNCTION, 2, global_id, deterministic=True)
            setattr(raw, MARK, True)
    return conn, Dialect(postgres)
