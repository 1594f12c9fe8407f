from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_upstream_api')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Task',
            name='image_key',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Task',
            name='image_type',
            field=fields.CharField(null=True, max_length=32),
        ),
    ]
