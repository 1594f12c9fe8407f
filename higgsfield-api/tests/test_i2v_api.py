"""Creating, reading and listing tasks: validation, answers, isolation between clients."""

from __future__ import annotations

import json

import pytest

from src.db.models import Task
from src.motions import builtin
from src.motions.service import motion_name
from tests.support.app import eventually
from tests.support.images import image_bytes, png

I2V = "/api/higgsfield/i2v/"


async def test_create_answers_202_with_the_task_and_its_location(service, api_key):
    response = await service.client.post(
        I2V,
        headers={"X-API-KEY": api_key},
        files={"image": ("cat.png", png(), "image/png")},
        data={
            "prompt": "a cat walks",
            "motion": "disintegration",
            "model": "lite",
            "duration": "3",
            "metadata": json.dumps({"ref": "order-7", "n": [1, 2]}),
            "motion_strength": "0.8",
            "seed": "42",
            "enhance_prompt": "true",
        },
    )
    assert response.status_code == 202, response.text
    task = response.json()
    assert response.headers["location"] == f"/api/higgsfield/i2v/{task['id']}"
    assert task["status"] == "pending" or task["status"] in ("queued", "in_progress")
    assert task["prompt"] == "a cat walks"
    assert task["motion"] == "DISINTEGRATION"
    assert task["model"] == "lite"
    assert task["duration"] == 3
    assert task["metadata"] == {"ref": "order-7", "n": [1, 2]}
    assert task["callback"] is None
    assert task["video_url"] is None and task["error"] is None and task["completed_at"] is None
    assert task["created_at"].endswith(("Z", "+00:00"))

    stored = await Task.get(id=task["id"])
    assert (stored.motion_strength, stored.seed, stored.enhance_prompt) == (0.8, 42, True)


async def test_create_has_the_documented_defaults(service, api_key):
    response = await service.client.post(
        I2V.rstrip("/"), headers={"X-API-KEY": api_key}, files={"image": ("a.png", png(), "image/png")}
    )
    assert response.status_code == 202, response.text  # no final slash: no redirect either
    task = response.json()
    assert (task["prompt"], task["motion"], task["model"], task["duration"], task["metadata"]) == (
        "",
        "GENERAL",
        "standard",
        5,
        None,
    )
    stored = await Task.get(id=task["id"])
    assert (stored.motion_strength, stored.seed, stored.enhance_prompt) == (0.5, None, False)


@pytest.mark.parametrize(
    "fmt,content_type", [("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("PNG", "image/png")]
)
async def test_the_image_type_comes_from_its_bytes(service, api_key, fmt, content_type):
    response = await service.client.post(
        I2V,
        headers={"X-API-KEY": api_key},
        files={"image": ("misleading.gif", image_bytes(fmt), "application/octet-stream")},
    )
    assert response.status_code == 202, response.text
    assert (await Task.get(id=response.json()["id"])).image_type == content_type


@pytest.mark.parametrize(
    "data,name",
    [
        (b"GIF89a" + b"\0" * 100, "fake.png"),
        (b"%PDF-1.4 not an image", "doc.jpg"),
        (image_bytes("GIF"), "real.gif"),
        (png()[:40], "truncated.png"),
    ],
)
async def test_bytes_that_are_not_a_jpeg_png_or_webp_are_415(service, api_key, data, name):
    response = await service.client.post(
        I2V, headers={"X-API-KEY": api_key}, files={"image": (name, data, "image/png")}
    )
    assert response.status_code == 415, response.text
    assert "JPEG, PNG or WEBP" in response.json()["detail"]
    assert await Task.all().count() == 0


async def test_an_image_over_10_mib_is_413(service, api_key):
    data = png() + b"\0" * (10 * 1024 * 1024)
    response = await service.client.post(
        I2V, headers={"X-API-KEY": api_key}, files={"image": ("big.png", data, "image/png")}
    )
    assert response.status_code == 413
    assert await Task.all().count() == 0


@pytest.mark.parametrize("size", [(63, 100), (100, 32), (4097, 64)])
async def test_image_dimensions_out_of_range_are_422(service, api_key, size):
    response = await service.client.post(
        I2V, headers={"X-API-KEY": api_key}, files={"image": ("a.png", png(size), "image/png")}
    )
    assert response.status_code == 422, response.text
    assert "64" in response.text and "4096" in response.text


@pytest.mark.parametrize(
    "field,value",
    [
        ("model", "ultra"),
        ("duration", "4"),
        ("duration", "five"),
        ("prompt", "x" * 2001),
        ("motion_strength", "1.5"),
        ("motion_strength", "-0.1"),
        ("seed", "1000001"),
        ("seed", "-1"),
        ("metadata", "[1, 2]"),
        ("metadata", "{not json"),
        ("metadata", json.dumps({"k": "v" * 16400})),
        ("enhance_prompt", "maybe"),
    ],
)
async def test_invalid_fields_are_422_naming_the_field(service, api_key, field, value):
    response = await service.client.post(
        I2V,
        headers={"X-API-KEY": api_key},
        files={"image": ("a.png", png(), "image/png")},
        data={field: value},
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert any(field in item["loc"] for item in detail), detail
    assert await Task.all().count() == 0


async def test_a_missing_image_is_422(service, api_key):
    response = await service.client.post(I2V, headers={"X-API-KEY": api_key}, data={"prompt": "x"})
    assert response.status_code == 422


async def test_an_unknown_motion_lists_the_valid_names(service, api_key):
    response = await service.client.post(
        I2V,
        headers={"X-API-KEY": api_key},
        files={"image": ("a.png", png(), "image/png")},
        data={"motion": "moonwalk"},
    )
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    for name in ("GENERAL", "DISINTEGRATION", "CRASH_ZOOM_IN"):
        assert name in message


@pytest.mark.parametrize("api_version", ["v1"])
async def test_motions_lists_the_catalog_with_upstream_ids(service, api_key):
    response = await service.client.get("/api/higgsfield/motions", headers={"X-API-KEY": api_key})
    assert response.status_code == 200
    motions = {m["name"]: m for m in response.json()}
    assert {"GENERAL", "DISINTEGRATION", "CRASH_ZOOM_IN"} <= set(motions)
    assert set(motions["GENERAL"]) == {"name", "id", "description"}
    upstream = {m.name: m.id for m in service.fake.settings.motions}
    assert motions["CRASH_ZOOM_IN"]["id"] == upstream["Crash Zoom In"]


async def test_motions_on_v2_are_the_built_in_names_without_asking_higgsfield(service, api_key):
    response = await service.client.get("/api/higgsfield/motions", headers={"X-API-KEY": api_key})
    assert response.status_code == 200
    assert [m["name"] for m in response.json()] == sorted(motion_name(m.name) for m in builtin.MOTIONS)
    assert service.fake.calls["motions"] == 0  # v2 documents no catalog


async def test_create_is_503_with_retry_after_before_the_catalog_is_loaded(db_url, fake):
    from tests.support.app import make_settings, register, running_app

    fake.fail_next("motions", [503] * 1000)
    settings = make_settings(db_url, fake.url, hf_api_version="v1")  # v2 has the built-in catalog
    async with running_app(settings, wait_for_catalog=False) as (_app, client):
        key = (await register(client))["api_key"]
        response = await client.post(
            I2V, headers={"X-API-KEY": key}, files={"image": ("a.png", png(), "image/png")}
        )
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0


async def test_another_clients_task_is_404(service, api_key, other_api_key):
    created = await service.client.post(
        I2V, headers={"X-API-KEY": api_key}, files={"image": ("a.png", png(), "image/png")}
    )
    task_id = created.json()["id"]
    mine = await service.client.get(f"{I2V}{task_id}", headers={"X-API-KEY": api_key})
    theirs = await service.client.get(f"{I2V}{task_id}", headers={"X-API-KEY": other_api_key})
    missing = await service.client.get(
        f"{I2V}00000000-0000-4000-8000-000000000000", headers={"X-API-KEY": api_key}
    )
    assert mine.status_code == 200 and mine.json()["id"] == task_id
    assert theirs.status_code == 404
    assert theirs.json() == missing.json()
    listed = await service.client.get(I2V, headers={"X-API-KEY": other_api_key})
    assert listed.json() == {"items": [], "next_cursor": None}


async def test_list_pages_newest_first_without_repeats(service, api_key, other_api_key):
    ids = []
    for n in range(7):
        response = await service.client.post(
            I2V,
            headers={"X-API-KEY": api_key},
            files={"image": ("a.png", png(), "image/png")},
            data={"prompt": f"task {n}"},
        )
        ids.append(response.json()["id"])
    await service.client.post(
        I2V, headers={"X-API-KEY": other_api_key}, files={"image": ("a.png", png(), "image/png")}
    )

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await service.client.get(I2V, headers={"X-API-KEY": api_key}, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert seen == list(reversed(ids))


async def test_list_filters_by_status_and_validates_its_query(service, api_key):
    headers = {"X-API-KEY": api_key}
    created = await service.client.post(I2V, headers=headers, files={"image": ("a.png", png(), "image/png")})
    task_id = created.json()["id"]

    async def completed() -> bool:
        return (await service.client.get(f"{I2V}{task_id}", headers=headers)).json()["status"] == "completed"

    await eventually(completed, what="the task to complete")
    done = await service.client.get(I2V, headers=headers, params={"status": "completed"})
    failed = await service.client.get(I2V, headers=headers, params={"status": "failed"})
    assert [item["id"] for item in done.json()["items"]] == [task_id]
    assert failed.json()["items"] == []
    for params in ({"status": "bogus"}, {"limit": 0}, {"limit": 101}, {"cursor": "!!!"}):
        response = await service.client.get(I2V, headers=headers, params=params)
        assert response.status_code == 422, params


async def test_a_bad_key_is_a_401_before_a_bad_parameter_is_a_422(service, api_key):
    refused = {
        f"{I2V}not-a-uuid": [["path", "task_id"]],
        f"{I2V}?limit=0": [["query", "limit"]],
        f"{I2V}?status=bogus&limit=ten&cursor={'c' * 513}": [
            ["query", "status"],
            ["query", "limit"],
            ["query", "cursor"],
        ],
        f"{I2V}?cursor=!!!": [["query", "cursor"]],
    }
    for url, locations in refused.items():
        for headers in ({}, {"X-API-KEY": "wrong"}):
            response = await service.client.get(url, headers=headers)
            assert response.status_code == 401, (url, headers, response.text)
        response = await service.client.get(url, headers={"X-API-KEY": api_key})
        assert response.status_code == 422, (url, response.text)
        assert [error["loc"] for error in response.json()["detail"]] == locations
    for path in (I2V, I2V.rstrip("/")):  # with and without the final slash, no redirect
        response = await service.client.get(path, headers={"X-API-KEY": api_key})
        assert response.status_code == 200 and response.json() == {"items": [], "next_cursor": None}
