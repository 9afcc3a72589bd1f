"""Shared fixtures: a fresh database per test (SQLite in memory, or PostgreSQL in CI).

Set ``RIVERCHIEF_TEST_DATABASE_URL`` to a PostgreSQL URL with ``{}`` in the database name
(e.g. ``postgres://postgres@127.0.0.1:5432/rc_test_{}``) to run the suite on PostgreSQL: each
test gets a database of its own, created and dropped around it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from tortoise.context import TortoiseContext, tortoise_test_context

from models import MODEL_MODULES
from tests.fixtures import Tree, build_tree

TEST_DATABASE_URL = os.environ.get("RIVERCHIEF_TEST_DATABASE_URL", "sqlite://:memory:")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres", "asyncpg"))


@pytest.fixture
async def db() -> AsyncIterator[TortoiseContext]:
    async with tortoise_test_context(MODEL_MODULES, db_url=TEST_DATABASE_URL) as ctx:
        yield ctx


@pytest.fixture
async def tree(db: TortoiseContext) -> Tree:
    return await build_tree()
