"""Records name the unit whose authority they were filed under, and record types are rights.

``accountability_record.authority_unit_id``: the unit of the grant that allowed the record
(null for the records already stored). An installation whose role policy is already in the
database has its `record, create` and `finding, create` lines split into the per-type rights
of the shipped policy (``policies/roles.csv``), frozen here as they were when records became
rights: a new installation is seeded from ``roles.csv`` itself.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

JUDGING = ("patrol", "cleanup", "pledge", "assessment", "reward", "penalty")
FIELD_WORK = ("patrol", "cleanup", "pledge")
# What each role's `record, create` line becomes; a role not named files field work only.
RECORD_TYPES_OF = {
    "county_admin": JUDGING,
    "township_head": JUDGING,
    "village_secretary": JUDGING,
    "department_head": JUDGING,
    "grid_leader": FIELD_WORK,
    "enterprise_chief": FIELD_WORK,
}
# Inspectors alone file findings: a county admin's `finding, create` line goes.
NO_FINDINGS = frozenset({"county_admin"})


def _placeholders(client: Any, count: int, start: int = 1) -> list[str]:
    if client.capabilities.dialect == "postgres":
        return [f"${n}" for n in range(start, start + count)]
    return ["?"] * count


async def _rules(client: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await client.execute_query_dict(
        "SELECT id, v0, v1, v2, v3 FROM casbin_rule WHERE ptype = 'p' ORDER BY id"
    )
    return rows


async def _replace(client: Any, old: list[int], new: list[tuple[str, str, str, str]]) -> None:
    for rule_id in old:
        (mark,) = _placeholders(client, 1)
        await client.execute_query(f"DELETE FROM casbin_rule WHERE id = {mark}", [rule_id])
    for rule in dict.fromkeys(new):
        marks = ", ".join(_placeholders(client, 4))
        await client.execute_query(
            "INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5)"
            f" VALUES ('p', {marks}, '', '')",
            list(rule),
        )


async def split_record_rights(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    rules = await _rules(client)
    present = {(r["v0"], r["v1"], r["v2"], r["v3"]) for r in rules}
    old: list[int] = []
    new: list[tuple[str, str, str, str]] = []
    for rule in rules:
        role, level, resource, action = rule["v0"], rule["v1"], rule["v2"], rule["v3"]
        if action != "create" or resource not in ("record", "finding"):
            continue
        old.append(rule["id"])
        if resource == "record":
            kinds = RECORD_TYPES_OF.get(role, ("patrol", "cleanup"))
            new += [(role, level, f"record.{kind}", "create") for kind in kinds]
        elif role not in NO_FINDINGS:
            new.append((role, level, "record.finding", "create"))
    await _replace(client, old, [rule for rule in new if rule not in present])


async def join_record_rights(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    rules = await _rules(client)
    present = {(r["v0"], r["v1"], r["v2"], r["v3"]) for r in rules}
    old: list[int] = []
    new: list[tuple[str, str, str, str]] = []
    for rule in rules:
        role, level, resource, action = rule["v0"], rule["v1"], rule["v2"], rule["v3"]
        if action != "create" or not resource.startswith("record."):
            continue
        old.append(rule["id"])
        joined = "finding" if resource == "record.finding" else "record"
        new.append((role, level, joined, "create"))
    await _replace(client, old, [rule for rule in new if rule not in present])


class Migration(migrations.Migration):
    dependencies = [("models", "0005_audit_seq")]

    initial = False

    operations = [
        ops.AddField(
            model_name="AccountabilityRecord",
            name="authority_unit",
            field=fields.ForeignKeyField(
                "models.OrgUnit",
                source_field="authority_unit_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="authorised_records",
                on_delete=OnDelete.RESTRICT,
            ),
        ),
        ops.RunPython(split_record_rights, join_record_rights),
    ]
