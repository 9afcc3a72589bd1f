"""Grant and role-policy history: every grant and permission line with when it took effect
and when it ended, so that a past decision can be rebuilt with the policy of its day.

The grants and permission lines in force when this runs are recorded as held from then on:
a grant's ``granted_at`` and ``granted_by`` come from its ``role.grant`` audit event where the
latest event about that account, role and unit is one, otherwise they are this migration's
time and nobody. The rule is ``policies.history.adopt_untracked_grants``'s, written out here
so that the migration keeps meaning what it meant when it was written.
"""

import json
from datetime import UTC, datetime
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


def _when(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _facts(value: Any) -> dict[str, Any] | None:
    facts = json.loads(value) if isinstance(value, str) else value
    return facts if isinstance(facts, dict) else None


async def record_what_is_in_force(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    CasbinRule = apps.get_model("models", "CasbinRule")
    AuditEvent = apps.get_model("models", "AuditEvent")
    OrgUnit = apps.get_model("models", "OrgUnit")
    GrantHistory = apps.get_model("models", "GrantHistory")
    RolePolicyHistory = apps.get_model("models", "RolePolicyHistory")
    now = datetime.now(UTC)

    lines = await CasbinRule.filter(ptype="p").using_db(client).order_by("id")
    await RolePolicyHistory.bulk_create(
        [
            RolePolicyHistory(
                role=line.v0, level=line.v1, resource=line.v2, action=line.v3, added_at=now
            )
            for line in lines
        ],
        using_db=client,
    )

    latest: dict[tuple[int, str, str], tuple[str, datetime, int | None]] = {}
    events = (
        await AuditEvent.filter(action__in=["role.grant", "role.revoke"], entity_type="user")
        .using_db(client)
        .order_by("seq")
        .values_list("action", "at", "actor_id", "before", "after")
    )
    for action, at, actor_id, before, after in events:
        facts = _facts(after if action == "role.grant" else before)
        try:
            key = (int(facts["user_id"]), str(facts["role"]), str(facts["unit"]))  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            continue
        latest[key] = (action, _when(at), actor_id)

    grants = await CasbinRule.filter(ptype="g").using_db(client).order_by("id")
    paths = {rule.v2[:-1] for rule in grants if rule.v2.endswith("*")}
    units = dict(
        await OrgUnit.filter(path__in=sorted(paths)).using_db(client).values_list("path", "id")
    )
    held = []
    for rule in grants:
        kind, _, user_id = rule.v0.partition(":")
        if kind != "user" or not user_id.isdigit() or not rule.v2.endswith("*"):
            continue  # names no account: no account ever held it
        path = rule.v2[:-1]
        action, at, actor_id = latest.get((int(user_id), rule.v1, path), ("", now, None))
        if action != "role.grant":
            at, actor_id = now, None
        held.append(
            GrantHistory(
                user_id=int(user_id),
                role=rule.v1,
                unit_id=units.get(path),
                path=path,
                granted_at=at,
                granted_by_id=actor_id,
            )
        )
    await GrantHistory.bulk_create(held, using_db=client)


class Migration(migrations.Migration):
    dependencies = [('models', '0007_audit_log')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GrantHistory',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=False, to_field='id', related_name='grant_history', on_delete=OnDelete.RESTRICT)),
                ('role', fields.CharField(max_length=128)),
                ('unit', fields.ForeignKeyField('models.OrgUnit', source_field='unit_id', null=True, db_constraint=False, to_field='id', related_name='grant_history', on_delete=OnDelete.RESTRICT)),
                ('path', fields.CharField(max_length=255)),
                ('granted_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('granted_by', fields.ForeignKeyField('models.User', source_field='granted_by_id', null=True, db_constraint=False, to_field='id', related_name='grants_made', on_delete=OnDelete.RESTRICT)),
                ('revoked_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('revoked_by', fields.ForeignKeyField('models.User', source_field='revoked_by_id', null=True, db_constraint=False, to_field='id', related_name='grants_revoked', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'grant_history', 'app': 'models', 'indexes': [Index(fields=['user_id', 'role', 'path'])], 'pk_attr': 'id', 'table_description': 'Every grant of a role at a unit, from its grant to its revocation.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RolePolicyHistory',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('role', fields.CharField(max_length=128)),
                ('level', fields.CharField(max_length=128)),
                ('resource', fields.CharField(max_length=128)),
                ('action', fields.CharField(max_length=128)),
                ('added_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('added_by', fields.ForeignKeyField('models.User', source_field='added_by_id', null=True, db_constraint=False, to_field='id', related_name='policy_lines_added', on_delete=OnDelete.RESTRICT)),
                ('removed_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('removed_by', fields.ForeignKeyField('models.User', source_field='removed_by_id', null=True, db_constraint=False, to_field='id', related_name='policy_lines_removed', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'role_policy_history', 'app': 'models', 'indexes': [Index(fields=['role', 'resource', 'action'])], 'pk_attr': 'id', 'table_description': 'Every line of the role policy, from its addition to its removal.'},
            bases=['Model'],
        ),
        ops.RunPython(record_what_is_in_force, ops.RunPython.noop),
    ]
