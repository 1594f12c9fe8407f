"""Callback URLs may not point into the service's own network unless allowed."""

from __future__ import annotations

import socket

import pytest

from src.callbacks.destinations import literal_problem, resolved_problem
from src.db.models import CallbackAttempt, Task
from tests.support.app import eventually, make_settings, register, running_app
from tests.support.images import png

I2V = "/api/higgsfield/i2v/"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
    ],
)
def test_literal_private_addresses_are_refused(url):
    assert literal_problem(url)


@pytest.mark.parametrize("url", ["https://hooks.example.com/hf", "http://93.184.215.14/hook", None])
def test_public_addresses_and_names_pass_the_literal_check(url):
    assert literal_problem(url) is None


async def test_a_name_resolving_to_loopback_is_refused_at_delivery():
    assert await resolved_problem("http://localhost.:8080/hook") is not None


async def test_create_refuses_a_private_callback_url_by_default(db_url, fake):
    settings = make_settings(db_url, fake.url, callback_allow_private=False)
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        response = await client.post(
            I2V,
            headers={"X-API-KEY": key},
            files={"image": ("a.png", png(), "image/png")},
            data={"callback_url": "http://169.254.169.254/latest/meta-data"},
        )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "callback_url"]


async def test_delivery_to_a_name_on_this_machine_is_refused_and_recorded(db_url, fake, receiver):
    """The machine's own name passes at create time (it is not a literal), but resolves to
    this machine's address."""
    host = socket.gethostname()
    try:
        socket.getaddrinfo(host, None)
    except OSError:
        pytest.skip("this machine's name does not resolve")
    port = receiver.url.rsplit(":", 1)[1]
    settings = make_settings(db_url, fake.url, callback_allow_private=False)
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        response = await client.post(
            I2V,
            headers={"X-API-KEY": key},
            files={"image": ("a.png", png(), "image/png")},
            data={"callback_url": f"http://{host}:{port}/hook"},
        )
        assert response.status_code == 202, response.text
        task_id = response.json()["id"]

        async def attempted() -> bool:
            return await CallbackAttempt.filter(task_id=task_id).exists()

        await eventually(attempted, what="a callback attempt")
        attempt = await CallbackAttempt.filter(task_id=task_id).first()
        task = await Task.get(id=task_id)
    assert attempt is not None and attempt.error == "address not allowed" and attempt.status_code is None
    assert not task.callback_delivered
    assert receiver.hits() == []
