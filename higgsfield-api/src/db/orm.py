"""Tortoise configuration: one place that turns settings into an ORM config."""

from typing import Any

from tortoise.contrib.fastapi import RegisterTortoise

from src.core.config import Settings


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """`sqlite://` runs on aiosqlite, `mysql://` on aiomysql (requirements/base.txt has no other driver)."""
    url = settings.db_url
    if settings.db_is_sqlite:
        if not settings.database_url:  # the default file: make its folder (a given URL's is the user's)
            settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        # Several workers may share one file: wait for a lock instead of failing at once.
        url += ("&" if "?" in url else "?") + "busy_timeout=10000"
    return {
        "connections": {"default": url},
        "apps": {
            "models": {
                "models": ["src.db.models"],
                "default_connection": "default",
                "migrations": "src.db.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def register_orm(settings: Settings) -> RegisterTortoise:
    return RegisterTortoise(config=tortoise_config(settings))
