"""Newest-first pages that follow the viewer's subtree, not the table.

A unit's tasks by id and a unit path's audit events by sequence number: a page of a subtree's
newest rows reads each unit's newest few (``resolvers.subtree_pages``) instead of scanning the
whole table backwards past every other county's newer rows.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [('models', '0009_task_counters')]

    initial = False

    operations = [
        ops.AddIndex(model_name='Task', index=Index(fields=['org_unit_id', 'id'])),
        ops.AddIndex(model_name='AuditEvent', index=Index(fields=['org_path', 'seq'])),
    ]
