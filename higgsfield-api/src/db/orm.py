"""Tortoise configuration: one place that turns settings into an ORM config."""

from __future__ import annotations

import sys
from typing import Any

from tortoise.contrib.fastapi import RegisterTortoise

from src.core.config import Settings

MODELS_MODULE = "src.db.models"
MIGRATIONS_MODULE = "src.db.migrations"


MYSQL_CLIENT_MODULE = "tortoise.backends.mysql.client"


def use_mysql_driver(driver: str) -> None:
    """Tortoise's MySQL backend imports asyncmy when it can and aiomysql otherwise, once per
    process. MYSQL_DRIVER=aiomysql hides asyncmy from that import (a None in sys.modules makes
    `import asyncmy` fail); once the backend is loaded, its driver stays."""
    if MYSQL_CLIENT_MODULE in sys.modules:
        loaded = mysql_driver_in_use()
        if loaded != driver:
            raise RuntimeError(f"MYSQL_DRIVER={driver}, but this process already uses {loaded}")
        return
    if driver == "aiomysql":
        sys.modules["asyncmy"] = None  # type: ignore[assignment]
    elif sys.modules.get("asyncmy", ...) is None:
        del sys.modules["asyncmy"]


def mysql_driver_in_use() -> str | None:
    """The driver Tortoise's MySQL backend loaded, or None before it is loaded."""
    client = sys.modules.get(MYSQL_CLIENT_MODULE)
    return None if client is None else client.mysql.__name__.split(".")[0]


def tortoise_config(settings: Settings) -> dict[str, Any]:
    url = settings.db_url
    if not settings.db_is_sqlite:
        use_mysql_driver(settings.mysql_driver)
    if settings.db_is_sqlite:
        if not settings.database_url:  # the default file: make its folder (a given URL's is the user's)
            settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        # Several workers may share one file: wait for a lock instead of failing at once.
        url += ("&" if "?" in url else "?") + "busy_timeout=10000"
    return {
        "connections": {"default": url},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def register_orm(settings: Settings) -> RegisterTortoise:
    """The ORM as a lifespan resource (`async with register_orm(settings): ...`)."""
    return RegisterTortoise(config=tortoise_config(settings))
