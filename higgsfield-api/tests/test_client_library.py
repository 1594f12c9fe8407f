"""The Python client package (higgsfield-client/ at the repository root) against the real service:
`python -m src.cli serve` over the test's database, the sandbox as Higgsfield and a callback
receiver, all on loopback. `make test` installs the package into the virtualenv first."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support.app import ADMIN_TOKEN, PASSWORD
from tests.support.images import png
from tests.support.processes import SERVICE_DIR, ServerProcess, free_port, service_env
from tests.support.server import LoopbackServer

if os.environ.get("CI") == "true":  # CI installs the package (make test): it must run there
    import higgsfield_client as hf
else:  # the Docker test image holds higgsfield-api/ only
    hf = pytest.importorskip("higgsfield_client", reason="the higgsfield-client package is not installed")

README = SERVICE_DIR.parent / "README.md"
# wait(): the service polls the sandbox every 0.1 s, so short pauses keep the tests short.
QUICK = {"timeout": 30, "initial_interval": 0.05, "max_interval": 0.5}


def until(check: Callable[[], object], what: str, within: float = 20) -> object:
    deadline = time.monotonic() + within
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


@dataclass
class Account:
    """A registered client of the running service: where it listens, its key and webhook secret."""

    url: str
    api_key: str
    webhook_secret: str

    def client(self) -> hf.Client:
        return hf.Client(self.url, self.api_key, timeout=10)

    def async_client(self) -> hf.AsyncClient:
        return hf.AsyncClient(self.url, self.api_key, timeout=10)


@pytest.fixture
def settings() -> dict[str, str]:
    """More settings of the server (environment variables); a test overrides this fixture."""
    return {}


@pytest.fixture
def server(tmp_path, db_url, fake, settings) -> Iterator[ServerProcess]:
    """The service as `make run` serves it, over the test's database, the sandbox as Higgsfield."""
    env = service_env(
        PORT=free_port(),
        DATABASE_URL=db_url,
        HF_API_KEY="test-key",
        HF_API_SECRET="test-secret",
        HF_BASE_URL=fake.url,
        POLL_INTERVAL_SECONDS=0.1,
        RETRY_BASE_SECONDS=0.05,
        RETRY_MAX_SECONDS=0.2,
        CALLBACK_ALLOW_PRIVATE="true",  # the receiver listens on loopback
        **settings,
    )
    process = ServerProcess(env, tmp_path / "server.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def register(server: ServerProcess, login: str) -> Account:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        answer = http.post(
            "/api/auth/registration",
            json={"login": login, "password": PASSWORD},
            headers={"X-ADMIN-TOKEN": ADMIN_TOKEN},
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        until(
            lambda: http.get("/api/higgsfield/motions", headers={"X-API-KEY": body["api_key"]}).json(),
            "the motion catalog",
        )
    return Account(server.url, body["api_key"], body["webhook_secret"])


@pytest.fixture
def account(server) -> Account:
    return register(server, "acme")


@pytest.fixture
def image(tmp_path) -> Path:
    path = tmp_path / "first-frame.png"
    path.write_bytes(png())
    return path


@pytest.fixture
def stuck(fake) -> None:
    """Higgsfield's upload URL answers 503 for the whole test: new tasks stay `pending`."""
    fake.set_fault_rate(1, statuses=[503], endpoints=["upload_url"])


def test_create_then_wait_ends_completed_through_the_sandbox(account, image, fake):
    with account.client() as client:
        created = client.create(
            image=image,
            prompt="waves rolling in at dusk",
            motion="crash zoom in",
            model="lite",
            duration=5,
            seed=42,
            metadata={"ref": "order-1", "tags": ["a", "é"]},
        )
        assert isinstance(created, hf.Task) and created.status == "pending"
        assert not created.done and created.retry_of is None and created.completed_at is None

        task = client.wait(created, **QUICK)

        assert (task.id, task.status, task.done, task.error) == (created.id, "completed", True, None)
        assert task.video_url.startswith(fake.url) and task.thumbnail_url.startswith(fake.url)
        assert (task.prompt, task.motion, task.model, task.duration) == (
            "waves rolling in at dusk",
            "CRASH_ZOOM_IN",
            "lite",
            5,
        )
        assert task.metadata == {"ref": "order-1", "tags": ["a", "é"]}
        assert task.completed_at >= task.created_at
        assert client.get(task.id).status == "completed"
        # The gateway's copy of the video follows; wait() by id too.
        stored = until(
            lambda: (t := client.get(task.id)).output and t.output.state == "stored" and t, "the copy"
        )
        assert stored.output.video_url == f"/api/higgsfield/i2v/{task.id}/video"
        assert client.wait(task.id, **QUICK).status == "completed"
    # Higgsfield got the image's bytes and the seed.
    assert [content for content, _ in fake.uploads] == [png()]
    assert [body.get("seed") for body in fake.submissions] == [42]


def test_an_image_as_a_file_object_or_bytes_and_the_idempotency_key(account, image):
    with account.client() as client, image.open("rb") as file:
        first = client.create(image=file, prompt="one", idempotency_key="order-7")
        again = client.create(image=image, prompt="one", idempotency_key="order-7")
        assert again.id == first.id  # the same key and request: the first answer, no second task

        with pytest.raises(hf.ConflictError) as reused:
            client.create(image=image, prompt="another", idempotency_key="order-7")
        assert reused.value.status_code == 409 and "Idempotency-Key" in str(reused.value.detail)

        other = client.create(image=png(), prompt="one")
        assert other.id != first.id
        assert sorted(task.id for task in client.list()) == sorted([first.id, other.id])


def test_a_refusal_raises_the_exception_of_its_status_with_the_services_detail(server, account, image):
    with account.client() as client:
        with pytest.raises(hf.ValidationError) as invalid:
            client.create(image=image, duration=7)
        error = invalid.value
        assert isinstance(error, hf.ApiError) and error.status_code == 422
        assert error.fields == ["duration"]
        assert error.detail[0]["loc"] == ["body", "duration"] and "3 or 5" in error.detail[0]["msg"]
        assert "duration: " in str(error) and error.request_id

        with pytest.raises(hf.ValidationError) as unknown_motion:
            client.create(image=image, motion="MOONWALK")
        assert unknown_motion.value.fields == ["motion"]

        with pytest.raises(hf.UnsupportedMediaTypeError) as not_an_image:
            client.create(image=b"plain text, not an image")
        assert not_an_image.value.status_code == 415 and not_an_image.value.detail

        with pytest.raises(hf.NotFoundError) as missing:
            client.get(str(uuid.uuid4()))
        assert missing.value.status_code == 404 and isinstance(missing.value.detail, str)

        task = client.create(image=image)
        with register(server, "globex").client() as other, pytest.raises(hf.NotFoundError):
            other.get(task.id)  # another client's task: the same 404
        assert client.get(task.id).id == task.id  # nothing was stored behind the refusals
        assert [t.id for t in client.list()] == [task.id]

    with hf.Client(account.url, "not-a-key") as stranger, pytest.raises(hf.AuthenticationError) as refused:
        stranger.get(task.id)
    assert refused.value.status_code == 401 and refused.value.detail


@pytest.mark.parametrize("settings", [{"RATE_LIMIT_PER_MINUTE": "2"}])
def test_over_the_rate_limit_the_exception_says_when_to_try_again(account, image):
    with account.client() as client:
        client.create(image=image)
        client.create(image=image)
        with pytest.raises(hf.RateLimitError) as limited:
            client.create(image=image)
    assert limited.value.status_code == 429 and limited.value.detail
    assert 0 < limited.value.retry_after <= 60


def test_an_answer_that_is_not_the_services_json_is_still_an_api_error():
    """A proxy in front of the service answering 502 with a text page."""
    proxy = Starlette(routes=[Route("/{path:path}", lambda request: PlainTextResponse("Bad Gateway", 502))])
    with (
        LoopbackServer(proxy) as server,
        hf.Client(server.url, "some-key") as client,
        pytest.raises(hf.ApiError) as failed,
    ):
        client.get(str(uuid.uuid4()))
    assert type(failed.value) is hf.ApiError
    assert (failed.value.status_code, failed.value.detail) == (502, "Bad Gateway")


def test_list_iterates_over_every_page_newest_first(account):
    with account.client() as client:
        created = [client.create(image=png(), prompt=f"task {n}") for n in range(5)]
        newest_first = [task.id for task in reversed(created)]

        first = client.page(limit=2)
        assert len(first.items) == 2 and first.next_cursor
        assert [task.id for task in client.list(limit=2)] == newest_first

        for task in created:
            client.wait(task, **QUICK)
        assert [task.id for task in client.list(status="completed", limit=2)] == newest_first
        assert list(client.list(status="canceled")) == []


def test_cancel_a_pending_task_and_a_wait_that_runs_out_of_time(account, image, stuck):
    with account.client() as client:
        task = client.create(image=image)
        canceled = client.cancel(task)
        assert (canceled.id, canceled.status, canceled.done) == (task.id, "canceled", True)
        assert client.wait(task.id, **QUICK).status == "canceled"
        with pytest.raises(hf.ConflictError):
            client.cancel(task.id)  # final already

        waiting = client.create(image=image)
        with pytest.raises(hf.WaitTimeout) as timed_out:
            client.wait(waiting, timeout=0.3, initial_interval=0.05)
        assert isinstance(timed_out.value, TimeoutError)
        assert (timed_out.value.task.id, timed_out.value.task.status) == (waiting.id, "pending")


def test_a_callback_is_verified_and_a_tampered_one_refused(account, image, receiver):
    with account.client() as client:
        task = client.create(image=image, prompt="to be called back", callback_url=receiver.hook_url)
        client.wait(task, **QUICK)
    hit = until(receiver.hits, "the callback")[0]

    verified = hf.verify_callback(hit.headers, hit.body, account.webhook_secret)
    assert (verified.id, verified.status, verified.prompt) == (task.id, "completed", "to be called back")
    shouted = {name.upper(): value for name, value in hit.headers.items()}
    assert hf.verify_callback(shouted, hit.body.decode(), account.webhook_secret).id == task.id

    sent_at = int(hit.headers["webhook-timestamp"])
    signature = hit.headers["webhook-signature"]
    forged = signature[:-6] + ("AAAAA=" if not signature.endswith("AAAAA=") else "BBBBB=")
    tampered = {
        "another body": (hit.headers, hit.body.replace(b"completed", b"failed"), account.webhook_secret),
        "another signature": ({**hit.headers, "webhook-signature": forged}, hit.body, account.webhook_secret),
        "another id": ({**hit.headers, "webhook-id": "msg_other"}, hit.body, account.webhook_secret),
        "another secret": (hit.headers, hit.body, "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"),
        "no signature": (
            {k: v for k, v in hit.headers.items() if k != "webhook-signature"},
            hit.body,
            account.webhook_secret,
        ),
    }
    for what, (headers, body, secret) in tampered.items():
        with pytest.raises(hf.CallbackVerificationError):
            hf.verify_callback(headers, body, secret)
            pytest.fail(f"{what} was accepted")
    # A replay: the right signature, received past the tolerance (or from the future).
    for now in (sent_at + 301, sent_at - 301):
        with pytest.raises(hf.CallbackVerificationError, match="tolerance"):
            hf.verify_callback(hit.headers, hit.body, account.webhook_secret, now=now)
    assert hf.verify_callback(hit.headers, hit.body, account.webhook_secret, now=sent_at + 299).id == task.id


def test_me_and_the_default_callback(account, image, receiver):
    with account.client() as client:
        me = client.me()
        assert isinstance(me, hf.Me) and me.login == "acme" and me.callback_url is None
        assert me.rate_limit.per_minute == me.rate_limit.remaining == 60
        assert me.rate_limit.resets_in_seconds == 0 and me.key_issued_at >= me.created_at
        assert not {"api_key", "webhook_secret"} & set(me.raw)

        assert client.set_callback(receiver.hook_url).callback_url == receiver.hook_url
        defaulted = client.create(image=image, prompt="called back by default")
        assert defaulted.callback.url == receiver.hook_url
        client.wait(defaulted, **QUICK)
        hit = until(receiver.hits, "the default callback")[0]
        assert hf.verify_callback(hit.headers, hit.body, account.webhook_secret).id == defaulted.id
        assert client.me().rate_limit.remaining == 59

        with pytest.raises(hf.ValidationError) as refused:
            client.set_callback("ftp://example.com/hook")
        assert refused.value.fields == ["url"]

        assert client.clear_callback() is None
        client.clear_callback()  # idempotent
        assert client.me().callback_url is None
        assert client.create(image=image).callback is None


async def test_me_with_the_async_client(account):
    async with account.async_client() as client:
        await client.set_callback("https://example.com/hooks/hf")
        me = await client.me()
        assert (me.login, me.callback_url) == ("acme", "https://example.com/hooks/hf")
        await client.clear_callback()
        assert (await client.me()).callback_url is None


def test_retry_makes_a_new_task_from_an_ended_one(account, image, fake):
    with account.client() as client:
        first = client.wait(client.create(image=image, prompt="first", motion="DOLLY_IN", seed=7), **QUICK)

        retried = client.retry(first.id, prompt="second", idempotency_key="retry-1")
        assert retried.id != first.id and retried.retry_of == first.id
        assert (retried.prompt, retried.motion) == ("second", "DOLLY_IN")
        assert client.retry(first.id, prompt="second", idempotency_key="retry-1").id == retried.id
        assert client.wait(retried, **QUICK).status == "completed"
        assert [body.get("prompt") for body in fake.submissions] == ["first", "second"]

        with pytest.raises(hf.ValidationError) as unknown:
            client.retry(first.id, colour="red")
        assert unknown.value.fields == ["colour"]
        with pytest.raises(hf.NotFoundError):
            client.retry(str(uuid.uuid4()))


def test_retry_of_a_task_that_has_not_ended_is_a_conflict(account, image, stuck):
    with account.client() as client:
        pending = client.create(image=image)
        with pytest.raises(hf.ConflictError) as refused:
            client.retry(pending.id)
        assert refused.value.status_code == 409 and refused.value.detail


async def test_the_async_client(account, image, stuck, fake):
    async with account.async_client() as client:
        pending = await client.create(image=image, prompt="held")
        assert (await client.cancel(pending.id)).status == "canceled"
        waiting = await client.create(image=png(), prompt="held too")
        with pytest.raises(hf.WaitTimeout):
            await client.wait(waiting, timeout=0.2, initial_interval=0.05)

        fake.set_fault_rate(0)  # Higgsfield takes uploads again
        done = await client.wait(waiting, **QUICK)
        assert (done.id, done.status) == (waiting.id, "completed")
        assert (await client.get(done.id)).video_url

        listed = [task.id async for task in client.list(limit=1)]
        assert listed == [waiting.id, pending.id]
        with pytest.raises(hf.ValidationError) as invalid:
            await client.create(image=image, model="sketch")
        assert invalid.value.fields == ["model"]
        with pytest.raises(hf.NotFoundError):
            await client.get(str(uuid.uuid4()))


@pytest.mark.skipif(not README.exists(), reason="README.md is absent: higgsfield-api/ runs alone")
def test_the_readme_walk_through_in_python_runs(account):
    """The README's five lines of Python, run as they are from the repository root."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The same walk-through in Python") :]
    script = re.search(r"python3 - <<'EOF'\n(.*?)\nEOF\n", section, re.DOTALL).group(1)  # type: ignore[union-attr]
    assert len(script.splitlines()) == 5, script
    ran = subprocess.run(  # noqa: S603 - our own interpreter, the README's script
        [sys.executable, "-c", script.replace("http://127.0.0.1:8018", account.url)],
        cwd=README.parent,
        env={**os.environ, "KEY": account.api_key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip().startswith("http") and ran.stdout.strip().endswith(".mp4"), ran.stdout
