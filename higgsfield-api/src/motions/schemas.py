from __future__ import annotations

from pydantic import BaseModel


class MotionOut(BaseModel):
    name: str
    id: str
    description: str | None
