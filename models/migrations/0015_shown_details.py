"""Records keep their details as the graph shows them (``models.record_shown``).

``accountability_record.details_shown``: written with each record from now on; filled here
for the records already stored, in batches, from their stored ``details``.
"""

import json
from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.record_shown import shown_details

BATCH = 1000


async def show_stored_details(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    mark = ("$1", "$2") if postgres else ("?", "?")
    cast = "::jsonb" if postgres else ""
    last = 0
    while True:
        rows = await client.execute_query_dict(
            "SELECT id, details FROM accountability_record WHERE id > "
            f"{int(last)} ORDER BY id LIMIT {BATCH}"
        )
        if not rows:
            return
        for row in rows:
            stored = row["details"]
            details = json.loads(stored) if isinstance(stored, str) else (stored or {})
            shown = json.dumps(shown_details(details), ensure_ascii=False)
            await client.execute_query(
                f"UPDATE accountability_record SET details_shown = {mark[0]}{cast}"
                f" WHERE id = {mark[1]}",
                [shown, row["id"]],
            )
        last = rows[-1]["id"]


class Migration(migrations.Migration):
    dependencies = [("models", "0014_quota_periods")]

    initial = False

    operations = [
        ops.AddField(
            model_name="AccountabilityRecord",
            name="details_shown",
            field=fields.JSONField(null=True),
        ),
        ops.RunPython(show_stored_details, ops.RunPython.noop),
    ]
