"""Keyset pagination for Relay connections.

A cursor encodes the sort key of the last row seen, so a page costs the same whatever its
position and rows inserted meanwhile never shift it. ``totalCount`` runs only if asked for.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from tortoise.expressions import Case, Q, When
from tortoise.queryset import QuerySet

from core.errors import bad_input

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Row = TypeVar("Row")


@dataclass(frozen=True)
class OrderKey:
    """Sort by ``field``, then by the unique integer ``tiebreak`` in the same direction.

    ``kind`` is the field's value type, so a cursor carrying anything else is refused rather
    than reaching SQL; so is an integer beyond ``int_limit``, the key columns' range (ids are
    32-bit, which PostgreSQL enforces). A ``nullable`` field sorts its nulls last in either
    direction.
    """

    field: str = "id"
    descending: bool = False
    tiebreak: str = "id"
    kind: type = int
    nullable: bool = False
    int_limit: int = 2**31

    @property
    def keys(self) -> list[str]:
        return [self.field] if self.field == self.tiebreak else [self.field, self.tiebreak]


@dataclass
class Page(Generic[Row]):
    rows: list[Row]
    cursors: list[str]
    has_next_page: bool
    count: Callable[[], Awaitable[int]]

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise bad_input(f"`first` must be between 0 and {MAX_PAGE_SIZE}, not {first}.")
    return first


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values), default=str).encode()).decode()


def _typed(value: Any, kind: type, nullable: bool, int_limit: int) -> Any:
    if value is None and nullable:
        return None
    if (
        kind is int
        and isinstance(value, int)
        and not isinstance(value, bool)
        and abs(value) < int_limit
    ):
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind is datetime and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(value)
        return parsed
    raise ValueError(value)


def decode_cursor(cursor: str, arity: int, order: OrderKey | None = None) -> list[Any]:
    """The cursor's values, each of the type its sort key has; anything else is refused."""
    invalid = bad_input("`after` is not a cursor this list issued.")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii") + b"=="))
        if not isinstance(values, list) or len(values) != arity:
            raise invalid
        if order is not None:
            kinds = [(order.kind, order.nullable), (int, False)][: len(values)]
            values = [
                _typed(v, k, n, order.int_limit) for v, (k, n) in zip(values, kinds, strict=True)
            ]
    except (ValueError, UnicodeError, binascii.Error, OverflowError) as exc:
        raise invalid from exc
    return values


def _is_null(field: str) -> Q:
    condition: dict[str, Any] = {f"{field}__isnull": True}
    return Q(**condition)


def _after(order: OrderKey, values: list[Any]) -> Q:
    op = "lt" if order.descending else "gt"
    if len(values) == 1:
        return Q(**{f"{order.field}__{op}": values[0]})
    value, tie = values
    if value is None:  # among the nulls, which come last
        return _is_null(order.field) & Q(**{f"{order.tiebreak}__{op}": tie})
    beyond = Q(**{f"{order.field}__{op}": value}) | Q(
        **{order.field: value, f"{order.tiebreak}__{op}": tie}
    )
    if order.nullable:
        beyond |= _is_null(order.field)
    return beyond


async def paginate(
    query: QuerySet[Any],
    *,
    first: int | None,
    after: str | None,
    order: OrderKey = OrderKey(),
    within: Q | None = None,
) -> Page[Any]:
    """One page of ``query`` plus a lazy count of the whole (already scoped) query.

    ``within`` narrows the page's rows only, not the count: the keys the page can hold, when
    they were found another way (``resolvers.subtree_pages``)."""
    size = page_size(first)
    keys = order.keys
    page_query = query if within is None else query.filter(within)
    if after:
        page_query = page_query.filter(_after(order, decode_cursor(after, len(keys), order)))
    prefix = "-" if order.descending else ""
    ordering = [prefix + key for key in keys]
    if order.nullable:  # nulls last on every database
        page_query = page_query.annotate(
            nulls_last=Case(When(_is_null(order.field), then="1"), default="0")
        )
        ordering.insert(0, "nulls_last")
    rows = await page_query.order_by(*ordering).limit(size + 1) if size else []
    has_next = len(rows) > size
    rows = rows[:size]

    async def count() -> int:
        return int(await query.count())

    cursors = [encode_cursor([getattr(row, key) for key in keys]) for row in rows]
    return Page(rows=list(rows), cursors=cursors, has_next_page=has_next, count=count)


def page_of(rows: Sequence[Any], first: int | None, order: OrderKey = OrderKey()) -> Page[Any]:
    """The first page of rows already fetched in ``order`` (batched connections)."""
    size = page_size(first)
    shown = list(rows[:size])
    total = len(rows)

    async def count() -> int:
        return total

    cursors = [encode_cursor([getattr(row, key) for key in order.keys]) for row in shown]
    return Page(rows=shown, cursors=cursors, has_next_page=total > size, count=count)
