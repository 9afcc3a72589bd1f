"""Strawberry's ``DataLoader``, its shared results shielded from a waiter's cancellation.

Many resolvers await one loader's future for the same key. When graphql-core gives up on
a list or an object because a sibling failed, it cancels that branch's resolvers; awaiting a
future directly would cancel the shared future too, and a resolver of another branch waiting
on it would get ``CancelledError``, which no error handling catches (a 500). Each waiter
awaits a shield of the shared future instead, so only the cancelled waiter stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from strawberry.dataloader import DataLoader as StrawberryLoader

K = TypeVar("K")
T = TypeVar("T")


class DataLoader(StrawberryLoader[K, T]):
    def load(self, key: K) -> Awaitable[T]:
        return asyncio.shield(super().load(key))
