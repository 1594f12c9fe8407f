from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_logins_without_case')]

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
