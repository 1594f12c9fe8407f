from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Tasks now carry the Higgsfield account they are sent with (HF_ACCOUNTS). Before this migration
# the service had one account, HF_API_KEY/HF_API_SECRET (or the sandbox), which is now the
# account named `default`: every task already sent (or being sent) is given that name, so it is
# still polled and canceled with the credentials it was sent with. Pending tasks get their
# account when they are sent. The dispatcher's state becomes a row per account: the old row of
# the single account, `dispatch`, only held sends back for a while and is dropped.
# The name is written out here, not imported, so that the migration stays what it was.

SHORTHAND_ACCOUNT = "default"


async def assign_sent_tasks(apps, schema_editor) -> None:
    client = schema_editor.client
    mark = "?" if client.capabilities.dialect == "sqlite" else "%s"
    await client.execute_query(
        f"UPDATE tasks SET upstream_account = {mark} "
        f"WHERE upstream_job_id IS NOT NULL OR status = {mark}",
        [SHORTHAND_ACCOUNT, "submitting"],
    )
    await client.execute_query(f"DELETE FROM dispatch_state WHERE name = {mark}", ["dispatch"])


class Migration(migrations.Migration):
    dependencies = [('models', '0012_client_callback_and_retry')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Task',
            name='upstream_account',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.CreateModel(
            name='AccountState',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('paused_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=255)),
                ('last_error_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account_states', 'app': 'models', 'pk_attr': 'name', 'table_description': "A Higgsfield account's health, shared by every process: paused since `paused_at` when"},
            bases=['Model'],
        ),
        ops.RunPython(assign_sent_tasks),
    ]
