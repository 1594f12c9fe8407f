from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_output_copies')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Client',
            name='callback_url',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Task',
            name='retry_of',
            field=fields.UUIDField(null=True),
        ),
    ]
