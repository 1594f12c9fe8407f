"""Registration and login: status codes, the stored forms of secrets, one 401 for both failures."""

from __future__ import annotations

import hashlib

import pytest

from src.db.models import ApiKey, Client
from tests.support.app import ADMIN_TOKEN, PASSWORD, make_settings, register, running_app

ADMIN = {"X-ADMIN-TOKEN": ADMIN_TOKEN}


async def test_registration_returns_credentials_and_stores_only_hashes(service):
    body = await register(service.client, "acme.studio@x")
    assert set(body) == {"client_id", "login", "api_key", "webhook_secret"}
    assert body["login"] == "acme.studio@x"
    assert len(body["api_key"]) >= 43  # 32 random bytes, url-safe base64
    assert body["webhook_secret"].startswith("whsec_")

    client = await Client.get(login="acme.studio@x")
    assert PASSWORD not in client.password_hash
    assert client.password_hash.startswith("$argon2")
    keys = await ApiKey.filter(client=client).values_list("key_hash", flat=True)
    assert keys == [hashlib.sha256(body["api_key"].encode()).hexdigest()]


@pytest.mark.parametrize("headers", [{}, {"X-ADMIN-TOKEN": "wrong"}, {"X-ADMIN-TOKEN": ADMIN_TOKEN + "x"}])
async def test_registration_needs_the_admin_token(service, headers):
    response = await service.client.post(
        "/api/auth/registration", json={"login": "acme", "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 401
    assert await Client.all().count() == 0


async def test_registration_of_a_taken_login_is_409(service):
    await register(service.client, "acme")
    response = await service.client.post(
        "/api/auth/registration", json={"login": "acme", "password": "another password"}, headers=ADMIN
    )
    assert response.status_code == 409
    assert "acme" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"login": "ab", "password": PASSWORD},
        {"login": "a" * 65, "password": PASSWORD},
        {"login": "bad login", "password": PASSWORD},
        {"login": "acme", "password": "short"},
        {"login": "acme", "password": "p" * 129},
        {"login": "acme"},
        {},
    ],
)
async def test_registration_validates_the_body(service, body):
    response = await service.client.post("/api/auth/registration", json=body, headers=ADMIN)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


async def test_registration_is_503_without_an_admin_token(db_url, fake):
    settings = make_settings(db_url, fake.url, admin_token=None)
    async with running_app(settings) as (_app, client):
        response = await client.post(
            "/api/auth/registration", json={"login": "acme", "password": PASSWORD}, headers=ADMIN
        )
    assert response.status_code == 503


async def test_login_issues_a_new_key_and_keeps_the_old_ones(service):
    first = await register(service.client, "acme")
    response = await service.client.post("/api/auth/login", json={"login": "acme", "password": PASSWORD})
    assert response.status_code == 200
    second = response.json()
    assert second["api_key"] != first["api_key"]
    assert second["webhook_secret"] == first["webhook_secret"]
    assert second["client_id"] == first["client_id"]
    for key in (first["api_key"], second["api_key"]):
        answer = await service.client.get("/api/higgsfield/i2v/", headers={"X-API-KEY": key})
        assert answer.status_code == 200


async def test_login_failures_are_indistinguishable(service):
    await register(service.client, "acme")
    unknown = await service.client.post("/api/auth/login", json={"login": "nobody", "password": PASSWORD})
    wrong = await service.client.post("/api/auth/login", json={"login": "acme", "password": "wrong password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


@pytest.mark.parametrize("key", [None, "", "hfk_not-a-real-key"])
async def test_task_endpoints_need_a_valid_key(service, key):
    headers = {"X-API-KEY": key} if key is not None else {}
    for method, path in (
        ("GET", "/api/higgsfield/i2v/"),
        ("GET", "/api/higgsfield/i2v/00000000-0000-4000-8000-000000000000"),
        ("GET", "/api/higgsfield/motions"),
        ("POST", "/api/higgsfield/i2v/"),
    ):
        response = await service.client.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
