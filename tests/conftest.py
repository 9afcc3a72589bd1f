"""Shared fixtures: a fresh database per test (SQLite in memory, or PostgreSQL in CI).

Set ``RIVERCHIEF_TEST_DATABASE_URL`` to a PostgreSQL URL with ``{}`` in the database name
(e.g. ``postgres://postgres@127.0.0.1:5432/rc_test_{}``) to run the suite on PostgreSQL: each
test gets a database of its own, created and dropped around it.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import inspect
import itertools
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from tortoise import connections
from tortoise.backends.base.config_generator import generate_config
from tortoise.context import TortoiseContext, tortoise_test_context

from demo.loader import load_demo
from models import MODEL_MODULES
from models.audit import create_seq_sequence
from policies.engine import PolicyEngine
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


# -- the demo, loaded once per process and copied ---------------------------------------------
#
# Loading the demo writes thousands of rows through the models (seconds); copying a database that
# holds it takes a fraction of that. Each use gets a copy of its own, so every test still starts
# from the demo as ``load_demo`` leaves it. What the loader writes depends on ``now``: a copy
# stands for a load at the same ``now`` (given), or — for a load at the current time — for one
# made within the last few minutes on the same Beijing day, as a module's shared demo already is.

DEMO_COPY_MAX_AGE = timedelta(minutes=5)
DemoKey = tuple[datetime | None, bool]  # the load's ``now``; whether the policy was seeded first
_demo_sources: dict[DemoKey, tuple[datetime, str | sqlite3.Connection]] = {}
_demo_copies = itertools.count()


def _demo_source(key: DemoKey) -> str | sqlite3.Connection | None:
    """The copy source for a load at ``now`` (None: the current time), if one is fresh enough."""
    held = _demo_sources.get(key)
    if held is None:
        return None
    loaded_at, source = held
    if key[0] is None and (
        datetime.now(UTC) - loaded_at > DEMO_COPY_MAX_AGE
        or _beijing_day(loaded_at) != _beijing_day(datetime.now(UTC))
    ):
        return None
    return source


def _beijing_day(moment: datetime) -> object:
    return (moment + timedelta(hours=8)).date()


async def _load(key: DemoKey) -> datetime:
    """Load the demo into the current database, as the key says; the ``now`` it was loaded at."""
    now, policy_first = key
    moment = now or datetime.now(UTC)
    if policy_first:
        await PolicyEngine().seed_if_empty()
    assert await load_demo(now=moment)
    return moment


async def _load_and_keep_sqlite(key: DemoKey) -> None:
    moment = await _load(key)
    kept = sqlite3.connect(":memory:", check_same_thread=False)
    async with connections.get("default").acquire_connection() as connection:
        await connection.backup(kept)
    _demo_sources[key] = (moment, kept)


async def _copy_sqlite(source: sqlite3.Connection) -> None:
    async with connections.get("default").acquire_connection() as connection:
        # In the connection's own thread, as every use of it is.
        await connection._execute(source.backup, connection._conn)


@asynccontextmanager
async def _postgres_database(
    name: str, *, template: str = "", one_connection: bool = False
) -> AsyncIterator[TortoiseContext]:
    """A database named ``name``, copied from ``template`` or else made with the models' tables;
    dropped when left unless it is to serve as a template. ``one_connection``: a pool of one,
    so statements run in the order they are issued, as on SQLite."""
    admin = await asyncpg.connect(f"{_server_url()}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await admin.close()
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    if one_connection:
        url += "?minsize=1&maxsize=1"
    config = generate_config(url, app_modules={"models": MODEL_MODULES}, testing=True)
    ctx = TortoiseContext()
    async with ctx:
        await ctx.init(config=config)
        if not template:
            await ctx.generate_schemas(safe=False)
            await create_seq_sequence(connections.get("default"))
        yield ctx


@asynccontextmanager
async def demo_database(
    now: datetime | None = None, *, policy_first: bool = False, one_connection: bool = False
) -> AsyncIterator[TortoiseContext]:
    """A database holding the demo as ``load_demo(now=now)`` writes it into a fresh one (after
    ``PolicyEngine().seed_if_empty()`` if ``policy_first``): loaded the first time in this
    process, copied every time after. ``one_connection`` (PostgreSQL): served through a pool of
    one connection (SQLite has one anyway)."""
    key = (now, policy_first)
    source = _demo_source(key)
    if not ON_POSTGRES:
        async with fresh_database() as ctx:
            if isinstance(source, sqlite3.Connection):
                await _copy_sqlite(source)
            else:
                await _load_and_keep_sqlite(key)
            yield ctx
        return
    if not isinstance(source, str):
        stale = _demo_sources.pop(key, None)
        if stale is not None and isinstance(stale[1], str):
            await _drop(stale[1])
        source = f"{_WORKER_DATABASE}_demo_{next(_demo_copies)}"
        async with _postgres_database(source):
            moment = await _load(key)
        _demo_sources[key] = (moment, source)
    copy = f"{_WORKER_DATABASE}_copy_{next(_demo_copies)}"
    try:
        async with _postgres_database(copy, template=source, one_connection=one_connection) as ctx:
            yield ctx
    finally:
        await _drop(copy)


# -- the tests the database under test cannot change ---------------------------------------------
#
# CI runs the suite on SQLite, then again on PostgreSQL. A test whose outcome cannot depend on the
# database the suite is pointed at would only repeat itself the second time; with
# ``--database-tests-only`` it is left out. The rule is mechanical: the database under test
# reaches a test only through this module (its fixtures, ``fresh_database``, ``ON_POSTGRES``…) or
# the environment variable, so a test depends on it when its module, or the module of any fixture
# it requests, imports this module (directly or through other test modules) or names the variable.

TESTS_DIR = Path(__file__).parent
DATABASE_VARIABLE = "RIVERCHIEF_TEST_DATABASE_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="leave out the tests whose outcome cannot depend on the database under test",
    )


@functools.cache
def _reaches_the_database_under_test(path: Path) -> bool:
    """Whether the test module (or helper) at ``path`` can learn which database is under test."""
    if path == TESTS_DIR / "conftest.py":
        return True
    source = path.read_text(encoding="utf-8")
    if DATABASE_VARIABLE in source:
        return True
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            return True  # relative imports are not used here; if one appears, assume the worst
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        for name in names:
            if name == "tests" or not name.startswith("tests."):
                continue
            module = TESTS_DIR.parent / Path(*name.split("."))
            for candidate in (module.with_suffix(".py"), module / "__init__.py"):
                if candidate.exists() and _reaches_the_database_under_test(candidate):
                    return True
            if name == "tests.conftest":
                return True
    return False


def _depends_on_the_database(item: pytest.Item) -> bool:
    paths = {Path(str(item.path))}
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is None:
        return True
    for definitions in fixture_info.name2fixturedefs.values():
        for definition in definitions:
            module = inspect.getmodule(definition.func)
            if module is not None and module.__file__:
                paths.add(Path(module.__file__))
    return any(
        path.is_relative_to(TESTS_DIR) and _reaches_the_database_under_test(path) for path in paths
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("database_tests_only"):
        return
    kept = [item for item in items if _depends_on_the_database(item)]
    left_out = [item for item in items if not _depends_on_the_database(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop this process's databases."""
    if ON_POSTGRES and _worker_state["schema"]:
        asyncio.run(_drop(_WORKER_DATABASE))
    for _, source in _demo_sources.values():
        if isinstance(source, str):
            asyncio.run(_drop(source))


@pytest.fixture
async def db() -> AsyncIterator[TortoiseContext]:
    async with fresh_database() as ctx:
        yield ctx


@pytest.fixture
async def demo_db() -> AsyncIterator[TortoiseContext]:
    """A database holding the demo and nothing the test has not done to it."""
    async with demo_database() as ctx:
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
