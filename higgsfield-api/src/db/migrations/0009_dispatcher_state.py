from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_answerable_metadata')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DispatchState',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('full_at', fields.IntField(null=True)),
                ('full_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dispatch_state', 'app': 'models', 'pk_attr': 'name', 'table_description': "What the dispatcher remembers between rounds, shared by every process: Higgsfield's"},
            bases=['Model'],
        ),
        ops.RemoveField(model_name='WorkerLease', name='cap_busy'),
        ops.RemoveField(model_name='WorkerLease', name='cap_until'),
    ]
