"""Relay connections: ``edges { cursor node }``, ``pageInfo`` and a scope-aware ``totalCount``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page

NodeT = TypeVar("NodeT")

FIRST_DESCRIPTION = (
    f"How many items to return: {DEFAULT_PAGE_SIZE} when omitted, at most {MAX_PAGE_SIZE}."
)
AFTER_DESCRIPTION = "Return the items after this cursor (a previous page's `endCursor`)."


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow `endCursor`.")
    has_previous_page: bool = strawberry.field(
        description="Always false: lists page forwards only."
    )
    start_cursor: str | None = strawberry.field(description="The first item's cursor.")
    end_cursor: str | None = strawberry.field(
        description="The last item's cursor: pass it as `after` for the next page."
    )


@strawberry.type(description="One item of a list and the cursor that points at it.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque position of this item in the list.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, in the Relay connection shape.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds that the viewer may see.")
    async def total_count(self) -> int:
        return await self._count()

    @classmethod
    def of(cls, page: Page[Any], nodes: Sequence[NodeT]) -> Connection[NodeT]:
        return Connection(
            edges=[Edge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=False,
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
            ),
            _count=page.count,
        )
