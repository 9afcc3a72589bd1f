"""Every server process in step: a grant made through one process reaches another within a
second. Two real ``riverchief serve`` processes on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise

from bench import probe
from core.db import tortoise_config
from core.pg_listener import PgListener
from models.enums import LinkKind, OrgLevel, TaskCategory
from models.org import OrgLink, OrgUnit
from models.people import User
from models.policy import CasbinRule
from models.task import Task
from schema.node import to_global_id
from tests.conftest import ON_POSTGRES
from tests.fixtures import PASSWORD_HASH, Tree
from tests.servers import Server, running_server

on_postgres_only = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="the policy watcher runs on PostgreSQL LISTEN/NOTIFY: set "
    "RIVERCHIEF_TEST_DATABASE_URL to a PostgreSQL URL (CI runs the suite on PostgreSQL too)",
)

IN_STEP_WITHIN = 1.0  # seconds, as the issue asks

VIEW = "{ me { roles { role orgUnit { name } } } tasks { totalCount } }"
GRANT = """
mutation($input: GrantRoleInput!) { grantRole(input: $input) { errors { code message } } }
"""
REVOKE = """
mutation($input: GrantRoleInput!) { revokeRole(input: $input) { errors { code message } } }
"""


@dataclass
class World:
    units: dict[str, int]
    users: dict[str, int]


async def build_world(database_url: str) -> World:
    """A county with two townships and a village each, a task per unit, three accounts."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        county = await OrgUnit.place(code="c", name="county", level=OrgLevel.COUNTY)
        east = await OrgUnit.place(code="e", name="east", level=OrgLevel.TOWNSHIP, parent=county)
        west = await OrgUnit.place(code="w", name="west", level=OrgLevel.TOWNSHIP, parent=county)
        east_village = await OrgUnit.place(
            code="ev", name="east village", level=OrgLevel.VILLAGE, parent=east
        )
        west_village = await OrgUnit.place(
            code="wv", name="west village", level=OrgLevel.VILLAGE, parent=west
        )
        units = {u.name: u for u in (county, east, west, east_village, west_village)}
        for unit in units.values():
            await Task.create(
                title=f"task of {unit.name}",
                category=TaskCategory.PATROL,
                org_unit=unit,
                issuer_unit=unit,
            )
        users = {}
        for username, role, unit in [
            ("admin", "county_admin", county),
            ("east_head", "township_head", east),
            ("west_head", "township_head", west),
        ]:
            user = await User.create(username=username, password_hash=PASSWORD_HASH)
            await CasbinRule.create(ptype="g", v0=f"user:{user.id}", v1=role, v2=f"{unit.path}*")
            users[username] = user.id
        return World({n: u.id for n, u in units.items()}, users)
    finally:
        await Tortoise.close_connections()


def graphql(server: Server, query: str, token: str, **variables: Any) -> dict[str, Any]:
    body = server.graphql(query, variables, token=token)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def migrate(database_url: str, workdir: Path) -> None:
    environ = {**os.environ, "DATABASE_URL": database_url, "RIVERCHIEF_ENV": "test"}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env=environ,
        cwd=workdir,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
async def servers(
    empty_database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Server, Server, World]]:
    """``migrate``, the accounts and grants written straight to the database, then two
    server processes sharing it (and the token secret)."""
    await asyncio.to_thread(migrate, empty_database_url, tmp_path)
    world = await build_world(empty_database_url)
    with ExitStack() as stack:
        a = await asyncio.to_thread(
            stack.enter_context, running_server(empty_database_url, tmp_path)
        )
        b = await asyncio.to_thread(
            stack.enter_context, running_server(empty_database_url, tmp_path)
        )
        yield a, b, world


def view(server: Server, token: str) -> tuple[set[tuple[str, str]], int]:
    data = graphql(server, VIEW, token)
    roles = {(r["role"], r["orgUnit"]["name"]) for r in data["me"]["roles"]}
    return roles, int(data["tasks"]["totalCount"])


def within(seconds: float, check: Callable[[], bool]) -> float:
    """Poll ``check`` until it holds; how long it took. Fails after ``seconds``."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not in step within {seconds} s")
        time.sleep(0.02)


def grant_input(world: World, user: str, role: str, unit: str) -> dict[str, str]:
    return {
        "userId": to_global_id("User", world.users[user]),
        "role": role,
        "orgUnitId": to_global_id("OrgUnit", world.units[unit]),
    }


WEST_ONLY = ({("township_head", "west")}, 2)
WEST_AND_EAST = ({("township_head", "west"), ("township_head", "east")}, 4)


@on_postgres_only
async def test_a_grant_and_a_revoke_on_one_process_reach_the_other_within_a_second(
    servers: tuple[Server, Server, World],
) -> None:
    a, b, world = servers
    admin = a.login("admin")
    west_on_b = b.login("west_head")
    assert view(b, west_on_b) == WEST_ONLY

    granted = graphql(
        a, GRANT, admin, input=grant_input(world, "west_head", "township_head", "east")
    )
    assert granted["grantRole"]["errors"] == []
    took = within(IN_STEP_WITHIN, lambda: view(b, west_on_b) == WEST_AND_EAST)

    revoked = graphql(
        a, REVOKE, admin, input=grant_input(world, "west_head", "township_head", "east")
    )
    assert revoked["revokeRole"]["errors"] == []
    took_back = within(IN_STEP_WITHIN, lambda: view(b, west_on_b) == WEST_ONLY)

    print(f"grant reached b in {took:.3f} s, revoke in {took_back:.3f} s")
    # And the process that made the change is in step at once.
    assert view(a, a.login("west_head")) == WEST_ONLY


@on_postgres_only
async def test_changes_flow_both_ways_and_reach_the_granters_own_rights(
    servers: tuple[Server, Server, World],
) -> None:
    """A grant made on b reaches a; the grantee may then grant on a at once."""
    a, b, world = servers
    admin_on_b = b.login("admin")
    east_on_a = a.login("east_head")
    assert view(a, east_on_a) == ({("township_head", "east")}, 2)

    granted = graphql(
        b, GRANT, admin_on_b, input=grant_input(world, "east_head", "township_head", "west")
    )
    assert granted["grantRole"]["errors"] == []
    within(
        IN_STEP_WITHIN,
        lambda: view(a, east_on_a) == ({("township_head", "east"), ("township_head", "west")}, 4),
    )

    # The new right is usable on a: east's head now places a village secretary in the west.
    placed = graphql(
        a,
        GRANT,
        east_on_a,
        input=grant_input(world, "west_head", "village_secretary", "west village"),
    )
    assert placed["grantRole"]["errors"] == []
    west_on_b = b.login("west_head")
    within(
        IN_STEP_WITHIN,
        lambda: ("village_secretary", "west village") in view(b, west_on_b)[0],
    )


# -- the reload itself, on any database ----------------------------------------------------


class UncopyableWatcher:
    """Stands for the real watcher: it holds a live connection, which cannot be copied."""

    def __init__(self) -> None:
        self.connection = threading.Lock()

    async def publish(self) -> None:
        return None

    async def announce(self, conn: Any) -> None:
        return None


async def test_an_engine_with_a_watcher_attached_still_reloads(tree: Tree) -> None:
    engine = tree.engine
    engine.watcher = UncopyableWatcher()
    granted = tree.users["luobu_head"]
    await CasbinRule.create(
        ptype="g", v0=f"user:{granted.id}", v1="township_head", v2=f"{tree.units['zhaxi'].path}*"
    )
    shilong = tree.units["shilong"]
    assert not engine.enforce(f"user:{granted.id}", shilong.path, "VILLAGE", "task", "read")

    await engine.reload()

    assert engine.enforce(f"user:{granted.id}", shilong.path, "VILLAGE", "task", "read")


async def test_requests_during_a_reload_never_leave_stale_pairings_behind(tree: Tree) -> None:
    """A new pairing gives the department head a township's village. Requests keep arriving
    while the reload waits on the database; once it is done, the pairing must hold."""
    engine = tree.engine
    dept = f"user:{tree.users['dept_head'].id}"
    dahetan = tree.units["dahetan"]
    await OrgLink.create(
        unit=tree.units["water_bureau"], partner=dahetan, kind=LinkKind.CO_BUILDING
    )
    assert not engine.enforce(dept, dahetan.path, "VILLAGE", "task", "read")
    done = asyncio.Event()

    async def requests() -> None:
        while not done.is_set():
            engine.enforce(dept, dahetan.path, "VILLAGE", "task", "read")
            await asyncio.sleep(0.001)

    async def reload() -> None:
        await engine.reload()
        done.set()

    await asyncio.gather(requests(), reload())

    assert engine.enforce(dept, dahetan.path, "VILLAGE", "task", "read")
    assert dahetan.path in engine.reach(tree.units["water_bureau"].path)


# -- the listening connection dropped -------------------------------------------------------

DROP_LISTENERS = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND query LIKE 'LISTEN %'
"""
RESYNC_WITHIN = 10.0  # seconds: noticing the drop (1 s checks), reconnecting, reloading


@on_postgres_only
async def test_a_dropped_listener_reconnects_and_catches_up_on_what_it_missed(
    servers: tuple[Server, Server, World], empty_database_url: str
) -> None:
    """Every listening connection is cut; a grant is made at once, so its notification
    reaches no one. Each process must reconnect and reload, and so see the grant anyway."""
    a, b, world = servers
    admin = a.login("admin")
    west_on_b = b.login("west_head")
    assert view(b, west_on_b) == WEST_ONLY

    dropped = await probe.fetch(empty_database_url, DROP_LISTENERS)
    granted = graphql(
        a, GRANT, admin, input=grant_input(world, "west_head", "township_head", "east")
    )
    assert granted["grantRole"]["errors"] == []
    took = within(RESYNC_WITHIN, lambda: view(b, west_on_b) == WEST_AND_EAST)

    # Reconnected, not merely reloaded once: the next change arrives the ordinary way.
    revoked = graphql(
        a, REVOKE, admin, input=grant_input(world, "west_head", "township_head", "east")
    )
    assert revoked["revokeRole"]["errors"] == []
    within(IN_STEP_WITHIN, lambda: view(b, west_on_b) == WEST_ONLY)

    print(f"dropped {len(dropped)} listening connections; b caught up in {took:.2f} s")
    assert len(dropped) == 4  # policy and task channels, in each of the two processes
    assert "reconnected" in b.output()


@on_postgres_only
async def test_pool_options_in_the_database_url_do_not_reach_the_listener(
    empty_database_url: str,
) -> None:
    """``?minsize=…&maxsize=…`` tune the ORM's pool; asyncpg's own connection refuses them."""
    heard: list[str] = []
    listener = PgListener(f"{empty_database_url}?minsize=1&maxsize=4", "rc_test", heard.append)
    await listener.start()
    try:
        await probe.execute(empty_database_url, "SELECT pg_notify('rc_test', 'hello')")
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.05)
    finally:
        await listener.stop()

    assert heard == ["hello"]
