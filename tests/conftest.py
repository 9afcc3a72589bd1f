"""Shared fixtures: a fresh database per test (SQLite in memory, or PostgreSQL in CI).

Set ``RIVERCHIEF_TEST_DATABASE_URL`` to a PostgreSQL URL with ``{}`` in the database name
(e.g. ``postgres://postgres@127.0.0.1:5432/rc_test_{}``) to run the suite on PostgreSQL: each
test gets a database of its own, created and dropped around it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from tortoise import connections
from tortoise.context import TortoiseContext, tortoise_test_context

from models import MODEL_MODULES
from models.audit import create_seq_sequence
from tests.fixtures import Tree, build_tree
from tests.http.client import GraphQLClient, running_app

TEST_DATABASE_URL = os.environ.get("RIVERCHIEF_TEST_DATABASE_URL", "sqlite://:memory:")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres", "asyncpg"))


@asynccontextmanager
async def fresh_database() -> AsyncIterator[TortoiseContext]:
    """A new database with the models' tables (and the seq sequence, which the models cannot
    say), dropped afterwards on PostgreSQL: Tortoise's test context creates it but leaves it."""
    async with tortoise_test_context(MODEL_MODULES, db_url=TEST_DATABASE_URL) as ctx:
        client = connections.get("default")
        name = getattr(client, "database", "")
        await create_seq_sequence(client)
        yield ctx
    if ON_POSTGRES and name:
        server = TEST_DATABASE_URL.replace("postgres://", "postgresql://").rsplit("/", 1)[0]
        admin = await asyncpg.connect(f"{server}/postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def db() -> AsyncIterator[TortoiseContext]:
    async with fresh_database() as ctx:
        yield ctx


@pytest.fixture
async def tree(db: TortoiseContext) -> Tree:
    return await build_tree()


@pytest.fixture
async def client(tree: Tree) -> AsyncIterator[GraphQLClient]:
    """The HTTP service over the small tree, in-process."""
    async with running_app() as graphql_client:
        yield graphql_client


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A database with nothing in it, of the kind the suite runs on."""
    if not ON_POSTGRES:
        yield f"sqlite://{tmp_path / 'fresh.sqlite3'}"
        return
    name = f"rc_migrate_{uuid.uuid4().hex[:12]}"
    server = TEST_DATABASE_URL.replace("postgres://", "postgresql://").rsplit("/", 1)[0]
    admin = await asyncpg.connect(f"{server}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
