from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_task_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Task',
            name='upstream_api',
            field=fields.CharField(default='v1', db_default='v1', max_length=4),
        ),
    ]
