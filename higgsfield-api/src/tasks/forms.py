"""The multipart form of a new task, parsed and checked before any work is stored."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, File, Form, Request, UploadFile

from src.core.config import Settings
from src.core.errors import InvalidField, PayloadTooLarge
from src.tasks import idempotency, images
from src.tasks.schemas import TaskFields
from src.tasks.service import NewTask, check_choices
from src.web import form_text


def idempotency_key_rule(value: str | None) -> str | None:
    """An Idempotency-Key is printable ASCII (a UUID is typical): a header carries no other text."""
    if value is not None and not (value.isascii() and value.isprintable()):
        raise ValueError("Idempotency-Key must be printable ASCII, e.g. a UUID")
    return value


@dataclass(frozen=True, slots=True)
class TaskForm:
    """The form as read by `task_form`; `to_new_task` checks what needs the settings or I/O."""

    image: UploadFile
    fields: TaskFields

    async def to_new_task(self, settings: Settings) -> NewTask:
        await check_choices(self.fields, settings)
        limit = settings.max_image_bytes
        data = await self.image.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"The image is larger than {limit} bytes")
        return NewTask(self.fields, data, await images.content_type(data))

    def fingerprint(self, new: NewTask) -> str:
        """The request as sent, for Idempotency-Key: its fields and its image."""
        return idempotency.fingerprint(dict(self.fields), new.image or b"")


async def form_bytes_are_text(request: Request) -> None:
    """The raw-bytes check (src/web/form_text.py), before the fields are validated."""
    if problem := request.scope.get("state", {}).get(form_text.STATE_KEY):
        raise InvalidField(*problem)


async def task_form(
    image: Annotated[UploadFile, File(description="JPEG, PNG or WEBP; at most 10 MiB; 64-4096 px a side")],
    fields: Annotated[TaskFields, Form()],
    _checked: Annotated[None, Depends(form_bytes_are_text)],
) -> TaskForm:
    """A coroutine, not TaskForm itself as the dependency: FastAPI would call a class (or any
    plain function) in a worker thread."""
    return TaskForm(image, fields)
