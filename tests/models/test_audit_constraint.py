"""Migration 0005: the database itself refuses an audit row below seq 1, on both databases.

(The schema the other tests build from the models has no such constraint: tortoise leaves
CHECK constraints to migrations. These tests migrate an empty database instead.)
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api import migrate
from tortoise.transactions import in_transaction

from core.db import apply_migrations, tortoise_config
from models.audit import INSTALLATION, AuditEvent
from models.enums import AuditAction, AuditEntity
from resolvers.audit import GENESIS_HASH, append_event
from resolvers.audit_log import Log
from resolvers.audit_queries import verify_log
from tests.old_audit_chain import insert_row, write_old_chain

SEQ_MIGRATION = importlib.import_module("models.migrations.0005_audit_seq")
(BEFORE_SEQ_MIGRATION,) = SEQ_MIGRATION.Migration.dependencies


async def migrate_before_the_constraint(database_url: str) -> None:
    app, name = BEFORE_SEQ_MIGRATION
    try:
        await migrate(config=tortoise_config(database_url), target=f"{app}.{name}")
    finally:
        await Tortoise.close_connections()


@asynccontextmanager
async def connected(database_url: str) -> AsyncIterator[None]:
    """The service's models on that database (closed in the test's own context: tortoise
    keeps its connections in a context variable)."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        yield
    finally:
        await Tortoise.close_connections()


async def append(count: int) -> None:
    for i in range(count):
        async with in_transaction() as conn:
            await append_event(
                conn,
                None,
                action=AuditAction.ORG_UNIT_CREATE,
                entity_type=AuditEntity.ORG_UNIT,
                entity_id=i + 1,
            )


async def installation_log_ok() -> bool:
    return (await verify_log(Log(INSTALLATION, None), None)).ok


async def forge_before_0007(seq: int) -> None:
    """A forged row as a database before migration 0007 holds it."""
    body = {
        "at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "action": "task.verify",
        "entity_type": "task",
        "entity_id": "1",
        "actor_id": None,
        "org_path": "",
        "before": None,
        "after": None,
        "request_id": "forged",
    }
    await insert_row(seq, body, GENESIS_HASH, "f" * 64)


async def forge(seq: int) -> None:
    event = AuditEvent(
        seq=seq,
        at=datetime.now(UTC),
        action="task.verify",
        entity_type=AuditEntity.TASK,
        entity_id="1",
        request_id="forged",
        prev_hash=GENESIS_HASH,
        hash="f" * 64,
    )
    await event.save(force_create=True)


async def stored() -> list[tuple[int, str]]:
    rows = await AuditEvent.all().order_by("seq").values_list("seq", "action")
    return [(int(seq), str(action)) for seq, action in rows]


@pytest.mark.parametrize("seq", [-1, 0])
async def test_the_migrated_database_refuses_a_row_below_seq_one(
    empty_database_url: str, seq: int
) -> None:
    await apply_migrations(empty_database_url)
    async with connected(empty_database_url):
        await append(1)

        with pytest.raises(IntegrityError):
            await forge(seq)
        with pytest.raises(IntegrityError):
            await AuditEvent.filter(seq=1).update(seq=seq)

        assert await stored() == [(1, "org_unit.create")]
        assert await installation_log_ok() is True


async def test_the_migrated_database_refuses_a_repeated_seq(empty_database_url: str) -> None:
    await apply_migrations(empty_database_url)
    async with connected(empty_database_url):
        await append(2)

        with pytest.raises(IntegrityError):
            await forge(2)

        assert await stored() == [(1, "org_unit.create"), (2, "org_unit.create")]


async def test_a_valid_chain_migrates_whole(empty_database_url: str) -> None:
    """Its rows are kept (0007 then moves them into the installation-wide log)."""
    await migrate_before_the_constraint(empty_database_url)
    async with connected(empty_database_url):
        await write_old_chain(["", "", ""])

    await apply_migrations(empty_database_url)

    async with connected(empty_database_url):
        assert (await stored())[:3] == [
            (1, "user.login_failed"),
            (2, "user.login_failed"),
            (3, "user.login_failed"),
        ]
        assert await installation_log_ok() is True


async def test_a_stored_row_below_seq_one_stops_the_migration(empty_database_url: str) -> None:
    await migrate_before_the_constraint(empty_database_url)
    async with connected(empty_database_url):
        await write_old_chain([""])
        await forge_before_0007(-1)

    with pytest.raises(RuntimeError, match=r"rows below seq 1.*: seq -1 \(task\.verify\)"):
        await apply_migrations(empty_database_url)

    async with connected(empty_database_url):
        assert await stored() == [(-1, "task.verify"), (1, "user.login_failed")]
