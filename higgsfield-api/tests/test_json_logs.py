"""The server's log format: one JSON object a line, with the request id and the task id."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from src.core.log_redaction import install_log_redaction
from src.core.logs import JsonFormatter
from tests.support.app import eventually
from tests.support.images import png

I2V = "/api/higgsfield/i2v/"
LINE_KEYS = {"timestamp", "level", "logger", "message", "request_id"}
ACCESS_KEYS = LINE_KEYS | {"method", "route", "status", "duration_ms"}


@contextmanager
def captured(name: str) -> Iterator[io.StringIO]:
    """What `name` logs at INFO meanwhile, written by the service's JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]  # each line one object


async def test_each_request_writes_one_access_line_with_its_request_id(service, api_key):
    headers = {"X-API-KEY": api_key}
    with captured("src.access") as stream:
        created = await service.client.post(
            I2V, headers=headers, files={"image": ("a.png", png(), "image/png")}
        )
        task_id = created.json()["id"]
        mine = await service.client.get(
            f"{I2V}{task_id}", headers={**headers, "X-Request-ID": "client-req-42"}
        )
        fresh = await service.client.get(I2V, headers=headers)
    lines = parsed(stream)

    assert mine.headers["x-request-id"] == "client-req-42"
    [line] = [line for line in lines if line["request_id"] == "client-req-42"]
    assert ACCESS_KEYS | {"task_id"} <= set(line)
    assert line["level"] == "INFO" and line["logger"] == "src.access" and line["method"] == "GET"
    assert line["route"] == "/api/higgsfield/i2v/{task_id}" and line["status"] == 200
    assert line["task_id"] == task_id
    assert line["message"] == "GET /api/higgsfield/i2v/{task_id} 200"
    assert isinstance(line["duration_ms"], float | int)

    made_up = fresh.headers["x-request-id"]
    assert [(line["route"], line["status"]) for line in lines if line["request_id"] == made_up] == [
        (I2V, 200)
    ]
    created_line = next(line for line in lines if line["request_id"] == created.headers["x-request-id"])
    assert created_line["status"] == 202 and "task_id" not in created_line  # no task id in its path


async def test_the_poller_names_the_task_in_its_lines(service, api_key):
    with captured("src.upstream.poll") as stream:
        created = await service.client.post(
            I2V, headers={"X-API-KEY": api_key}, files={"image": ("a.png", png(), "image/png")}
        )
        task_id = created.json()["id"]

        async def progressed() -> bool:
            return task_id in stream.getvalue()

        await eventually(progressed, what="the poller to log the task's progress")
    line = next(line for line in parsed(stream) if task_id in line["message"])
    assert line["task_id"] == task_id and line["logger"] == "src.upstream.poll"
    assert "request_id" not in line  # a scheduler job, not a request


def test_redaction_still_applies_to_json_lines():
    install_log_redaction()
    logger = logging.getLogger("tortoise.db_client")
    record = logger.makeRecord(
        logger.name, logging.DEBUG, __file__, 1, "%s: %s", ("SELECT 1", ["hfk_secret-key"]), None
    )
    assert all(log_filter.filter(record) for log_filter in logger.filters)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "SELECT 1: <1 values hidden>"


def test_an_exception_stays_on_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert "ValueError: boom" in line["exception"] and set(line) == {
        "timestamp",
        "level",
        "logger",
        "message",
        "exception",
    }
