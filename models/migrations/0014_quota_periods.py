"""A quota task keeps the period its records are counted in.

``task.quota_from`` and ``task.quota_to``: the first and last day (China Standard Time) of the
period; null for a task without a quota. The quota tasks already stored get the calendar year
they were created in, which is what a new task without a period of its own gets.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def give_each_quota_its_year(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        year = "CAST(EXTRACT(YEAR FROM (created_at AT TIME ZONE 'UTC') + INTERVAL '8 hours') AS INT)"
        await client.execute_query(
            f"UPDATE task SET quota_from = make_date({year}, 1, 1),"
            f" quota_to = make_date({year}, 12, 31) WHERE quota_target IS NOT NULL"
        )
        return
    year = "strftime('%Y', created_at, '+8 hours')"
    await client.execute_query(
        f"UPDATE task SET quota_from = {year} || '-01-01', quota_to = {year} || '-12-31'"
        " WHERE quota_target IS NOT NULL"
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0013_evidence")]

    initial = False

    operations = [
        ops.AddField(model_name="Task", name="quota_from", field=fields.DateField(null=True)),
        ops.AddField(model_name="Task", name="quota_to", field=fields.DateField(null=True)),
        ops.RunPython(give_each_quota_its_year, ops.RunPython.noop),
    ]
