"""The SQL each database needs to build JSON, global IDs, instants and masks."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from models.graph_names import global_id

# SQLite has no base64: global IDs and cursors come from these functions, registered on each
# connection.
GLOBAL_ID_FUNCTION = "rc_global_id"
BASE64_FUNCTION = "rc_base64"


def urlsafe_base64(text: str) -> str:
    """``resolvers.pagination.encode_cursor``'s encoding of a cursor's JSON text."""
    return base64.urlsafe_b64encode(text.encode()).decode()


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
        """A subquery's one JSON value (null when it finds no row) inside another object.
        (SQLite: ``-> '$'`` reads the subquery's text as JSON, as ``json()`` would, at a
        shallower depth of its parser, whose stack deep plans reach.)"""
        return f"({subquery})" if self.postgres else f"({subquery}) -> '$'"

    def integer(self, value: str) -> str:
        """A count or a sum of counts as a JSON integer (PostgreSQL sums bigints as
        numeric)."""
        return f"CAST({value} AS bigint)" if self.postgres else value

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
            return self.base64(f"'{type_name}:' || {column}::text")
        return f"{GLOBAL_ID_FUNCTION}('{type_name}', {column})"

    def base64(self, text: str) -> str:
        """URL-safe base64 of ``text`` (PostgreSQL breaks its base64 into lines of 76
        characters: the line breaks are dropped)."""
        if self.postgres:
            raw = f"encode(convert_to({text}, 'UTF8'), 'base64')"
            return f"translate({raw}, '+/' || chr(10), '-_')"
        return f"{BASE64_FUNCTION}({text})"

    def empty_array(self) -> str:
        return "'[]'::json" if self.postgres else "json('[]')"

    def json_column(self, column: str) -> str:
        """A subquery's JSON column inside another JSON value (SQLite hands it back as text)."""
        return column if self.postgres else f"json({column})"

    def array_agg(self, value: str, order: str, condition: str | None = None) -> str:
        """The JSON array of ``value`` over the rows (where ``condition`` holds), in ``order``
        (SQLite aggregates in the order of its subquery's rows, which the caller orders)."""
        kept = f" FILTER (WHERE {condition})" if condition else ""
        if self.postgres:
            return f"coalesce(json_agg({value} ORDER BY {order}){kept}, '[]'::json)"
        return f"json_group_array({value}){kept}"

    def least(self, first: str, second: str) -> str:
        return f"least({first}, {second})" if self.postgres else f"min({first}, {second})"

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
            await raw.create_function(BASE64_FUNCTION, 1, urlsafe_base64, deterministic=True)
            setattr(raw, MARK, True)
    return conn, Dialect(postgres)
