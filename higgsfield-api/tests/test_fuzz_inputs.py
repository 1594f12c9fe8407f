"""Hostile input, drawn by Hypothesis: the create form and both auth bodies, with text from all of
Unicode (lone surrogates and NUL included, written as the bytes a client could send), numbers
with NaN and infinities, and deep nesting. Every answer is a 2xx or a 4xx, the client's list
stays 200 with strict JSON, and exactly one task is stored per 202.

The seed and the example counts are fixed, so a run is repeatable and bounded in time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.from_thread
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from src.core import strict_input
from src.db.models import Task
from tests.support.app import ADMIN_TOKEN, make_settings, register, running_app
from tests.support.multipart import multipart

SEED = 20_261_203
FORM_EXAMPLES = 200
AUTH_EXAMPLES = 100
I2V = "/api/higgsfield/i2v/"


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


# Any code point, lone surrogates (category Cs) and NUL included.
any_text = st.text(st.characters(exclude_categories=[]), max_size=24)
numbers = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**400), 10**400)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)
deep = st.integers(1, 1500).map(
    lambda depth: {"deep": json.loads("[" * min(depth, 900) + "]" * min(depth, 900))}
)


def raw(text: str) -> bytes:
    """The bytes a client could send for `text`: surrogates written as UTF-8 would write them."""
    return text.encode("utf-8", "surrogatepass")


@st.composite
def json_text(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> bytes:
    """JSON as a lax encoder writes it: NaN and Infinity as words, surrogates escaped or not."""
    value = draw(values)
    ascii_only = draw(st.booleans())
    try:
        return raw(json.dumps(value, allow_nan=True, ensure_ascii=ascii_only))
    except RecursionError:
        return b"[" * 1500 + b"]" * 1500


text_field = any_text.map(raw) | st.binary(max_size=24)
form_fields = st.fixed_dictionaries(
    {},
    optional={
        "prompt": text_field,
        "motion": st.sampled_from([b"GENERAL", b"disintegration"]) | text_field,
        "model": st.sampled_from([b"lite", b"standard", b"turbo"]) | text_field,
        "duration": st.sampled_from([b"3", b"5"]) | text_field,
        "metadata": json_text(st.dictionaries(any_text, json_values, max_size=4) | deep) | text_field,
        "motion_strength": numbers.map(lambda n: str(n).encode()) | text_field,
        "seed": st.integers(-5, 2_000_000).map(lambda n: str(n).encode()) | text_field,
        "enhance_prompt": st.sampled_from([b"true", b"false"]) | text_field,
        "callback_url": st.sampled_from([b"https://example.com/hook", b"http://2130706433/"]) | text_field,
    },
)
idempotency_keys = st.none() | st.binary(min_size=1, max_size=40).filter(
    lambda b: b"\r" not in b and b"\n" not in b
)
credentials = st.fixed_dictionaries(
    {},
    optional={
        "login": st.sampled_from(["acme", "fuzz.client"]) | any_text | json_values,
        "password": st.just("correct horse battery") | any_text | json_values,
        "extra": json_values | deep,
    },
)


@pytest.fixture
async def fuzzed(db_url: str, fake) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The service without a rate limit in the way (every create must reach validation)."""
    settings_ = make_settings(db_url, fake.url, rate_limit_per_minute=1_000_000)
    async with running_app(settings_) as (_app, client):
        yield client, (await register(client, "acme"))["api_key"]


def strict(response: httpx.Response) -> Any:
    return strict_input.loads(response.content, max_depth=64)


async def test_the_create_form_never_fails_and_stores_one_task_per_202(fuzzed):
    client, key = fuzzed
    created = 0

    async def create(fields: dict[str, bytes], idempotency_key: bytes | None) -> httpx.Response:
        body, content_type = multipart(fields)
        headers: dict[str, Any] = {"X-API-KEY": key, "Content-Type": content_type}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await client.post(I2V, content=body, headers=headers)

    async def listed() -> httpx.Response:
        return await client.get(I2V, params={"limit": 100}, headers={"X-API-KEY": key})

    @seed(SEED)
    @fuzz(FORM_EXAMPLES)
    @given(fields=form_fields, idempotency_key=idempotency_keys)
    def check(fields: dict[str, bytes], idempotency_key: bytes | None) -> None:
        nonlocal created
        response = anyio.from_thread.run(create, fields, idempotency_key)
        assert response.status_code < 500, (fields, response.text)
        strict(response)
        if response.status_code == 202 and "Idempotent-Replayed" not in response.headers:
            created += 1
        page = anyio.from_thread.run(listed)
        assert page.status_code == 200, page.text
        strict(page)

    await anyio.to_thread.run_sync(check)
    assert await Task.all().count() == created
    assert created > 0  # the strategies reach valid forms too, not only refusals


@pytest.mark.parametrize("path", ["/api/auth/registration", "/api/auth/login"])
async def test_auth_bodies_never_fail(fuzzed, path):
    client, _key = fuzzed

    async def post(body: bytes) -> httpx.Response:
        headers = {"Content-Type": "application/json", "X-ADMIN-TOKEN": ADMIN_TOKEN}
        return await client.post(path, content=body, headers=headers)

    @seed(SEED)
    @fuzz(AUTH_EXAMPLES)
    @given(body=json_text(credentials))
    def check(body: bytes) -> None:
        response = anyio.from_thread.run(post, body)
        assert response.status_code < 500, (body, response.text)
        strict(response)

    await anyio.to_thread.run_sync(check)
