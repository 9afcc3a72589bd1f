"""Materialized paths compare byte by byte on PostgreSQL, whatever the database collation.

Subtree filters are half-open ranges (``path >= '/1/5/' AND path < '/1/50'``), which are only
right under byte order. SQLite compares text bytewise already.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

PATH_COLUMNS = (("org_unit", "path"), ("audit_event", "org_path"))


async def use_c_collation(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    for table, column in PATH_COLUMNS:
        await client.execute_script(
            f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE VARCHAR(255) COLLATE "C"'
        )


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(use_c_collation, ops.RunPython.noop)]
