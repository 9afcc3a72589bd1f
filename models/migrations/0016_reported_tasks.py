"""The upward loop: where a task came from (``origin``), who reported it (``reporter``,
``reported_by``), the feedback it was closed with, what it was reported from (a record, a water
body, a place, evidence), the task a hand-over takes over (``hand_over_of``), and one row per
task and stage escalated for overstaying its time limit (``task_time_limit_escalation``).
Every task already stored was handed down: ``origin`` ISSUED.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import TaskOrigin
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [("models", "0015_shown_details")]

    initial = False

    operations = [
        ops.CreateModel(
            name='TimeLimitEscalation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('task_id', fields.IntField()),
                ('stage', fields.CharField(max_length=16)),
                ('record_id', fields.IntField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'task_time_limit_escalation', 'app': 'models', 'unique_together': (('task_id', 'stage'),), 'pk_attr': 'id', 'table_description': "A REPORTED (or complaint) task that overstayed one stage's time limit, escalated once."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Task',
            name='evidence_ids',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Task',
            name='feedback',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Task',
            name='hand_over_of',
            field=fields.ForeignKeyField('models.Task', source_field='hand_over_of_id', null=True, db_constraint=True, to_field='id', related_name='hand_overs', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Task',
            name='location',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Task',
            name='origin',
            field=fields.CharEnumField(default=TaskOrigin.ISSUED, description='ISSUED: ISSUED\nREPORTED: REPORTED\nCOMPLAINT: COMPLAINT', enum_type=TaskOrigin, max_length=16),
        ),
        ops.AddField(
            model_name='Task',
            name='reported_by',
            field=fields.ForeignKeyField('models.User', source_field='reported_by_id', null=True, db_constraint=True, to_field='id', related_name='reported_tasks', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Task',
            name='reporter',
            field=fields.ForeignKeyField('models.Person', source_field='reporter_id', null=True, db_constraint=True, to_field='id', related_name='reported_tasks', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Task',
            name='source_record_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Task',
            name='water_body_id',
            field=fields.IntField(null=True),
        ),
    ]
