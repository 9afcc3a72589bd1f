"""The committed migrations match the models, and they build a working schema."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from core.db import apply_migrations, tortoise_config
from models.audit import AuditEvent
from models.enums import OrgLevel, RecordType, TaskStatus
from models.indicator import Indicator, IndicatorSum, Observation
from models.org import OrgUnit
from models.paths import child_path
from models.people import User
from models.policy import CasbinRule, GrantHistory, RolePolicyHistory
from models.record import AccountabilityRecord
from models.task import Task, TaskCount, TaskDueCount
from policies.engine import PolicyEngine, read_role_policy
from resolvers import indicator_sums, task_counters
from tests.conftest import ON_POSTGRES
from tests.fixtures import Tree


async def test_models_have_no_changes_missing_a_migration(db: TortoiseContext) -> None:
    apps_config = tortoise_config("sqlite://:memory:")["apps"]

    writers = await MigrationAutodetector(db.apps, apps_config).changes()

    pending = [str(w.name) for w in writers]
    assert pending == [], f"run `tortoise -c core.db.TORTOISE_ORM makemigrations`: {pending}"


async def test_migrations_build_the_schema_from_nothing(empty_database_url: str) -> None:
    await apply_migrations(empty_database_url)
    await apply_migrations(empty_database_url)  # a second run finds nothing to do

    await Tortoise.init(config=tortoise_config(empty_database_url))
    try:
        county = await OrgUnit.place(code="c", name="county", level=OrgLevel.COUNTY)
        township = await OrgUnit.place(
            code="t", name="township", level=OrgLevel.TOWNSHIP, parent=county
        )
        assert township.path == f"/{county.id}/{township.id}/"
        found = await OrgUnit.filter(path__gte=county.path).values_list("code", flat=True)
        assert sorted(found) == ["c", "t"]
        if ON_POSTGRES:  # byte-order paths, so range scans and prefixes agree
            rows = await connections.get("default").execute_query_dict(
                "SELECT collation_name FROM information_schema.columns"
                " WHERE table_name = 'org_unit' AND column_name = 'path'"
            )
            assert rows == [{"collation_name": "C"}]
    finally:
        await Tortoise.close_connections()


@pytest.mark.skipif(
    not ON_POSTGRES, reason="SQLite serves a single process, which migrates before it serves"
)
async def test_replicas_released_together_may_all_migrate_at_once(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Three ``riverchief migrate`` on one empty database at the same moment all succeed."""
    environ = {**os.environ, "DATABASE_URL": empty_database_url, "RIVERCHIEF_ENV": "test"}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "migrate",
            env=environ,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [(await p.communicate())[0].decode() for p in processes]

    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert all("database is up to date" in out for out in outputs)


# -- 0006: record types become rights ---------------------------------------------------------

RECORD_AUTHORITY = importlib.import_module("models.migrations.0006_record_authority")


class Editor:
    """What a migration's ``RunPython`` step is handed: the connection it runs on."""

    def __init__(self) -> None:
        self.client = connections.get("default")


async def permission_lines() -> set[tuple[str, str, str, str]]:
    return set(await CasbinRule.filter(ptype="p").values_list("v0", "v1", "v2", "v3"))


async def test_an_installed_policy_has_its_record_rights_split_by_type(
    db: TortoiseContext,
) -> None:
    old = [
        ("county_admin", "*", "record", "read"),
        ("county_admin", "*", "record", "create"),
        ("county_admin", "*", "finding", "create"),
        ("grid_leader", "*", "record", "create"),
        ("inspector", "*", "finding", "create"),
    ]
    for role, level, resource, action in old:
        await CasbinRule.create(ptype="p", v0=role, v1=level, v2=resource, v3=action)
    grant = await CasbinRule.create(ptype="g", v0="user:1", v1="county_admin", v2="/1/*")

    await RECORD_AUTHORITY.split_record_rights(None, Editor())

    assert await permission_lines() == {
        ("county_admin", "*", "record", "read"),
        ("county_admin", "*", "record.patrol", "create"),
        ("county_admin", "*", "record.cleanup", "create"),
        ("county_admin", "*", "record.pledge", "create"),
        ("county_admin", "*", "record.assessment", "create"),
        ("county_admin", "*", "record.reward", "create"),
        ("county_admin", "*", "record.penalty", "create"),
        ("grid_leader", "*", "record.patrol", "create"),
        ("grid_leader", "*", "record.cleanup", "create"),
        ("grid_leader", "*", "record.pledge", "create"),
        ("inspector", "*", "record.finding", "create"),
    }
    assert await CasbinRule.filter(ptype="g").values_list("id", flat=True) == [grant.id]

    await RECORD_AUTHORITY.join_record_rights(None, Editor())

    assert await permission_lines() == {
        ("county_admin", "*", "record", "read"),
        ("county_admin", "*", "record", "create"),
        ("grid_leader", "*", "record", "create"),
        ("inspector", "*", "finding", "create"),
    }


async def test_a_policy_seeded_from_roles_csv_is_left_as_it_is(db: TortoiseContext) -> None:
    await PolicyEngine().seed_if_empty()
    seeded = await permission_lines()

    await RECORD_AUTHORITY.split_record_rights(None, Editor())

    assert await permission_lines() == seeded
    assert seeded == {(r.role, r.level, r.resource, r.action) for r in read_role_policy()}


async def county_before_geometry() -> OrgUnit:
    """A county written as the schema before 0011_geometry holds it: ``OrgUnit.place`` would
    write the ``geometry`` column that schema does not have yet."""
    conn = connections.get("default")
    await conn.execute_query(
        "INSERT INTO org_unit (code, name, level, path, depth, created_at)"
        " VALUES ('c', 'county', 'COUNTY', '', 0, CURRENT_TIMESTAMP)"
    )
    [row] = await conn.execute_query_dict("SELECT id FROM org_unit WHERE code = 'c'")
    path = child_path(None, row["id"])
    await OrgUnit.filter(code="c").update(path=path)
    return OrgUnit(id=row["id"], code="c", name="county", level=OrgLevel.COUNTY, path=path)


async def test_the_grants_and_lines_in_force_are_recorded_as_held_from_their_event_or_from_then(
    empty_database_url: str,
) -> None:
    """0008: a grant whose latest role.grant/role.revoke event is a grant takes that event's
    time and actor; one put back after a revocation, or never recorded, the migration's."""
    config = tortoise_config(empty_database_url)
    await migrate(config=config, target="models.0007_audit_log")
    await Tortoise.close_connections()
    granted = datetime(2024, 1, 2, 9, tzinfo=UTC)
    await Tortoise.init(config=config)
    try:
        county = await county_before_geometry()
        admin, kept, restored, loaded = [
            await User.create(username=name, password_hash="x")
            for name in ("admin", "kept", "restored", "loaded")
        ]
        await CasbinRule.create(ptype="p", v0="inspector", v1="*", v2="task", v3="read")
        for user in (kept, restored, loaded):
            await CasbinRule.create(
                ptype="g", v0=f"user:{user.id}", v1="inspector", v2=f"{county.path}*"
            )
        await CasbinRule.create(ptype="g", v0="group:7", v1="inspector", v2=f"{county.path}*")
        facts = {"role": "inspector", "unit": county.path}
        for seq, (action, user) in enumerate(
            [("role.grant", kept), ("role.grant", restored), ("role.revoke", restored)], 1
        ):
            key = "after" if action == "role.grant" else "before"
            await AuditEvent.create(
                seq=seq,
                leaf_index=seq - 1,
                at=granted,
                action=action,
                entity_type="user",
                entity_id=str(user.id),
                actor_id=admin.id,
                org_path=county.path,
                **{key: facts | {"user_id": user.id}},
                prev_hash="0" * 64,
                hash=str(seq) * 64,
            )
    finally:
        await Tortoise.close_connections()
    started = datetime.now(UTC)

    await apply_migrations(empty_database_url)

    await Tortoise.init(config=config)
    try:
        rows = await GrantHistory.all().order_by("id")
        lines = await RolePolicyHistory.all()
    finally:
        await Tortoise.close_connections()
    assert [(r.user_id, r.role, r.path, r.unit_id, r.revoked_at) for r in rows] == [
        (user.id, "inspector", county.path, county.id, None) for user in (kept, restored, loaded)
    ]
    assert (rows[0].granted_at, rows[0].granted_by_id) == (granted, admin.id)
    for row in rows[1:]:
        assert row.granted_at >= started and row.granted_by_id is None
    assert [(x.role, x.level, x.resource, x.action, x.removed_at) for x in lines] == [
        ("inspector", "*", "task", "read", None)
    ]
    assert lines[0].added_at == rows[1].granted_at  # the migration's one moment


# -- 0009: the dashboards' counters are filled from what is stored ---------------------------

TASK_COUNTERS = importlib.import_module("models.migrations.0009_task_counters")


async def test_the_counters_are_filled_from_the_tasks_and_observations_stored(
    tree: Tree,
) -> None:
    """The tree's tasks and some observations, written straight in: the migration counts
    them exactly as the write paths would have."""
    await TaskCount.all().delete()
    await TaskDueCount.all().delete()
    await Task.filter(id=tree.tasks["grid_a"].id).update(
        status=TaskStatus.VERIFIED, due_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    await Task.filter(id=tree.tasks["zhaxi"].id).update(due_at=datetime(2020, 1, 1, tzinfo=UTC))
    metric = await Indicator.create(code="fish", name="Fish", unit="fish")
    for unit, value in (("grid_a", "1.25"), ("shilong", "2"), ("qixing", "7.0001")):
        await Observation.create(
            indicator=metric,
            org_unit=tree.units[unit],
            period=date(2024, 1, 1),
            value=Decimal(value),
        )
    conn = connections.get("default")

    await TASK_COUNTERS.count_what_is_stored(None, Editor())

    assert await task_counters.drift(conn) == []
    assert await indicator_sums.drift(conn) == []
    assert await TaskCount.filter(n__gt=0).count() == 14  # one status per unit: 13 + VERIFIED
    weixin = await IndicatorSum.get(org_unit_id=tree.units["weixin"].id)
    assert (weixin.total_e4, weixin.n) == (32500, 2)


async def test_units_stored_before_geometry_keep_everything_and_have_none(
    empty_database_url: str,
) -> None:
    """0011: the units already stored read back with a null geometry; a record's flag reason
    holds the 400 characters every reason at once may take."""
    config = tortoise_config(empty_database_url)
    await migrate(config=config, target="models.0010_subtree_indexes")
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    try:
        county = await county_before_geometry()
    finally:
        await Tortoise.close_connections()

    await apply_migrations(empty_database_url)

    await Tortoise.init(config=config)
    try:
        stored = await OrgUnit.get(id=county.id)
        assert (stored.code, stored.path, stored.geometry) == ("c", county.path, None)
        stored.geometry = {"type": "Point", "coordinates": [105.0, 27.8]}
        await stored.save(update_fields=["geometry"])
        record = await AccountabilityRecord.create(
            type=RecordType.PATROL,
            org_unit_id=county.id,
            occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
            flagged=True,
            flag_reason="r" * 400,
        )
        assert len((await AccountabilityRecord.get(id=record.id)).flag_reason) == 400
        assert (await OrgUnit.get(id=county.id)).geometry == {
            "type": "Point",
            "coordinates": [105.0, 27.8],
        }
    finally:
        await Tortoise.close_connections()


# -- 0014: the quota tasks already stored count the year they were created in ---------------

QUOTA_PERIODS = importlib.import_module("models.migrations.0014_quota_periods")


async def test_a_stored_quota_gets_the_calendar_year_of_its_creation_in_china(tree: Tree) -> None:
    """A quota created on 31 December at 20:00 UTC was created on 1 January in Yunnan."""
    created = {
        "zhaxi": datetime(2025, 6, 1, 2, tzinfo=UTC),
        "shilong": datetime(2025, 12, 31, 20, tzinfo=UTC),
    }
    for name, moment in created.items():
        await Task.filter(id=tree.tasks[name].id).update(
            quota_target=6, quota_record_type=RecordType.PATROL, created_at=moment
        )

    await QUOTA_PERIODS.give_each_quota_its_year(None, Editor())

    periods = {
        name: (task.quota_from, task.quota_to)
        for name in ("zhaxi", "shilong", "dahetan")
        for task in [await Task.get(id=tree.tasks[name].id)]
    }
    assert periods == {
        "zhaxi": (date(2025, 1, 1), date(2025, 12, 31)),
        "shilong": (date(2026, 1, 1), date(2026, 12, 31)),
        "dahetan": (None, None),  # no quota, no period
    }
