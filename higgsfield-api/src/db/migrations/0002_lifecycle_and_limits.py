from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CallbackAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('task', fields.ForeignKeyField('models.Task', source_field='task_id', db_constraint=True, to_field='id', related_name='callback_attempt_log', on_delete=OnDelete.CASCADE)),
                ('attempted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status_code', fields.IntField(null=True)),
                ('error', fields.CharField(null=True, max_length=255)),
            ],
            options={'table': 'callback_attempts', 'app': 'models', 'pk_attr': 'id', 'table_description': "One delivery attempt of a task's callback: when, and what the receiver answered."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('models.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='idempotency_keys', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=255)),
                ('fingerprint', fields.CharField(max_length=64)),
                ('task', fields.ForeignKeyField('models.Task', source_field='task_id', db_constraint=True, to_field='id', related_name='idempotency_keys', on_delete=OnDelete.CASCADE)),
                ('status_code', fields.IntField()),
                ('response', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'idempotency_keys', 'app': 'models', 'unique_together': (('client_id', 'key'),), 'pk_attr': 'id', 'table_description': 'The first answer to a create with an Idempotency-Key, replayed for 24 hours.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginFailure',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('login', fields.CharField(db_index=True, max_length=64)),
                ('failed_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_failures', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A failed login, counted per login over a sliding window (holds across processes).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WorkerLease',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('owner', fields.CharField(null=True, max_length=64)),
                ('until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cap_busy', fields.IntField(null=True)),
                ('cap_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'worker_leases', 'app': 'models', 'pk_attr': 'name', 'table_description': 'A named lease only one process holds at a time (e.g. the dispatcher, so that the'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Task',
            name='callback_attempts',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Task',
            name='callback_delivered',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Task',
            name='callback_due_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Task',
            name='callback_last_status',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Task',
            name='callback_url',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AlterModelOptions(
            name='TaskImage',
            options={'table': 'task_images', 'app': 'models', 'pk_attr': 'task_id', 'table_description': "The client's image, kept until Higgsfield has it, then deleted."},
        ),
    ]
