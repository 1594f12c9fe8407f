"""Schemathesis against the app's own OpenAPI schema, in-process: every operation, authenticated.

The app runs with its real lifespan on the test's event loop; Hypothesis drives each operation
from a worker thread and every request goes back to the loop through httpx's ASGI transport.
The seed and the example counts are fixed, so a run is repeatable and takes about a minute.
"""

from __future__ import annotations

import anyio
import anyio.from_thread
import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from tests.support.app import ADMIN_TOKEN, PASSWORD

SEED = 20_251_127
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 30}
# No 5xx, and every answer is in the schema: its status, content type, headers and body.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BASE_URL = "http://service.test"
LOGOUT = "POST /api/auth/logout"
# What the fuzzer must reach: a route missing from the schema would go untested unnoticed.
EXPECTED = {
    "POST /api/auth/registration",
    "POST /api/auth/login",
    LOGOUT,
    "POST /api/auth/clients/{login}/disable",
    "GET /api/auth/me",
    "PUT /api/auth/me/callback",
    "DELETE /api/auth/me/callback",
    "POST /api/higgsfield/i2v/",
    "POST /api/higgsfield/i2v/{task_id}/retry",
    "GET /api/higgsfield/i2v/",
    "GET /api/higgsfield/i2v/{task_id}",
    "GET /api/higgsfield/motions",
}
REQUEST_FIELDS = ("method", "url", "headers", "params", "data", "json", "files", "cookies")


def security_of(raw: dict, method: str, path: str) -> set[str]:
    return {name for requirement in raw["paths"][path][method].get("security", []) for name in requirement}


def test_the_schema_declares_both_security_schemes_per_operation(schema_dict):
    schemes = schema_dict["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-KEY",
        "description": "A client's API key",
    }
    assert schemes["AdminToken"]["name"] == "X-ADMIN-TOKEN"
    assert security_of(schema_dict, "post", "/api/auth/registration") == {"AdminToken"}
    assert security_of(schema_dict, "post", "/api/auth/clients/{login}/disable") == {"AdminToken"}
    assert security_of(schema_dict, "post", "/api/auth/login") == set()
    for path, operations in schema_dict["paths"].items():
        if path.startswith("/api/higgsfield"):
            for method in operations:
                assert security_of(schema_dict, method, path) == {"ApiKey"}, (method, path)
                assert "401" in operations[method]["responses"], (method, path)


async def test_every_secured_operation_refuses_a_missing_or_wrong_credential(service, schema_dict):
    """What Schemathesis' ignored_auth check would do, through our in-process transport."""
    for path, operations in schema_dict["paths"].items():
        for method in operations:
            for scheme in security_of(schema_dict, method, path):
                header = schema_dict["components"]["securitySchemes"][scheme]["name"]
                url = path.format(login="acme", task_id="00000000-0000-4000-8000-000000000000")
                for headers in ({}, {header: "wrong-credential-0123456789abcdef0123456789"}):
                    response = await service.client.request(method, url, headers=headers)
                    assert response.status_code == 401, (method, path, headers, response.text)


async def test_schemathesis_finds_no_server_error_and_no_schema_lie(service, api_key, schema_dict):
    schema = schemathesis.openapi.from_dict(schema_dict, config=SchemathesisConfig())
    credentials = {"ApiKey": {"X-API-KEY": api_key}, "AdminToken": {"X-ADMIN-TOKEN": ADMIN_TOKEN}}

    async def send(kwargs: dict) -> httpx.Response:
        # requests prepares the request exactly as Schemathesis' own transport would send it.
        prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in REQUEST_FIELDS}).prepare()
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        headers = [(name.encode("latin-1"), value.encode()) for name, value in prepared.headers.items()]
        return await service.client.request(
            prepared.method or "GET", prepared.url or "/", headers=headers, content=body
        )

    async def fresh_key() -> str:
        response = await service.client.post("/api/auth/login", json={"login": "acme", "password": PASSWORD})
        return response.json()["api_key"]

    def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
        needs = security_of(schema_dict, operation.method.lower(), operation.path)
        auth = {name: value for scheme in needs for name, value in credentials[scheme].items()}

        @seed(SEED)
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            headers = dict(auth)
            if operation.label == LOGOUT:  # logging out must not revoke the key the others use
                headers["X-API-KEY"] = anyio.from_thread.run(fresh_key)
            kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
            response = anyio.from_thread.run(send, kwargs)
            case.validate_response(response, checks=CHECKS)

        check()

    tested = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        tested.add(operation.label)
        for mode in EXAMPLES:
            await anyio.to_thread.run_sync(fuzz, operation, mode)
    assert tested >= EXPECTED


@pytest.fixture
def schema_dict(service) -> dict:
    return service.app.openapi()
