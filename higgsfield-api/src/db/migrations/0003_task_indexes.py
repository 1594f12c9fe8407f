from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_lifecycle_and_limits')]

    initial = False

    # The new index first: on MySQL the tasks.client_id foreign key needs an index that starts
    # with client_id at every moment, so the old one can only go once the new one exists.
    operations = [
        ops.AddIndex(
            model_name='Task',
            index=Index(fields=['client_id', 'created_at', 'id']),
        ),
        ops.RemoveIndex(
            model_name='Task',
            name=None,
            fields=['client_id', 'created_at'],
        ),
        ops.AddIndex(
            model_name='Task',
            index=Index(fields=['status', 'lease_until']),
        ),
    ]
