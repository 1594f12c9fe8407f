"""The per-client limit on task creations: RATE_LIMIT_PER_MINUTE, counted from the tasks table."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from src.app_factory import create_app
from src.auth.limits import check_create_rate
from src.core.clock import utcnow
from src.core.config import Settings
from src.core.errors import RateLimited
from src.db.models import Task
from tests.support.app import make_settings, register, running_app
from tests.support.images import png

I2V = "/api/higgsfield/i2v/"
LIMIT = 3


async def create(client: httpx.AsyncClient, api_key: str) -> httpx.Response:
    return await client.post(
        I2V, headers={"X-API-KEY": api_key}, files={"image": ("a.png", png(), "image/png")}
    )


@pytest.fixture
async def limited(db_url, fake):
    """The service with a limit of 3 creations a minute, and two registered clients."""
    settings = make_settings(db_url, fake.url, rate_limit_per_minute=LIMIT)
    async with running_app(settings) as (_app, client):
        acme = await register(client, "acme")
        globex = await register(client, "globex")
        yield client, settings, acme, globex


async def test_under_the_limit_nothing_is_raised(limited):
    client, settings, acme, _globex = limited
    for _ in range(LIMIT - 1):
        assert (await create(client, acme["api_key"])).status_code == 202
    await check_create_rate(uuid.UUID(acme["client_id"]), settings)


async def test_at_the_limit_the_next_creation_must_wait(limited):
    client, settings, acme, _globex = limited
    for _ in range(LIMIT):
        assert (await create(client, acme["api_key"])).status_code == 202
    with pytest.raises(RateLimited) as caught:
        await check_create_rate(uuid.UUID(acme["client_id"]), settings)
    assert caught.value.status_code == 429
    assert 55 <= caught.value.retry_after <= 60
    assert caught.value.headers == {"Retry-After": str(caught.value.retry_after)}


async def test_retry_after_is_when_the_oldest_creation_leaves_the_minute(limited):
    client, settings, acme, _globex = limited
    for _ in range(LIMIT):
        assert (await create(client, acme["api_key"])).status_code == 202
    oldest = await Task.filter(client_id=acme["client_id"]).order_by("created_at").first()
    assert oldest is not None
    await Task.filter(id=oldest.id).update(created_at=utcnow() - timedelta(seconds=50))
    with pytest.raises(RateLimited) as caught:
        await check_create_rate(uuid.UUID(acme["client_id"]), settings)
    assert 8 <= caught.value.retry_after <= 10


async def test_creations_older_than_a_minute_do_not_count(limited):
    client, settings, acme, _globex = limited
    for _ in range(LIMIT):
        assert (await create(client, acme["api_key"])).status_code == 202
    await Task.filter(client_id=acme["client_id"]).update(created_at=utcnow() - timedelta(seconds=61))
    await check_create_rate(uuid.UUID(acme["client_id"]), settings)


async def test_the_limit_is_per_client(limited):
    client, settings, acme, globex = limited
    for _ in range(LIMIT):
        assert (await create(client, acme["api_key"])).status_code == 202
    await check_create_rate(uuid.UUID(globex["client_id"]), settings)
    assert (await create(client, globex["api_key"])).status_code == 202


async def test_over_the_limit_a_create_is_429_with_retry_after(limited):
    client, _settings, acme, _globex = limited
    for _ in range(LIMIT):
        assert (await create(client, acme["api_key"])).status_code == 202
    response = await create(client, acme["api_key"])
    assert response.status_code == 429
    assert 55 <= int(response.headers["retry-after"]) <= 60
    assert f"{LIMIT} tasks a minute" in response.json()["detail"]
    assert await Task.filter(client_id=acme["client_id"]).count() == LIMIT


def test_the_429_of_the_create_route_is_documented():
    schema = create_app(Settings(_env_file=None)).openapi()
    answer = schema["paths"][I2V]["post"]["responses"]["429"]
    assert "Retry-After" in answer["headers"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
