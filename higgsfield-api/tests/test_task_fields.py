"""One model per task field: every field of TaskFields is in the create form, the stored row,
the submission and (unless excluded) the answer, with no other list to keep in step."""

from __future__ import annotations

from src.db.models import Task
from src.tasks.schemas import ANSWER_FIELDS, PUBLIC_COLUMNS, TaskFields, TaskOut
from tests.support.images import png

FIELDS = tuple(TaskFields.model_fields)
ANSWERED = tuple(name for name, field in TaskFields.model_fields.items() if not field.exclude)


def form_properties(openapi: dict) -> dict:
    """The create form's fields, as the OpenAPI document describes them."""
    schemas = openapi["components"]["schemas"]
    body = openapi["paths"]["/api/higgsfield/i2v/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form = schemas[body["schema"]["$ref"].split("/")[-1]]
    properties = dict(form.get("properties", {}))
    for part in form.get("allOf", []):
        properties.update(schemas[part["$ref"].split("/")[-1]]["properties"])
    return properties


def test_every_field_is_a_column_and_in_the_answer_unless_excluded() -> None:
    columns = {field["name"] for field in Task.describe()["data_fields"]}
    assert set(FIELDS) <= columns
    assert set(ANSWERED) <= set(ANSWER_FIELDS) and set(ANSWERED) <= set(PUBLIC_COLUMNS)
    assert set(ANSWER_FIELDS) == set(TaskOut.model_json_schema(mode="serialization")["properties"])


async def test_every_field_is_in_the_form_stored_and_answered(service, api_key) -> None:
    openapi = (await service.client.get("/openapi.json")).json()
    assert set(FIELDS) | {"image"} == set(form_properties(openapi))

    sent = {"prompt": "dusk", "motion": "GENERAL", "model": "lite", "duration": "3", "metadata": '{"a": 1}'}
    sent |= {"motion_strength": "0.25", "seed": "7", "enhance_prompt": "true"}
    sent["callback_url"] = "http://127.0.0.1:9/hook"
    assert set(sent) == set(FIELDS), "a new field needs a value here"
    created = await service.client.post(
        "/api/higgsfield/i2v/",
        headers={"X-API-KEY": api_key},
        files={"image": ("a.png", png(), "image/png")},
        data=sent,
    )
    assert created.status_code == 202, created.text
    answer = created.json()
    expected = TaskFields.model_validate(sent)
    [stored] = await Task.filter(id=answer["id"]).values(*FIELDS)
    assert TaskFields.model_validate(stored) == expected
    for name in ANSWERED:
        assert answer[name] == getattr(expected, name), name
    assert answer["callback"]["url"] == sent["callback_url"]
