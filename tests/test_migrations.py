"""The committed migrations match the models, and they build a working schema."""

from __future__ import annotations

from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from app.db import apply_migrations, tortoise_config
from models.enums import OrgLevel
from models.org import OrgUnit
from tests.conftest import ON_POSTGRES


async def test_models_have_no_changes_missing_a_migration(db: TortoiseContext) -> None:
    apps_config = tortoise_config("sqlite://:memory:")["apps"]

    writers = await MigrationAutodetector(db.apps, apps_config).changes()

    pending = [str(w.name) for w in writers]
    assert pending == [], f"run `tortoise -c app.db.TORTOISE_ORM makemigrations`: {pending}"


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
