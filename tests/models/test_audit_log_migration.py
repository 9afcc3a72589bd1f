"""Migration 0007: the one chain becomes one log per jurisdiction, each verifiable, and a chain
broken before it is not laundered into fresh logs."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from tortoise.transactions import in_transaction

from core.db import apply_migrations, tortoise_config
from models.audit import AuditEvent, AuditNode
from models.enums import AuditAction, AuditEntity
from resolvers.audit import append_event
from resolvers.audit_log import log_named, root_at
from resolvers.audit_queries import verify_log
from tests.old_audit_chain import write_old_chain
from tests.rfc9162 import mth, sha256

LOG_MIGRATION = importlib.import_module("models.migrations.0007_audit_log")
(BEFORE_LOGS,) = LOG_MIGRATION.Migration.dependencies
# Two counties (units 1 and 2) and events of no unit, interleaved as they happened.
PATHS = ["/1/", "/1/5/", "", "/2/", "/1/5/9/", "/2/7/", "/1/", "", "/2/"]


@asynccontextmanager
async def connected(database_url: str) -> AsyncIterator[None]:
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        yield
    finally:
        await Tortoise.close_connections()


async def migrated_before_the_logs(database_url: str) -> None:
    app, name = BEFORE_LOGS
    try:
        await migrate(config=tortoise_config(database_url), target=f"{app}.{name}")
    finally:
        await Tortoise.close_connections()


async def test_the_old_chain_becomes_one_verifiable_log_per_jurisdiction(
    empty_database_url: str,
) -> None:
    await migrated_before_the_logs(empty_database_url)
    async with connected(empty_database_url):
        old_head = await write_old_chain(PATHS)

    await apply_migrations(empty_database_url)

    async with connected(empty_database_url):
        rows = (
            await AuditEvent.all()
            .order_by("seq")
            .values_list("seq", "jurisdiction", "leaf_index", "action")
        )
        reports = {j: await verify_log(await log_named(j), None) for j in (0, 1, 2)}
        closing = await AuditEvent.get(seq=10)
        county = await AuditEvent.filter(jurisdiction=1).order_by("leaf_index")
        leaves = [
            bytes.fromhex(n)
            for n in await AuditNode.filter(jurisdiction=1, level=0)
            .order_by("position")
            .values_list("hash", flat=True)
        ]
        async with in_transaction() as conn:
            appended = await append_event(
                conn,
                None,
                action=AuditAction.TASK_URGE,
                entity_type=AuditEntity.TASK,
                entity_id=1,
                org_path="/2/",
            )
        after = await verify_log(await log_named(2), None)
        root = await root_at(1, 4)

    assert rows == [
        (1, 1, 0, "task.urge"),
        (2, 1, 1, "task.urge"),
        (3, 0, 0, "user.login_failed"),
        (4, 2, 0, "task.urge"),
        (5, 1, 2, "task.urge"),
        (6, 2, 1, "task.urge"),
        (7, 1, 3, "task.urge"),
        (8, 0, 1, "user.login_failed"),
        (9, 2, 2, "task.urge"),
        (10, 0, 2, "audit.migrate"),
    ]
    assert [(r.ok, r.checked) for r in reports.values()] == [(True, 3), (True, 4), (True, 3)]
    assert (closing.before, closing.after) == (
        {"chain_head_seq": 9, "chain_head_hash": old_head},
        {"logs": 3},
    )
    assert [e.prev_hash for e in county[1:]] == [e.hash for e in county[:-1]]
    assert len(leaves) == 4 and root == mth(leaves) != sha256(b"")
    assert (appended.seq, appended.leaf_index) == (11, 3)
    assert (after.ok, after.checked) == (True, 4)


async def test_a_broken_chain_stops_the_migration(empty_database_url: str) -> None:
    await migrated_before_the_logs(empty_database_url)
    async with connected(empty_database_url):
        await write_old_chain(PATHS[:4])
        await AuditEvent.filter(seq=2).update(request_id="edited")

    with pytest.raises(RuntimeError, match=r"the audit chain is broken at seq 2"):
        await apply_migrations(empty_database_url)
