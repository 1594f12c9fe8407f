from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0010_upstream_job_id')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Task',
            name='output_attempts',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Task',
            name='output_bytes',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Task',
            name='output_claim',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Task',
            name='output_error',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Task',
            name='output_next_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Task',
            name='output_state',
            field=fields.CharField(null=True, max_length=8),
        ),
        ops.AddField(
            model_name='Task',
            name='output_stored_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Task',
            index=Index(fields=['output_state', 'output_next_at']),
        ),
        ops.AddIndex(
            model_name='Task',
            index=Index(fields=['output_state', 'output_stored_at']),
        ),
    ]
