"""The dashboards' counters and the indicator sums, filled from the data already stored.

``task_count`` (tasks per unit and status), ``task_due_count`` (open tasks per unit and due
day, UTC) and ``indicator_sum`` (observations per indicator, subtree, period and dimension,
in ten-thousandths) are counted here from the task and observation tables. The recount is
``resolvers.task_counters`` and ``resolvers.indicator_sums``'s, written out here so that the
migration keeps meaning what it meant when it was written.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import TaskStatus
from tortoise import fields
from tortoise.indexes import Index

OPEN = "'ASSIGNED', 'DRAFT', 'IN_PROGRESS', 'REJECTED', 'SUBMITTED'"


async def count_what_is_stored(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    day = "(due_at AT TIME ZONE 'UTC')::date" if postgres else "substr(due_at, 1, 10)"
    integer = "BIGINT" if postgres else "INTEGER"
    await client.execute_query(
        "INSERT INTO task_count (org_unit_id, status, n)"
        " SELECT org_unit_id, status, COUNT(*) FROM task GROUP BY org_unit_id, status"
    )
    await client.execute_query(
        "INSERT INTO task_due_count (org_unit_id, due_day, n)"
        f" SELECT org_unit_id, {day}, COUNT(*) FROM task"
        f" WHERE due_at IS NOT NULL AND status IN ({OPEN}) GROUP BY org_unit_id, {day}"
    )
    await client.execute_query(
        "INSERT INTO indicator_sum (indicator_id, org_unit_id, period, dimension, total_e4, n)"
        " SELECT o.indicator_id, a.id, o.period, o.dimension,"
        f" SUM(CAST(round(o.value * 10000) AS {integer})), COUNT(*)"
        " FROM observation o JOIN org_unit u ON u.id = o.org_unit_id"
        " JOIN org_unit a ON u.path >= a.path"
        " AND u.path < substr(a.path, 1, length(a.path) - 1) || '0'"
        " GROUP BY o.indicator_id, a.id, o.period, o.dimension"
    )



class Migration(migrations.Migration):
    dependencies = [('models', '0008_grant_history')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IndicatorSum',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('indicator_id', fields.IntField()),
                ('org_unit_id', fields.IntField()),
                ('period', fields.DateField()),
                ('dimension', fields.CharField(default='', max_length=100)),
                ('total_e4', fields.BigIntField(default=0)),
                ('n', fields.IntField(default=0)),
            ],
            options={'table': 'indicator_sum', 'app': 'models', 'unique_together': (('indicator_id', 'org_unit_id', 'period', 'dimension'),), 'indexes': [Index(fields=['org_unit_id', 'indicator_id'])], 'pk_attr': 'id', 'table_description': 'Observations added up per indicator, subtree, period and dimension.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TaskCount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('org_unit_id', fields.IntField()),
                ('status', fields.CharEnumField(description='DRAFT: DRAFT\nASSIGNED: ASSIGNED\nIN_PROGRESS: IN_PROGRESS\nSUBMITTED: SUBMITTED\nREJECTED: REJECTED\nVERIFIED: VERIFIED\nCANCELLED: CANCELLED', enum_type=TaskStatus, max_length=16)),
                ('n', fields.IntField(default=0)),
            ],
            options={'table': 'task_count', 'app': 'models', 'unique_together': (('org_unit_id', 'status'),), 'pk_attr': 'id', 'table_description': "How many tasks a unit holds in one status: the dashboards' counters."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TaskDueCount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('org_unit_id', fields.IntField()),
                ('due_day', fields.DateField()),
                ('n', fields.IntField(default=0)),
            ],
            options={'table': 'task_due_count', 'app': 'models', 'unique_together': (('org_unit_id', 'due_day'),), 'indexes': [Index(fields=['due_day', 'org_unit_id'])], 'pk_attr': 'id', 'table_description': 'How many open tasks of a unit fall due on one day (UTC): overdue, summed over days.'},
            bases=['Model'],
        ),
        ops.RunPython(count_what_is_stored, ops.RunPython.noop),
    ]
