"""The outbox of reminders and notices (``models.notification``): one row per recipient."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.notification import NotificationKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [("models", "0017_basin_units")]

    initial = False

    operations = [
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('recipient', fields.ForeignKeyField('models.User', source_field='recipient_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='TASK_ASSIGNED: TASK_ASSIGNED\nTASK_URGED: TASK_URGED\nTASK_OVERDUE: TASK_OVERDUE\nTASK_RETURNED: TASK_RETURNED\nCOMPLAINT_RECEIVED: COMPLAINT_RECEIVED\nCLEANUP_DAY: CLEANUP_DAY', enum_type=NotificationKind, max_length=24)),
                ('task', fields.ForeignKeyField('models.Task', source_field='task_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.SET_NULL)),
                ('org_unit', fields.ForeignKeyField('models.OrgUnit', source_field='org_unit_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.SET_NULL)),
                ('title', fields.CharField(max_length=200)),
                ('body', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('dedup_key', fields.CharField(null=True, unique=True, max_length=160)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'indexes': [Index(fields=['recipient_id', 'id']), Index(fields=['task_id', 'kind'])], 'pk_attr': 'id', 'table_description': 'Reminders and notices to accounts: the outbox the webhook drains.'},
            bases=['Model'],
        ),
    ]
