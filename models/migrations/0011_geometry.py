"""Units and water bodies carry where they lie, and a flagged record has room for every reason.

``org_unit.geometry`` and ``water_body.geometry``: an RFC 7946 geometry object, null where it
is not known (every row already stored). ``accountability_record.flag_reason`` grows from 200
to 400 characters: the track checks (``NO_TRACK``, ``OFF_WATER``, ``TRACK_GAP``) add their
sentences to the ones a patrol could already be flagged with.
"""

from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0010_subtree_indexes')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='AccountabilityRecord',
            name='flag_reason',
            field=fields.CharField(default='', max_length=400),
        ),
        ops.AddField(
            model_name='OrgUnit',
            name='geometry',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='WaterBody',
            name='geometry',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
