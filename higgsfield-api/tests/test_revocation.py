"""Logout revokes one key; disabling a client revokes them all and cancels its pending tasks."""

from __future__ import annotations

import uuid

import httpx
import pytest

from src.db.models import ApiKey, Client, Task
from src.tasks import service as tasks
from tests.support.app import ADMIN_TOKEN, PASSWORD, eventually, register
from tests.support.images import png
from tests.support.tasks import has_image, new_task

ADMIN = {"X-ADMIN-TOKEN": ADMIN_TOKEN}
I2V = "/api/higgsfield/i2v/"


async def works(client: httpx.AsyncClient, api_key: str) -> int:
    return (await client.get(I2V, headers={"X-API-KEY": api_key})).status_code


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/auth/login", json={"login": name, "password": password})


async def test_logout_revokes_only_the_key_it_is_called_with(service):
    first = (await register(service.client, "acme"))["api_key"]
    second = (await login(service.client, "acme")).json()["api_key"]

    response = await service.client.post("/api/auth/logout", headers={"X-API-KEY": first})
    assert response.status_code == 204
    assert response.content == b""

    assert await works(service.client, first) == 401
    assert await works(service.client, second) == 200
    assert await ApiKey.filter(revoked_at__isnull=False).count() == 1


@pytest.mark.parametrize("headers", [{}, {"X-API-KEY": ""}, {"X-API-KEY": "hfk_not-a-real-key"}])
async def test_logout_needs_a_valid_key(service, headers):
    response = await service.client.post("/api/auth/logout", headers=headers)
    assert response.status_code == 401


async def test_a_revoked_key_cannot_log_out_again(service):
    key = (await register(service.client, "acme"))["api_key"]
    assert (await service.client.post("/api/auth/logout", headers={"X-API-KEY": key})).status_code == 204
    assert (await service.client.post("/api/auth/logout", headers={"X-API-KEY": key})).status_code == 401


async def test_disabling_a_client_revokes_every_key_and_cancels_its_pending_tasks(service):
    # Higgsfield never takes the tasks: they stay pending.
    service.fake.fail_next("upload_url", [503] * 10_000)
    first = (await register(service.client, "acme"))["api_key"]
    second = (await login(service.client, "acme")).json()["api_key"]
    other = (await register(service.client, "globex"))["api_key"]
    ids = []
    for key in (first, first, other):
        response = await service.client.post(
            I2V, headers={"X-API-KEY": key}, files={"image": ("a.png", png(), "image/png")}
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])

    response = await service.client.post("/api/auth/clients/acme/disable", headers=ADMIN)
    assert response.status_code == 204
    assert response.content == b""

    assert await works(service.client, first) == 401
    assert await works(service.client, second) == 401
    assert await works(service.client, other) == 200
    assert (await Client.get(login="acme")).disabled_at is not None

    statuses = dict(await Task.all().values_list("id", "status"))
    assert [statuses[uuid.UUID(i)] for i in ids] == ["canceled", "canceled", "pending"]
    assert [await has_image(service.state["blobs"], i) for i in ids] == [False, False, True]


async def test_a_disabled_client_fails_to_log_in_like_a_wrong_password(service):
    await register(service.client, "acme")
    wrong = await login(service.client, "acme", "wrong password")
    assert (await service.client.post("/api/auth/clients/acme/disable", headers=ADMIN)).status_code == 204

    disabled = await login(service.client, "acme")
    assert disabled.status_code == wrong.status_code == 401
    assert disabled.json() == wrong.json()


async def test_disabling_twice_is_harmless_and_keeps_the_first_date(service):
    await register(service.client, "acme")
    assert (await service.client.post("/api/auth/clients/acme/disable", headers=ADMIN)).status_code == 204
    first = (await Client.get(login="acme")).disabled_at
    assert (await service.client.post("/api/auth/clients/acme/disable", headers=ADMIN)).status_code == 204
    assert (await Client.get(login="acme")).disabled_at == first


async def test_disabling_an_unknown_login_is_404(service):
    response = await service.client.post("/api/auth/clients/nobody/disable", headers=ADMIN)
    assert response.status_code == 404


@pytest.mark.parametrize("headers", [{}, {"X-ADMIN-TOKEN": "wrong"}, {"X-API-KEY": ADMIN_TOKEN}])
async def test_disabling_needs_the_admin_token(service, headers):
    key = (await register(service.client, "acme"))["api_key"]
    response = await service.client.post("/api/auth/clients/acme/disable", headers=headers)
    assert response.status_code == 401
    assert await works(service.client, key) == 200


async def test_a_login_that_cannot_exist_is_422(service):
    response = await service.client.post("/api/auth/clients/a b/disable", headers=ADMIN)
    assert response.status_code == 422


async def test_a_client_disabled_while_tasks_run_keeps_them_running(service):
    """Only `pending` tasks are canceled: Higgsfield has the others and they finish normally."""
    key = (await register(service.client, "acme"))["api_key"]
    response = await service.client.post(
        I2V, headers={"X-API-KEY": key}, files={"image": ("a.png", png(), "image/png")}
    )
    task_id = uuid.UUID(response.json()["id"])

    async def sent() -> bool:
        return await Task.filter(id=task_id, upstream_job_id__isnull=False).exists()

    await eventually(sent, what="the task to reach Higgsfield")
    assert (await service.client.post("/api/auth/clients/acme/disable", headers=ADMIN)).status_code == 204

    async def finished() -> bool:
        return await Task.filter(id=task_id, status="completed").exists()

    await eventually(finished, what="the task to complete")


async def test_a_task_stored_while_its_client_was_disabled_is_canceled_not_sent(service):
    """A create that raced with the disable stored its task afterwards: it is never sent."""
    client_id = (await register(service.client, "acme"))["client_id"]
    assert (await service.client.post("/api/auth/clients/acme/disable", headers=ADMIN)).status_code == 204
    new = new_task("late")
    task = await tasks.create(client_id, new, service.state["blobs"])
    service.state["jobs"].submit.nudge()

    async def canceled() -> bool:
        return (await Task.get(id=task["id"])).status == "canceled"

    await eventually(canceled, what="the orphan task to be canceled")
    assert service.fake.submissions == []
