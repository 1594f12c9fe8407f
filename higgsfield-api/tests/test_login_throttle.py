"""The failed-login throttle: 429 with Retry-After after 5 failures in 15 minutes, kept in the database."""

from __future__ import annotations

from datetime import timedelta

import httpx

from src.core.clock import utcnow
from src.db.models import LoginFailure
from tests.support.app import PASSWORD, make_settings, register, running_app

WINDOW_SECONDS = 15 * 60


async def login(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"login": name, "password": password})


async def fail(client: httpx.AsyncClient, name: str, times: int = 5) -> None:
    for _ in range(times):
        assert (await login(client, name, "wrong password")).status_code == 401


async def test_five_failures_lock_the_login_even_for_the_right_password(service):
    await register(service.client, "acme")
    await fail(service.client, "acme")

    response = await login(service.client, "acme", PASSWORD)
    assert response.status_code == 429
    assert "try again" in response.json()["detail"].lower()
    assert WINDOW_SECONDS - 5 <= int(response.headers["retry-after"]) <= WINDOW_SECONDS
    # A throttled attempt is not a failure of its own: the window is not pushed further.
    assert await LoginFailure.all().count() == 5


async def test_retry_after_counts_down_to_when_the_oldest_failure_leaves_the_window(service):
    await register(service.client, "acme")
    await fail(service.client, "acme")
    oldest = await LoginFailure.all().order_by("failed_at").first()
    assert oldest is not None
    oldest.failed_at = utcnow() - timedelta(minutes=14)
    await oldest.save()

    response = await login(service.client, "acme", PASSWORD)
    assert response.status_code == 429
    assert 55 <= int(response.headers["retry-after"]) <= 60


async def test_the_login_works_again_once_the_window_has_passed(service):
    await register(service.client, "acme")
    await fail(service.client, "acme")
    await LoginFailure.all().update(failed_at=utcnow() - timedelta(minutes=15, seconds=1))

    response = await login(service.client, "acme", PASSWORD)
    assert response.status_code == 200, response.text


async def test_the_throttle_is_per_login(service):
    await register(service.client, "acme")
    await register(service.client, "globex")
    await fail(service.client, "acme")

    assert (await login(service.client, "globex", PASSWORD)).status_code == 200
    assert (await login(service.client, "acme", PASSWORD)).status_code == 429


async def test_unknown_logins_are_throttled_alike(service):
    """Otherwise the throttle would tell which logins exist."""
    await fail(service.client, "nobody")
    assert (await login(service.client, "nobody", PASSWORD)).status_code == 429


async def test_case_variants_of_a_login_share_one_budget(service):
    """MySQL matches logins case-insensitively: "ACME" must not be a fresh budget for "acme"."""
    await register(service.client, "acme")
    for variant in ("ACME", "Acme", "aCme", "acMe", "acmE"):
        await fail(service.client, variant, times=1)
    assert (await login(service.client, "acme", PASSWORD)).status_code == 429


async def test_a_success_does_not_clear_the_failures(service):
    await register(service.client, "acme")
    await fail(service.client, "acme", times=4)
    assert (await login(service.client, "acme", PASSWORD)).status_code == 200
    await fail(service.client, "acme", times=1)
    assert (await login(service.client, "acme", PASSWORD)).status_code == 429


async def test_the_throttle_holds_across_processes(db_url, fake):
    """The failures are rows in the shared database: a new process (here: a new app) sees them."""
    settings = make_settings(db_url, fake.url)
    async with running_app(settings) as (_app, client):
        await register(client, "acme")
        await fail(client, "acme")
    async with running_app(settings) as (_app, client):
        assert (await login(client, "acme", PASSWORD)).status_code == 429


async def test_the_limits_come_from_the_settings(db_url, fake):
    settings = make_settings(db_url, fake.url, login_max_failures=2, login_failure_window=60)
    async with running_app(settings) as (_app, client):
        await register(client, "acme")
        await fail(client, "acme", times=2)
        response = await login(client, "acme", PASSWORD)
    assert response.status_code == 429
    assert 55 <= int(response.headers["retry-after"]) <= 60


async def test_old_failures_are_pruned(service):
    await LoginFailure.create(login="someone", failed_at=utcnow() - timedelta(hours=1))
    await fail(service.client, "acme", times=1)
    assert await LoginFailure.filter(login="someone").count() == 0
