from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Client',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('login', fields.CharField(unique=True, max_length=64)),
                ('password_hash', fields.CharField(max_length=255)),
                ('webhook_secret', fields.CharField(max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('disabled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_dispatched_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'clients', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('models.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='api_keys', on_delete=OnDelete.CASCADE)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_keys', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Motion',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('name', fields.CharField(unique=True, max_length=128)),
                ('title', fields.CharField(max_length=255)),
                ('description', fields.TextField(null=True, unique=False)),
                ('preview_url', fields.TextField(null=True, unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'motions', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Task',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('models.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharField(db_index=True, max_length=16)),
                ('prompt', fields.TextField(unique=False)),
                ('motion', fields.CharField(max_length=128)),
                ('motion_id', fields.CharField(max_length=64)),
                ('model', fields.CharField(max_length=16)),
                ('duration', fields.SmallIntField()),
                ('metadata', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('motion_strength', fields.FloatField()),
                ('seed', fields.IntField(null=True)),
                ('enhance_prompt', fields.BooleanField(default=False)),
                ('image_url', fields.TextField(null=True, unique=False)),
                ('job_set_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('video_url', fields.TextField(null=True, unique=False)),
                ('thumbnail_url', fields.TextField(null=True, unique=False)),
                ('error', fields.TextField(null=True, unique=False)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('lease_owner', fields.CharField(null=True, db_index=True, max_length=64)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('submitted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'tasks', 'app': 'models', 'indexes': [Index(fields=['client_id', 'created_at']), Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TaskImage',
            fields=[
                ('task', fields.OneToOneField('models.Task', source_field='task_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='image', on_delete=OnDelete.CASCADE)),
                ('content_type', fields.CharField(max_length=32)),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'task_images', 'app': 'models', 'pk_attr': 'task_id', 'table_description': "The client's image, kept until Higgsfield has it, then deleted."},
            bases=['Model'],
        ),
    ]
