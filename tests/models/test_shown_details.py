"""A record's details as the graph shows them are written with the record, and filled in
for the records stored before there was a column for them (0015_shown_details)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate

from core.db import apply_migrations, tortoise_config
from models.enums import RecordType
from models.record import AccountabilityRecord
from models.record_shown import shown_details
from schema.node import to_global_id
from tests.models.test_migrations import county_before_geometry

ASSESSMENT = {
    "criteria": [{"name": "巡河", "max": 10, "awarded": 8, "evidence": [3, 4]}],
    "total_score": 8,
}
ESCALATION = {"due_at": "2026-05-01T00:00:00+00:00", "days_overdue": 3, "issuer_unit_id": 7}


def test_the_shown_details_rename_keys_at_every_depth_and_make_references_global() -> None:
    assert shown_details(ASSESSMENT) == {
        "criteria": [
            {
                "name": "巡河",
                "maxScore": 10,
                "awarded": 8,
                "evidenceIds": [to_global_id("Record", 3), to_global_id("Record", 4)],
            }
        ],
        "totalScore": 8,
    }
    assert shown_details(ESCALATION)["issuerUnitId"] == to_global_id("OrgUnit", 7)


async def test_records_stored_before_the_column_are_shown_after_the_migration(
    empty_database_url: str,
) -> None:
    config = tortoise_config(empty_database_url)
    await migrate(config=config, target="models.0012_observation_periods")
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    try:
        county = await county_before_geometry()
        conn = connections.get("default")
        postgres = conn.capabilities.dialect == "postgres"
        marks = ", ".join(f"${n}" if postgres else "?" for n in range(1, 5))
        for details in (ASSESSMENT, ESCALATION, {}):
            await conn.execute_query(
                "INSERT INTO accountability_record (type, org_unit_id, occurred_at, details,"  # noqa: S608 (placeholders only)
                " summary, flagged, flag_reason, created_at) VALUES"
                f" ({marks}, '', false, '', CURRENT_TIMESTAMP)",
                [
                    RecordType.ASSESSMENT.value,
                    county.id,
                    datetime(2026, 5, 1, tzinfo=UTC) if postgres else "2026-05-01 00:00:00+00:00",
                    json.dumps(details, ensure_ascii=False),
                ],
            )
    finally:
        await Tortoise.close_connections()

    await apply_migrations(empty_database_url)

    await Tortoise.init(config=config)
    try:
        stored = await AccountabilityRecord.all().order_by("id")
        assert [r.details_shown for r in stored] == [
            shown_details(ASSESSMENT),
            shown_details(ESCALATION),
            {},
        ]
        created = await AccountabilityRecord.create(
            type=RecordType.ESCALATION,
            org_unit_id=county.id,
            occurred_at=datetime(2026, 6, 1, tzinfo=UTC),
            details=ESCALATION,
        )
        assert (await AccountabilityRecord.get(id=created.id)).details_shown == shown_details(
            ESCALATION
        )
    finally:
        await Tortoise.close_connections()
