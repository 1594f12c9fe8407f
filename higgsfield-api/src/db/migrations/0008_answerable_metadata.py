import json
import math
import re

from tortoise import migrations
from tortoise.migrations import operations as ops

# Metadata is strict JSON since this migration (src/core/strict_input.py). Before it, SQLite could
# store values no JSON answer can carry: NaN and infinities, and strings with a lone surrogate
# (MySQL's JSON check refused them). Such a task broke its own GET and its client's list. This
# rewrites those values, in tasks and in the answers kept for Idempotency-Key replays: a
# non-finite number becomes null, a lone surrogate becomes U+FFFD. Every other row is untouched.
# The rules are written out here, not imported, so that the migration stays what it was.

SURROGATE = re.compile("[\ud800-\udfff]")


def _repaired(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_repaired(key): _repaired(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_repaired(item) for item in value]
    return value


def _answerable(text):
    try:
        json.dumps(json.loads(text), ensure_ascii=False, allow_nan=False).encode()
        return True
    except (ValueError, RecursionError):
        return False


async def _repair(client, table, column):
    mark = "?" if client.capabilities.dialect == "sqlite" else "%s"
    _, rows = await client.execute_query(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")
    for row in rows:
        text = row[column]
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogatepass")
        if not isinstance(text, str) or _answerable(text):
            continue
        try:
            fixed = json.dumps(_repaired(json.loads(text)))
        except (ValueError, RecursionError):
            fixed = None
        if fixed is None and column == "response":
            continue  # an answer that cannot be read back is left for its key to expire
        await client.execute_query(f"UPDATE {table} SET {column} = {mark} WHERE id = {mark}", [fixed, row["id"]])


async def repair_metadata(apps, schema_editor) -> None:
    await _repair(schema_editor.client, "tasks", "metadata")
    await _repair(schema_editor.client, "idempotency_keys", "response")


class Migration(migrations.Migration):
    dependencies = [('models', '0007_callback_error')]

    initial = False

    operations = [
        ops.RunPython(repair_metadata),
    ]
