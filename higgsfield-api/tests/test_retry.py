"""POST /api/higgsfield/i2v/{id}/retry against the sandbox as Higgsfield: a new task from an ended
one's fields (some replaced) and its image, reused from Higgsfield while it serves it, else from
the gateway's copy, else a 409; Idempotency-Key, the rate limit and another client's task."""

from __future__ import annotations

import json

import pytest

from src.db.models import IdempotencyKey, Task
from src.tasks import image_store
from tests.support.app import GENERATIONS, eventually, make_settings, register, running_app
from tests.support.images import png
from tests.test_lifecycle import create, final

I2V = "/api/higgsfield/i2v/"


def key(api_key: str) -> dict[str, str]:
    return {"X-API-KEY": api_key}


async def ended(service, api_key: str, **data) -> dict:
    """A task created and run to its end by the sandbox."""
    task = await create(service, api_key, **data)
    return await final(service.client, api_key, task["id"])


async def retry(service, api_key: str, task_id: str, body=None, **headers: str):
    return await service.client.post(f"{I2V}{task_id}/retry", headers={**key(api_key), **headers}, json=body)


@pytest.mark.parametrize("api_version", GENERATIONS)
async def test_a_retry_is_a_new_task_with_the_same_fields_and_higgsfields_copy_of_the_image(
    service, api_key, api_version
):
    first = await ended(
        service,
        api_key,
        prompt="a cat walks",
        motion="disintegration",
        model="lite",
        duration="3",
        metadata=json.dumps({"ref": 7}),
        seed="42",
        motion_strength="0.8",
        enhance_prompt="true",
    )
    assert first["status"] == "completed" and first["retry_of"] is None
    uploads = service.fake.calls["put"]

    response = await retry(service, api_key, first["id"])
    assert response.status_code == 202, response.text
    again = response.json()
    assert response.headers["location"] == f"{I2V.rstrip('/')}/{again['id']}"
    assert again["id"] != first["id"] and again["retry_of"] == first["id"]
    same = ("prompt", "motion", "model", "duration", "metadata")
    assert {name: again[name] for name in same} == {name: first[name] for name in same}
    old, new = await Task.get(id=first["id"]), await Task.get(id=again["id"])
    assert (new.seed, new.motion_strength, new.enhance_prompt) == (42, 0.8, True)
    assert new.image_url == old.image_url and new.image_key is None

    done = await final(service.client, api_key, again["id"])
    assert done["status"] == "completed" and done["retry_of"] == first["id"]
    assert service.fake.calls["put"] == uploads  # no second upload: Higgsfield's file was reused
    assert service.fake.image_urls == [old.image_url, old.image_url]
    listed = (await service.client.get(I2V, headers=key(api_key))).json()["items"]
    assert [(task["id"], task["retry_of"]) for task in listed] == [
        (again["id"], first["id"]),
        (first["id"], None),
    ]


async def test_the_body_replaces_the_fields_it_names_by_the_forms_rules(service, api_key, receiver):
    first = await ended(service, api_key, prompt="explode", metadata=json.dumps({"ref": 1}), seed="1")
    assert first["status"] == "failed"
    overrides = {
        "prompt": "a calm sea",
        "model": "lite",
        "duration": 3,
        "seed": 9,
        "metadata": {"ref": 2, "tags": ["x"]},
        "callback_url": receiver.hook_url,
    }
    response = await retry(service, api_key, first["id"], overrides)
    assert response.status_code == 202, response.text
    again = response.json()
    assert (again["prompt"], again["model"], again["duration"]) == ("a calm sea", "lite", 3)
    assert again["metadata"] == {"ref": 2, "tags": ["x"]} and again["motion"] == first["motion"]
    assert again["callback"]["url"] == receiver.hook_url
    assert (await Task.get(id=again["id"])).seed == 9
    # Metadata as JSON text, as the form takes it, and null clears it.
    as_text = await retry(service, api_key, first["id"], {"metadata": '{"ref": 3}'})
    assert as_text.json()["metadata"] == {"ref": 3}
    cleared = await retry(service, api_key, first["id"], {"metadata": None})
    assert cleared.json()["metadata"] is None
    # No body and an empty object both retry the task as it was.
    for body in (None, {}):
        plain = await retry(service, api_key, first["id"], body)
        assert plain.status_code == 202 and plain.json()["prompt"] == "explode"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"image": "x"}, "image"),
        ({"prompt": "ok", "colour": "red"}, "colour"),
        ({"duration": 4}, "duration"),
        ({"model": "huge"}, "model"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"seed": -1}, "seed"),
        ({"motion_strength": 2}, "motion_strength"),
        ({"callback_url": "ftp://example.com/h"}, "callback_url"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"metadata": {"big": "x" * 17_000}}, "metadata"),
        ({"motion": "no-such-motion"}, "motion"),
    ],
)
async def test_a_bad_override_is_a_422_naming_it_and_makes_no_task(service, api_key, body, field):
    first = await ended(service, api_key)
    response = await retry(service, api_key, first["id"], body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field, response.text
    assert await Task.all().count() == 1


async def test_a_body_that_is_not_an_object_is_a_422(service, api_key):
    first = await ended(service, api_key)
    for body in ([], "prompt", 3):
        response = await retry(service, api_key, first["id"], body)
        assert response.status_code == 422, response.text
    assert await Task.all().count() == 1


async def test_another_clients_task_and_an_unknown_one_are_the_same_404(service, api_key, other_api_key):
    first = await ended(service, api_key)
    theirs = await retry(service, other_api_key, first["id"])
    unknown = await retry(service, api_key, "0c0ffee0-0000-4000-8000-000000000000")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json() == {"detail": "Task not found"}
    assert (await retry(service, "hf_nope", first["id"])).status_code == 401
    assert await Task.all().count() == 1


async def test_a_task_that_has_not_ended_is_a_409(service, api_key):
    service.fake.fail_next("upload_url", [503] * 1000)  # Higgsfield is down: the task waits, pending
    task = await create(service, api_key)
    response = await retry(service, api_key, task["id"])
    assert response.status_code == 409
    assert "not ended" in response.json()["detail"]
    assert await Task.all().count() == 1


async def test_an_image_gone_from_higgsfield_and_the_gateway_is_a_409_and_nothing_is_stored(service, api_key):
    first = await ended(service, api_key)
    old = await Task.get(id=first["id"])
    service.fake.expire_upload(old.image_url)
    response = await service.client.post(
        f"{I2V}{first['id']}/retry", headers={**key(api_key), "Idempotency-Key": "gone-1"}
    )
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "image is gone" in detail and "new task" in detail
    assert await Task.all().count() == 1
    assert await IdempotencyKey.all().count() == 0


async def test_an_image_gone_from_higgsfield_is_sent_again_from_the_gateways_copy(service, api_key):
    """The gateway deletes an image once Higgsfield has it; one still there (its delete was cut
    short, and the sweep has not come by yet) is uploaded again for the retry."""
    first = await ended(service, api_key)
    old = await Task.get(id=first["id"])
    service.fake.expire_upload(old.image_url)
    image = png((120, 90))
    await service.state["blobs"].put(image_store.key_for(old.id), image)
    uploads = service.fake.calls["put"]

    response = await retry(service, api_key, first["id"])
    assert response.status_code == 202, response.text
    again = response.json()
    done = await final(service.client, api_key, again["id"])
    assert done["status"] == "completed" and done["retry_of"] == first["id"]
    assert service.fake.calls["put"] == uploads + 1
    assert service.fake.uploads[-1] == (image, "image/png")
    new = await Task.get(id=again["id"])
    assert new.image_url != old.image_url and new.image_url in service.fake.image_urls


async def test_higgsfield_unreachable_for_the_check_and_no_copy_is_a_503(service, api_key):
    first = await ended(service, api_key)
    service.fake.fail_next("file", [503])
    response = await retry(service, api_key, first["id"])
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert "could not be reached" in response.json()["detail"]
    assert await Task.all().count() == 1
    assert (await retry(service, api_key, first["id"])).status_code == 202  # once it answers again


async def test_an_idempotency_key_replays_the_first_retry(service, api_key):
    first = await ended(service, api_key)
    headers = {"Idempotency-Key": "retry-7"}
    one = await retry(service, api_key, first["id"], {"prompt": "again"}, **headers)
    two = await retry(service, api_key, first["id"], {"prompt": "again"}, **headers)
    assert one.status_code == two.status_code == 202
    assert two.json() == one.json() and two.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in one.headers
    assert await Task.filter(retry_of=first["id"]).count() == 1

    other_body = await retry(service, api_key, first["id"], {"prompt": "other"}, **headers)
    assert other_body.status_code == 409 and "Idempotency-Key" in other_body.json()["detail"]
    second = await ended(service, api_key)
    other_task = await retry(service, api_key, second["id"], {"prompt": "again"}, **headers)
    assert other_task.status_code == 409
    # A create's key is not a retry's: the same key on both is another request.
    created = await service.client.post(
        I2V,
        headers={**key(api_key), "Idempotency-Key": "retry-7"},
        files={"image": ("a.png", png(), "image/png")},
    )
    assert created.status_code == 409
    assert await Task.filter(retry_of=first["id"]).count() == 1


async def test_a_retry_counts_against_the_create_rate_limit(db_url, fake):
    settings = make_settings(db_url, fake.url, rate_limit_per_minute=2)
    async with running_app(settings) as (_state, client):
        api_key = (await register(client))["api_key"]
        files = {"image": ("a.png", png(), "image/png")}
        task = (await client.post(I2V, headers=key(api_key), files=files)).json()
        await final(client, api_key, task["id"])
        first = await client.post(f"{I2V}{task['id']}/retry", headers=key(api_key))
        assert first.status_code == 202, first.text
        limited = await client.post(f"{I2V}{task['id']}/retry", headers=key(api_key))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        me = (await client.get("/api/auth/me", headers=key(api_key))).json()
        assert me["rate_limit"]["remaining"] == 0
        assert await Task.all().count() == 2


async def test_a_retry_without_callback_url_takes_the_clients_default_then(service, api_key, receiver):
    first = await ended(service, api_key)
    assert first["callback"] is None
    await service.client.put("/api/auth/me/callback", headers=key(api_key), json={"url": receiver.hook_url})
    again = (await retry(service, api_key, first["id"])).json()
    assert again["callback"]["url"] == receiver.hook_url
    await final(service.client, api_key, again["id"])
    hits = await eventually(lambda: _hits(receiver), what="the retry's callback")
    assert [hit.headers["webhook-id"] for hit in hits] == [f"msg_{again['id']}"]


async def _hits(receiver) -> list:
    return receiver.hits()
