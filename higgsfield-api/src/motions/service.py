"""The motion catalog: loaded from Higgsfield at run time, cached in the database."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from tortoise.transactions import in_transaction

from src.core.errors import InvalidField, ServiceUnavailable
from src.db.models import Motion
from src.motions import builtin

if TYPE_CHECKING:
    from src.upstream.client import HiggsfieldClient

logger = logging.getLogger(__name__)


def motion_name(title: str) -> str:
    """Higgsfield's "Crash Zoom In" is the service's CRASH_ZOOM_IN."""
    return re.sub(r"[\s\-]+", "_", title.strip()).upper()


async def refresh_catalog(higgsfield: HiggsfieldClient) -> int:
    """Replaces the cached catalog with Higgsfield's (or the built-in one); returns its size."""
    items = await higgsfield.list_motions()
    return await store_catalog(builtin.catalog() if items is None else items)


async def store_catalog(items: list[Any]) -> int:
    """Replaces the cached catalog with these items (as `/v1/motions` lists them)."""
    catalog = {
        str(item["id"]): {
            "name": motion_name(str(item["name"])),
            "title": str(item["name"]),
            "description": item.get("description"),
            "preview_url": item.get("preview_url"),
        }
        for item in items
        if isinstance(item, dict) and item.get("id") and item.get("name")
    }
    if not catalog:
        logger.warning("Higgsfield returned an empty motion catalog; keeping the cached one")
        return await Motion.all().count()
    async with in_transaction():
        await Motion.exclude(id__in=list(catalog)).delete()
        for motion_id, fields in catalog.items():
            await Motion.update_or_create(fields, id=motion_id)
    logger.info("Motion catalog refreshed: %d motions", len(catalog))
    return len(catalog)


async def list_motions() -> list[dict[str, Any]]:
    return await Motion.all().order_by("name").values("name", "id", "description")


async def resolve(name: str) -> tuple[str, str]:
    """(normalised name, upstream id) of a motion given by any case; 422 lists the valid names."""
    wanted = motion_name(name)
    found = await Motion.filter(name=wanted).values_list("id", flat=True)
    if found:
        return wanted, str(found[0])
    names = await Motion.all().order_by("name").values_list("name", flat=True)
    if not names:
        raise ServiceUnavailable(
            "The motion catalog has not been loaded from Higgsfield yet; try again shortly",
            retry_after=5,
        )
    raise InvalidField("motion", f"Unknown motion {name!r}; valid motions: {', '.join(names)}")
