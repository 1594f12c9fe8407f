"""GET /health/{uuid}: ok, hidden, degraded."""

from __future__ import annotations

import shutil

from tortoise import connections

from tests.support import databases
from tests.support.app import HEALTH_UUID, make_settings, running_app


async def test_health_is_ok_with_the_right_uuid(service):
    response = await service.client.get(f"/health/{HEALTH_UUID}")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "scheduler": "running",
        "accounts": {"default": "active"},
    }


async def test_any_other_uuid_is_the_same_404_as_an_unknown_path(service):
    wrong = await service.client.get("/health/00000000-0000-4000-8000-000000000000")
    unknown = await service.client.get("/no/such/path")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()


async def test_health_is_404_when_uuid_test_check_is_unset(db_url, fake):
    async with running_app(make_settings(db_url, fake.url, uuid_test_check=None)) as (_app, client):
        response = await client.get(f"/health/{HEALTH_UUID}")
    assert response.status_code == 404


async def test_health_is_503_when_the_database_is_gone(tmp_path, fake):
    folder = tmp_path / "db"
    folder.mkdir()
    url = databases.prepare("sqlite", folder)
    async with running_app(make_settings(url, fake.url)) as (state, client):
        assert (await client.get(f"/health/{HEALTH_UUID}")).status_code == 200
        state["jobs"].scheduler.pause()  # keep the jobs quiet while the database disappears
        await state["jobs"].drain()  # and let the runs in flight end first
        await connections.get("default").close()
        shutil.rmtree(folder)
        response = await client.get(f"/health/{HEALTH_UUID}")
        assert response.status_code == 503
        assert response.json() == {
            "status": "degraded",
            "database": "unreachable",
            "scheduler": "running",
            "accounts": {},
        }
        folder.mkdir()  # let the shutdown close cleanly


async def test_health_names_a_stopped_scheduler(service):
    service.state["jobs"].scheduler.shutdown(wait=False)
    response = await service.client.get(f"/health/{HEALTH_UUID}")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "scheduler": "stopped",
        "accounts": {"default": "active"},
    }
