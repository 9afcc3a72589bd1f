"""The committed migrations match the models, and they build a working schema."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from core.db import apply_migrations, tortoise_config
from models.enums import OrgLevel
from models.org import OrgUnit
from tests.conftest import ON_POSTGRES


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
