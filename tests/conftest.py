"""Shared fixtures: a fresh database per test (SQLite in memory, or PostgreSQL in CI).

Set ``RIVERCHIEF_TEST_DATABASE_URL`` to a PostgreSQL URL with ``{}`` in the database name
(e.g. ``postgres://postgres@127.0.0.1:5432/rc_test_{}``) to run the suite on PostgreSQL: each
test gets a database of its own, created and dropped around it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from tortoise import connections
from tortoise.backends.base.config_generator import generate_config
from tortoise.context import TortoiseContext, tortoise_test_context

from models import MODEL_MODULES
from models.audit import create_seq_sequence
from tests.fixtures import Tree, build_tree
from tests.http.client import GraphQLClient, running_app

TEST_DATABASE_URL = os.environ.get("RIVERCHIEF_TEST_DATABASE_URL", "sqlite://:memory:")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres", "asyncpg"))


# One database per test process on PostgreSQL, emptied before each test: creating and dropping
# a database per test cost ~0.6 s of the ~1 s each test spent on PostgreSQL.
_WORKER_DATABASE = TEST_DATABASE_URL.rsplit("/", 1)[-1].replace(
    "{}", f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
)
_worker_state = {"schema": False, "in_use": False}
EMPTY_TABLES = """
DO $$
DECLARE name text;
BEGIN
    SET LOCAL session_replication_role = replica;  -- no foreign-key checks while emptying
    FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format('DELETE FROM %I', name);
    END LOOP;
    FOR name IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP
        PERFORM setval(format('%I', name), 1, false);
    END LOOP;
END $$;
DROP SEQUENCE IF EXISTS audit_event_seq;
"""


def _server_url() -> str:
    return TEST_DATABASE_URL.replace("postgres://", "postgresql://").rsplit("/", 1)[0]


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(f"{_server_url()}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def _own_database() -> AsyncIterator[TortoiseContext]:
    """A database of its own, created with the models' tables and dropped afterwards
    (Tortoise's test context creates it but leaves it on PostgreSQL)."""
    async with tortoise_test_context(MODEL_MODULES, db_url=TEST_DATABASE_URL) as ctx:
        client = connections.get("default")
        name = getattr(client, "database", "")
        await create_seq_sequence(client)
        yield ctx
    if ON_POSTGRES and name:
        await _drop(name)


@asynccontextmanager
async def _worker_database() -> AsyncIterator[TortoiseContext]:
    """This process's database, its tables made once and emptied (identities restarted)
    before each test, so every test starts from what a new database holds."""
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{_WORKER_DATABASE}"
    config = generate_config(url, app_modules={"models": MODEL_MODULES}, testing=True)
    ctx = TortoiseContext()
    _worker_state["in_use"] = True
    try:
        async with ctx:
            if not _worker_state["schema"]:
                await _drop(_WORKER_DATABASE)
                await ctx.init(config=config, _create_db=True)
                await ctx.generate_schemas(safe=False)
                # A test's commits need not wait for the disk (the database is thrown away).
                await connections.get("default").execute_script(
                    f'ALTER DATABASE "{_WORKER_DATABASE}" SET synchronous_commit = off'
                )
                _worker_state["schema"] = True
            else:
                await ctx.init(config=config)
                await connections.get("default").execute_script(EMPTY_TABLES)
            await create_seq_sequence(connections.get("default"))
            yield ctx
    finally:
        _worker_state["in_use"] = False


@asynccontextmanager
async def fresh_database() -> AsyncIterator[TortoiseContext]:
    """A database holding the models' tables and nothing else (and the seq sequence, which the
    models cannot say): SQLite in memory; on PostgreSQL this process's database, emptied —
    or, while that one is held (a module's database around a test's), one of its own."""
    if ON_POSTGRES and not _worker_state["in_use"]:
        async with _worker_database() as ctx:
            yield ctx
    else:
        async with _own_database() as ctx:
            yield ctx


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop this process's database."""
    if ON_POSTGRES and _worker_state["schema"]:
        asyncio.run(_drop(_WORKER_DATABASE))


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
    admin = await asyncpg.connect(f"{_server_url()}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
