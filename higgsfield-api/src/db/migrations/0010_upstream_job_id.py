from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0009_dispatcher_state')]

    initial = False

    operations = [
        ops.RenameField(model_name='Task', old_name='job_set_id', new_name='upstream_job_id'),
    ]
