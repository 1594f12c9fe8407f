"""A new task as the form would hand it to the service: for tests that store tasks directly."""

from __future__ import annotations

from src.tasks.service import NewTask
from tests.support.images import png


def new_task(prompt: str = "") -> NewTask:
    """A small PNG, the default motion, model and duration, no callback."""
    return NewTask(prompt, "GENERAL", "standard", 5, None, 0.5, None, False, None, png(), "image/png")
