"""``org_link.kind`` gains ``BASIN``: a basin committee (流域大党委) linked to its basin, whose
grants cover every unit the basin's water bodies run through (``policies.engine``)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.enums import LinkKind


class Migration(migrations.Migration):
    dependencies = [("models", "0012_observation_periods")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="OrgLink",
            name="kind",
            field=fields.CharEnumField(
                description="CO_BUILDING: CO_BUILDING\nRIVER_PAIRING: RIVER_PAIRING\n"
                "RESPONSIBILITY: RESPONSIBILITY\nBASIN: BASIN",
                enum_type=LinkKind,
                max_length=16,
            ),
        ),
    ]
