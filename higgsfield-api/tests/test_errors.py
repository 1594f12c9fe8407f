"""Unexpected errors answer a bland 500 with a request id; every answer carries X-Request-ID."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, Request
from tortoise import connections

from src.core.request_id import current_request_id
from tests.support.app import HEALTH_UUID, served
from tests.support.images import png

SECRET_SQL = "SELECT password_hash FROM clients WHERE login = 'acme'"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")

boom = APIRouter(prefix="/test-only")


@boom.get("/raise")
async def raise_plain() -> None:
    raise RuntimeError(f"failed running {SECRET_SQL}")


@boom.get("/sql")
async def raise_from_the_database() -> None:
    await connections.get("default").execute_query("SELECT secret_column FROM no_such_table")


@boom.get("/request-id")
async def echo_request_id(request: Request) -> dict:
    return {"state": request.state.request_id, "context": current_request_id.get()}


@pytest.fixture
async def client(service) -> AsyncIterator[httpx.AsyncClient]:
    """The running service with a router that exists only in these tests; app errors become answers
    (as a server would send them) instead of being raised into the test."""
    service.app.include_router(boom)
    transport = httpx.ASGITransport(app=served(service.app, service.state), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
        yield client


@pytest.mark.parametrize("path", ["/test-only/raise", "/test-only/sql"])
async def test_an_unexpected_error_is_a_bland_500_with_a_request_id(client, path, caplog):
    response = await client.get(path)
    assert response.status_code == 500
    body = response.json()
    assert body == {"detail": "Internal Server Error", "request_id": body["request_id"]}
    assert GENERATED_ID.fullmatch(body["request_id"])
    assert response.headers["x-request-id"] == body["request_id"]
    for leak in ("Traceback", "SELECT", "no_such_table", "password_hash", "RuntimeError"):
        assert leak not in response.text
    # The operator can find the request in the log by its id.
    assert any(body["request_id"] in record.getMessage() for record in caplog.records)


async def test_a_500_keeps_the_callers_request_id(client):
    response = await client.get("/test-only/raise", headers={"X-Request-ID": "trace-42.a_b"})
    assert response.status_code == 500
    assert response.json()["request_id"] == response.headers["x-request-id"] == "trace-42.a_b"


async def test_the_request_id_is_in_request_state_and_the_log_context(client):
    response = await client.get("/test-only/request-id", headers={"X-Request-ID": "abc-123"})
    assert response.json() == {"state": "abc-123", "context": "abc-123"}
    assert current_request_id.get() is None  # reset once the request is over


@pytest.mark.parametrize(
    "incoming", ["a" * 129, "has space", "semi;colon", "ünïcode", "", "new\\nline", "../etc/passwd?x=1"]
)
async def test_an_odd_request_id_is_replaced(client, incoming):
    response = await client.get("/test-only/request-id", headers={"X-Request-ID": incoming.encode("utf-8")})
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])
    assert response.json()["state"] == response.headers["x-request-id"]


async def test_a_request_id_of_128_characters_is_kept(client):
    incoming = "A1._-" * 25 + "xyz"
    response = await client.get("/test-only/request-id", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", f"/health/{HEALTH_UUID}", 200),
        ("GET", "/no/such/path", 404),
        ("GET", "/api/higgsfield/i2v/", 401),
        ("POST", "/api/auth/login", 422),
    ],
)
async def test_every_answer_has_a_request_id(client, method, path, status):
    response = await client.request(method, path)
    assert response.status_code == status
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


async def test_two_requests_get_two_ids(client):
    first = await client.get("/no/such/path")
    second = await client.get("/no/such/path")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


BIG = "x" * 100_000
SMALL_ANSWER = 4096  # bytes: a 422 says what was wrong, it does not echo a 100 KB input


async def test_a_422_for_a_huge_prompt_is_small_and_keeps_the_list_shape(service, api_key):
    response = await service.client.post(
        "/api/higgsfield/i2v/",
        headers={"X-API-KEY": api_key},
        files={"image": ("in.png", png(), "image/png")},
        data={"prompt": BIG},
    )
    assert response.status_code == 422
    assert len(response.content) < SMALL_ANSWER, len(response.content)
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "prompt"] and error["type"] == "string_too_long"
    assert error["input"].startswith("xxx") and len(error["input"]) <= 101


async def test_a_422_for_a_missing_field_does_not_echo_the_huge_rest_of_the_form(service, api_key):
    response = await service.client.post(
        "/api/higgsfield/i2v/",
        headers={"X-API-KEY": api_key},
        data={f"field{n}": BIG for n in range(5)} | {"prompt": BIG},
    )
    assert response.status_code == 422
    assert len(response.content) < SMALL_ANSWER, len(response.content)
    assert any(error["loc"] == ["body", "image"] for error in response.json()["detail"])


async def test_a_422_for_a_huge_json_body_is_small(service):
    response = await service.client.post(
        "/api/auth/login", json={"login": BIG, "password": BIG, "extra": [BIG] * 5}
    )
    assert response.status_code == 422
    assert len(response.content) < SMALL_ANSWER, len(response.content)
    assert {tuple(error["loc"]) for error in response.json()["detail"]} == {
        ("body", "login"),
        ("body", "password"),
    }


async def test_a_json_body_over_a_mebibyte_is_a_413(service):
    response = await service.client.post("/api/auth/login", json={"login": "acme", "extra": [BIG] * 11})
    assert response.status_code == 413
    assert "at most 1048576 bytes" in response.json()["detail"]


async def test_a_small_invalid_input_is_still_echoed(service, api_key):
    response = await service.client.post(
        "/api/higgsfield/i2v/",
        headers={"X-API-KEY": api_key},
        files={"image": ("in.png", png(), "image/png")},
        data={"motion_strength": "2"},
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "motion_strength"] and error["input"] == "2"
