"""Links of two new kinds: ``BASIN``, a basin committee (流域大党委) and its basin, whose grants
cover every unit the basin's water bodies run through (``policies.engine``); and
``KEY_PROJECT``, a county leader (``org_link.person``) holding a key project at the unit
(三挂三包)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.enums import LinkKind


class Migration(migrations.Migration):
    dependencies = [("models", "0016_reported_tasks")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="OrgLink",
            name="kind",
            field=fields.CharEnumField(
                description="CO_BUILDING: CO_BUILDING\nRIVER_PAIRING: RIVER_PAIRING\n"
                "RESPONSIBILITY: RESPONSIBILITY\nBASIN: BASIN\nKEY_PROJECT: KEY_PROJECT",
                enum_type=LinkKind,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="OrgLink",
            name="person",
            field=fields.ForeignKeyField(
                "models.Person",
                source_field="person_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="held_links",
                on_delete=OnDelete.CASCADE,
            ),
        ),
    ]
