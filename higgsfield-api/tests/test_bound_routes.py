"""The routes whose arguments are read by tasks/arguments.py (web/bound_route.py) answer as
FastAPI's own binding of the same endpoints does, and keep the 401-before-422 order."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from src.tasks import service as tasks
from src.tasks.router import router as tasks_router
from src.web.error_handlers import register_error_handlers
from tests.support.app import make_settings, register, running_app
from tests.support.tasks import new_task

I2V = "/api/higgsfield/i2v/"


def fastapi_bound_twin() -> FastAPI:
    """The bound GET routes of the tasks router, added again as plain APIRoutes: FastAPI solves
    their arguments from the same endpoints' signatures. The ORM is the running app's."""
    twin = FastAPI()
    register_error_handlers(twin)
    bound = [r for r in tasks_router.routes if isinstance(r, APIRoute) and type(r) is not APIRoute]
    assert {r.endpoint.__name__ for r in bound} == {"get_task", "list_tasks"}
    for route in bound:
        twin.add_api_route(route.path, route.endpoint, methods=list(route.methods))
    return twin


async def test_the_bound_reads_answer_as_fastapis_binding_does(db_url, fake):
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (state, client):
        state["jobs"].scheduler.pause()
        mine = await register(client)
        other_key = (await register(client, "other"))["api_key"]
        own = {"X-API-KEY": mine["api_key"]}
        # Made without the route's nudge of the (paused) jobs: nothing changes them during the test.
        made = [
            await tasks.create(uuid.UUID(mine["client_id"]), new_task(f"t{n}"), state["blobs"])
            for n in range(3)
        ]
        made = [{**task, "id": str(task["id"])} for task in made]
        cursor = (await client.get(I2V, headers=own, params={"limit": 1})).json()["next_cursor"]
        assert cursor
        transport = httpx.ASGITransport(app=fastapi_bound_twin())
        async with httpx.AsyncClient(transport=transport, base_url="http://twin.test") as twin:
            cases = [
                (f"{I2V}{made[0]['id']}", own, 200),
                (f"{I2V}{made[0]['id']}", {"X-API-KEY": other_key}, 404),
                (f"{I2V}{uuid.uuid4()}", own, 404),
                (f"{I2V}{made[0]['id']}", {"X-API-KEY": "wrong"}, 401),
                (f"{I2V}{made[0]['id']}", {}, 401),
                (f"{I2V}{made[0]['id'].upper()}", own, 200),
                (f"{I2V}{made[0]['id'].replace('-', '')}", own, 200),
                (f"{I2V}not-a-uuid", own, 422),
                (f"{I2V}{made[0]['id']}x", own, 422),
                (I2V, own, 200),
                (I2V.rstrip("/"), own, 200),
                (f"{I2V}?limit=2", own, 200),
                (f"{I2V}?limit=1&cursor={cursor}", own, 200),
                (f"{I2V}?status=pending&limit=100", own, 200),
                (f"{I2V}?status=completed", own, 200),
                (f"{I2V}?limit=1&limit=3", own, 200),
                (f"{I2V}?cursor=", own, 200),
                (f"{I2V}?unknown=1", own, 200),
                (I2V, {"X-API-KEY": other_key}, 200),
                (I2V, {"X-API-KEY": "wrong"}, 401),
                (f"{I2V}?cursor=!!!", own, 422),
                (f"{I2V}?limit=0", own, 422),
                (f"{I2V}?limit=101", own, 422),
                (f"{I2V}?limit=ten", own, 422),
                (f"{I2V}?limit=", own, 422),
                (f"{I2V}?status=bogus", own, 422),
                (f"{I2V}?status=bogus&limit=0&cursor={'c' * 513}", own, 422),
            ]
            for url, headers, expected in cases:
                bound = await client.get(url, headers=headers)
                plain = await twin.get(url, headers=headers)
                assert bound.status_code == expected, (url, bound.text)
                assert (bound.status_code, bound.json()) == (plain.status_code, plain.json()), (
                    url,
                    bound.text,
                    plain.text,
                )
                assert bound.headers["content-type"] == plain.headers["content-type"], url
            several = (await client.get(f"{I2V}?status=bogus&limit=0&cursor={'c' * 513}", headers=own)).json()
            assert [error["loc"] for error in several["detail"]] == [
                ["query", "status"],
                ["query", "limit"],
                ["query", "cursor"],
            ]


async def test_a_bad_key_is_a_401_before_a_bad_parameter_is_a_422(service):
    for url in (f"{I2V}not-a-uuid", f"{I2V}?limit=0", f"{I2V}?status=bogus", f"{I2V}?cursor=!!!"):
        for headers in ({}, {"X-API-KEY": "wrong"}):
            response = await service.client.get(url, headers=headers)
            assert response.status_code == 401, (url, headers, response.text)
