"""Evidence uploads and the records that cite them.

``evidence``: one row per upload (its SHA-256, sniffed media type, size, the time and place
its EXIF says, and its uploader); the file itself is kept once on disk under its digest
(``RIVERCHIEF_EVIDENCE_DIR``). ``record_evidence``: which record cites which evidence.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_observation_periods')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Evidence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sha256', fields.CharField(db_index=True, max_length=64)),
                ('content_type', fields.CharField(max_length=64)),
                ('size', fields.IntField()),
                ('taken_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lon', fields.FloatField(null=True)),
                ('lat', fields.FloatField(null=True)),
                ('uploader', fields.ForeignKeyField('models.User', source_field='uploader_id', null=True, db_constraint=True, to_field='id', related_name='evidence', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'evidence', 'app': 'models', 'unique_together': (('sha256', 'uploader'),), 'pk_attr': 'id', 'table_description': 'One upload: a content and the account that uploaded it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RecordEvidence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('record', fields.ForeignKeyField('models.AccountabilityRecord', source_field='record_id', db_constraint=True, to_field='id', related_name='evidence_links', on_delete=OnDelete.RESTRICT)),
                ('evidence', fields.ForeignKeyField('models.Evidence', source_field='evidence_id', db_constraint=True, to_field='id', related_name='citations', on_delete=OnDelete.RESTRICT)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'record_evidence', 'app': 'models', 'unique_together': (('record', 'evidence'),), 'pk_attr': 'id', 'table_description': 'A record citing an evidence item.'},
            bases=['Model'],
        ),
    ]
