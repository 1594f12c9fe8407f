from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Logins become unique without regard to case: clients.login_key holds LOWER(login) under a
# unique index, and every lookup goes through it. Logins are ASCII ([A-Za-z0-9_.@-]), where
# SQL's LOWER() is Python's str.lower() (src/db/models/clients.py: login_key).
#
# A database may already hold logins that differ only in case (SQLite compared them with case):
# the migration then stops before it changes anything, naming them, and the operator decides
# which client keeps the login. Nothing is merged or renamed silently.


async def refuse_logins_differing_only_in_case(apps, schema_editor) -> None:
    _, rows = await schema_editor.client.execute_query("SELECT login FROM clients")
    by_key: dict[str, list[str]] = {}
    for row in rows:
        login = row["login"]
        by_key.setdefault(login.lower(), []).append(login)
    clashes = sorted(sorted(logins) for logins in by_key.values() if len(logins) > 1)
    if clashes:
        named = "; ".join(" and ".join(repr(login) for login in logins) for logins in clashes)
        raise RuntimeError(
            f"logins are now unique without regard to case, but these clients differ only in case: "
            f"{named}. Rename all but one of each (UPDATE clients SET login = '<new login>' "
            f"WHERE login = '<old login>'), then run the migration again"
        )


async def fill_login_keys(apps, schema_editor) -> None:
    await schema_editor.client.execute_query("UPDATE clients SET login_key = LOWER(login)")


class Migration(migrations.Migration):
    dependencies = [('models', '0004_upstream_api')]

    initial = False

    # The check first: on MySQL a schema change cannot be rolled back, so nothing may change
    # before it. The column is added empty (NULLs never clash), then filled.
    operations = [
        ops.RunPython(refuse_logins_differing_only_in_case),
        ops.AddField(
            model_name='Client',
            name='login_key',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
        ops.RunPython(fill_login_keys),
    ]
