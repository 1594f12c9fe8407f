"""Strict at the edge: each malformed input is a 422 naming the field, nothing is stored behind an
error, and rows stored before these rules still answer."""

from __future__ import annotations

import json
import sqlite3
import uuid

import httpx
import pytest
from tortoise import connections

from src.core import security, strict_input
from src.db.models import IdempotencyKey, Task
from tests.support import databases
from tests.support.app import ADMIN_TOKEN, make_settings, running_app, served
from tests.support.images import png
from tests.support.multipart import multipart
from tests.test_logins_without_case import migrate_cli

I2V = "/api/higgsfield/i2v/"
ADMIN = {"X-ADMIN-TOKEN": ADMIN_TOKEN}


def strict_json(response) -> object:
    """The body, parsed as strict JSON: NaN or a lone surrogate in an answer fails the test."""
    return strict_input.loads(response.content, max_depth=64)  # a page holds tasks holding metadata


async def assert_still_answers(client, key: str) -> list[dict]:
    """The client's list, and each of its tasks, answer 200 with valid JSON."""
    listed = await client.get(I2V, headers={"X-API-KEY": key})
    assert listed.status_code == 200, listed.text
    items = strict_json(listed)["items"]
    for item in items:
        one = await client.get(f"{I2V}{item['id']}", headers={"X-API-KEY": key})
        assert one.status_code == 200, one.text
        strict_json(one)
    return items


def named(response, field: str) -> str:
    """The 422's message for `field`, which it must name."""
    assert response.status_code == 422, response.text
    body = strict_json(response)
    [error] = [e for e in body["detail"] if e["loc"][-1] == field]
    return error["msg"]


async def post_raw(client, key: str, fields: dict[str, bytes], headers: dict | None = None):
    body, content_type = multipart(fields)
    return await client.post(
        I2V, content=body, headers={"X-API-KEY": key, "Content-Type": content_type, **(headers or {})}
    )


# --- metadata ------------------------------------------------------------------------------

DEEP = "[" * 1500 + "]" * 1500


@pytest.mark.parametrize(
    ("metadata", "says"),
    [
        ('{"a": NaN}', "NaN"),
        ('{"a": Infinity}', "Infinity"),
        ('{"a": -Infinity}', "-Infinity"),
        ('{"a": 1e400}', "out of a double's range"),
        ('{"a": ' + "9" * 400 + "}", "out of a double's range"),
        ('{"a": "\\ud800"}', "lone surrogate"),
        ('{"\\udfff": 1}', "lone surrogate"),
        ('{"a": ' + DEEP + "}", "deeper than 20 levels"),
        ('{"a": ' + "[" * 20 + "]" * 20 + "}", "deeper than 20 levels"),
    ],
)
async def test_metadata_is_strict_json_and_nothing_is_stored(service, api_key, metadata, says):
    response = await post_raw(service.client, api_key, {"metadata": metadata.encode()})
    assert says in named(response, "metadata")
    assert await Task.all().count() == 0
    assert await assert_still_answers(service.client, api_key) == []


async def test_metadata_at_the_depth_limit_is_stored_and_answered(service, api_key):
    nested = "[" * (strict_input.MAX_DEPTH - 1) + "]" * (strict_input.MAX_DEPTH - 1)
    response = await post_raw(
        service.client, api_key, {"metadata": f'{{"a": {nested}, "b": 1.5e308}}'.encode()}
    )
    assert response.status_code == 202, response.text
    [task] = await assert_still_answers(service.client, api_key)
    assert task["metadata"]["b"] == 1.5e308


# --- text fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["prompt", "motion", "callback_url", "metadata"])
async def test_a_text_field_that_is_not_utf8_is_refused(service, api_key, field):
    response = await post_raw(service.client, api_key, {field: b"https://example.com/a\xff\xfeb"})
    assert "not valid UTF-8" in named(response, field)
    encoded_surrogate = await post_raw(
        service.client, api_key, {field: "https://example.com/\ud800".encode("utf-8", "surrogatepass")}
    )
    assert "not valid UTF-8" in named(encoded_surrogate, field)
    assert await Task.all().count() == 0


async def test_a_nul_in_a_text_field_is_refused(service, api_key):
    response = await post_raw(service.client, api_key, {"prompt": b"a\x00b"})
    assert "NUL" in named(response, "prompt")
    assert await Task.all().count() == 0


async def test_valid_text_is_kept_as_sent(service, api_key):
    prompt = "café, ÿþ, 東京, 🎬"
    response = await post_raw(service.client, api_key, {"prompt": prompt.encode()})
    assert response.status_code == 202, response.text
    assert strict_json(response)["prompt"] == prompt


@pytest.mark.parametrize("field", ["prompt", "metadata", "model"])
async def test_a_file_in_a_text_field_is_a_422_without_internals(service, api_key, field):
    response = await service.client.post(
        I2V,
        headers={"X-API-KEY": api_key},
        files={"image": ("in.png", png(), "image/png"), field: ("x.jpg", b"\xff\xd8 not text", "image/jpeg")},
    )
    assert "text field" in named(response, field)
    for internal in ("SpooledTemporaryFile", "Headers", "content-disposition", "filename", "x.jpg"):
        assert internal not in response.text
    assert await Task.all().count() == 0


async def test_a_form_in_another_charset_is_refused(service, api_key):
    body, content_type = multipart({"prompt": "café".encode("latin-1")})
    response = await service.client.post(
        I2V, content=body, headers={"X-API-KEY": api_key, "Content-Type": content_type + "; charset=latin-1"}
    )
    assert "UTF-8" in named(response, "body")


@pytest.mark.parametrize("value", ["café", "tab\there", "a\x7fb"])
async def test_an_idempotency_key_is_printable_ascii(service, api_key, value):
    response = await post_raw(
        service.client, api_key, {"prompt": b"x"}, headers={"Idempotency-Key": value.encode("latin-1")}
    )
    assert "printable ASCII" in named(response, "Idempotency-Key")
    assert await Task.all().count() == 0


async def test_motion_strength_nan_is_refused(service, api_key):
    response = await post_raw(service.client, api_key, {"motion_strength": b"nan"})
    named(response, "motion_strength")
    assert await Task.all().count() == 0


# --- JSON bodies ---------------------------------------------------------------------------

AUTH_ROUTES = ["/api/auth/registration", "/api/auth/login"]


@pytest.mark.parametrize("path", AUTH_ROUTES)
@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"login": "\\ud800abc", "password": "correct horse"}', "lone surrogate"),
        (b'{"login": "acme", "password": "\\udfffcorrect horse"}', "lone surrogate"),
        (b'{"login": "acme", "password": "correct horse", "x": NaN}', "NaN"),
        (b'{"login": "acme", "password": "correct horse", "x": 1e999}', "range"),
        (b'{"login": ' + b"[" * 1500 + b"]" * 1500 + b', "password": "x"}', "deeper than 20"),
        (b'{"login": "acme", "password": "caf\xe9 au lait"}', "UTF-8"),
    ],
)
async def test_json_bodies_are_strict(service, path, body, says):
    response = await service.client.post(
        path, content=body, headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    [error] = strict_json(response)["detail"]
    assert error["loc"] == ["body"] and says in error["msg"]


@pytest.mark.parametrize("path", AUTH_ROUTES)
async def test_a_nul_in_a_credential_is_a_422_naming_it(service, path):
    response = await service.client.post(
        path, json={"login": "acme", "password": "correct\x00horse"}, headers=ADMIN
    )
    assert "NUL" in named(response, "password")


async def test_a_value_of_the_wrong_type_is_echoed_safely(service):
    response = await service.client.post(
        "/api/auth/login",
        content=b'{"login": ["a", "b"], "password": 12}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert strict_json(response)


# --- nothing stored behind an error --------------------------------------------------------

FAILING_TRIGGER = {
    "sqlite": (
        "CREATE TRIGGER refuse_idempotency BEFORE INSERT ON idempotency_keys "
        "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
    ),
    "mysql": (
        "CREATE TRIGGER refuse_idempotency BEFORE INSERT ON idempotency_keys FOR EACH ROW "
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused for the test'"
    ),
}


async def test_a_failure_after_the_insert_stores_nothing_and_sends_nothing(service, api_key):
    """The task's INSERT succeeds, then the statement after it (the idempotency record) fails: the
    client gets a 500, and there is no task, no image and nothing sent to Higgsfield."""
    kind = "sqlite" if service.settings.database_url.startswith("sqlite") else "mysql"
    connection = connections.get("default")
    await connection.execute_script(FAILING_TRIGGER[kind])
    # raise_app_exceptions=False: the 500 as the client gets it
    transport = httpx.ASGITransport(app=served(service.app, service.state), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
            response = await post_raw(client, api_key, {"prompt": b"x"}, headers={"Idempotency-Key": "k-1"})
    finally:
        await connection.execute_script("DROP TRIGGER refuse_idempotency")
    assert response.status_code == 500, response.text
    assert await Task.all().count() == 0
    assert await IdempotencyKey.all().count() == 0
    assert not any(path.is_file() for path in databases.blob_dir(service.settings.database_url).rglob("*"))
    await service.state["jobs"].submit.run()
    assert service.fake.submissions == []
    assert await assert_still_answers(service.client, api_key) == []
    again = await post_raw(service.client, api_key, {"prompt": b"x"}, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 202, again.text  # the key was not used up by the failed attempt


# --- rows stored before the rules ----------------------------------------------------------

BEFORE_REPAIR = "models.0007_callback_error"
API_KEY = "old-key-0123456789abcdef0123456789abcdef"
BAD_METADATA = ['{"a": NaN}', '{"a": Infinity, "b": [-Infinity, 1]}', '{"\\ud800": "\\udfff x"}', '{"ok": 1}']


def insert_old_rows(path: str) -> str:
    """A client, its key and tasks as SQLite could store them before metadata was strict JSON."""
    client_id = str(uuid.uuid4())
    now = "2026-11-01 00:00:00"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO clients (id, login, login_key, password_hash, webhook_secret, created_at) "
            "VALUES (?, 'old', 'old', 'x', 'whsec_old', ?)",
            (client_id, now),
        )
        conn.execute(
            "INSERT INTO api_keys (client_id, key_hash, created_at) VALUES (?, ?, ?)",
            (client_id, security.hash_api_key(API_KEY), now),
        )
        for i, metadata in enumerate(BAD_METADATA):
            task_id = str(uuid.uuid4())
            answer = json.dumps({"id": task_id, "metadata": json.loads(metadata)})
            conn.execute(
                "INSERT INTO tasks (id, client_id, status, prompt, motion, motion_id, model, duration, "
                "metadata, motion_strength, enhance_prompt, attempts, next_attempt_at, created_at, "
                "updated_at) "
                "VALUES (?, ?, 'failed', '', 'GENERAL', 'm', 'standard', 5, ?, 0.5, 0, 0, ?, ?, ?)",
                (task_id, client_id, metadata, now, f"2026-11-01 00:00:0{i}", now),
            )
            conn.execute(
                "INSERT INTO idempotency_keys (client_id, key, fingerprint, task_id, status_code, response, "
                "created_at) VALUES (?, ?, 'f', ?, 202, ?, ?)",
                (client_id, f"key-{i}", task_id, answer, now),
            )
    return client_id


async def test_metadata_stored_before_the_rules_is_repaired_by_the_migration(tmp_path, fake):
    """Only SQLite could store such values: MySQL's JSON check refused them."""
    path = tmp_path / "old.sqlite3"
    url = f"sqlite://{path}"
    databases.migrate(url, target=BEFORE_REPAIR)
    insert_old_rows(str(path))
    result = migrate_cli(url)
    assert result.returncode == 0, result.stderr

    async with running_app(make_settings(url, fake.url)) as (_app, client):
        items = await assert_still_answers(client, API_KEY)
        kept = [item["metadata"] for item in items]
        assert len(kept) == 4
        for metadata in ({"a": None}, {"a": None, "b": [None, 1]}, {"\ufffd": "\ufffd x"}, {"ok": 1}):
            assert metadata in kept
        for stored in await IdempotencyKey.all():
            json.dumps(stored.response, allow_nan=False, ensure_ascii=False).encode()
