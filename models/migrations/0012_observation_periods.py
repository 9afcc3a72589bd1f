"""Observations carry the last day of their period, and the clean-up record that fed them.

``observation.period_end``: null for the observations already stored (their period is given
by its first day only). ``observation.record_id``: the clean-up record whose details
(``garbage_kg``, ``participants``) became the observation, so that a correction of the record
replaces them; null for reported observations and those already stored.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0011_geometry")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Observation",
            name="period_end",
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name="Observation",
            name="record",
            field=fields.ForeignKeyField(
                "models.AccountabilityRecord",
                source_field="record_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="observations",
                on_delete=OnDelete.RESTRICT,
            ),
        ),
    ]
