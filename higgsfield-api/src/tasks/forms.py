"""The multipart form of a new task, parsed and checked before any work is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import File, Form, Request, UploadFile
from pydantic import AfterValidator

from src.callbacks import destinations
from src.core import strict_input
from src.core.config import Settings
from src.core.errors import InvalidField, PayloadTooLarge
from src.core.strict_input import STRICT_TEXT
from src.tasks import images
from src.tasks.service import NewTask
from src.web import form_text

METADATA_MAX_BYTES = 16 * 1024
DURATIONS = (3, 5)


def parse_metadata(raw: str | None) -> dict[str, Any] | None:
    """A JSON object, strict (src/core/strict_input.py), of at most METADATA_MAX_BYTES."""
    if raw is None or raw == "":
        return None
    if len(raw.encode("utf-8", "surrogatepass")) > METADATA_MAX_BYTES:
        raise InvalidField("metadata", f"metadata is larger than {METADATA_MAX_BYTES} bytes")
    try:
        value = strict_input.loads(raw)
    except strict_input.InputProblem as exc:
        raise InvalidField("metadata", f"metadata {exc}") from None
    except ValueError:
        raise InvalidField("metadata", 'metadata must be a JSON object, e.g. {"ref": 1}') from None
    if not isinstance(value, dict):
        raise InvalidField("metadata", "metadata must be a JSON object, not a JSON " + type(value).__name__)
    return value


def idempotency_key_rule(value: str | None) -> str | None:
    """An Idempotency-Key is printable ASCII (a UUID is typical): a header carries no other text."""
    if value is not None and not (value.isascii() and value.isprintable()):
        raise ValueError("Idempotency-Key must be printable ASCII, e.g. a UUID")
    return value


def _duration(value: int) -> int:
    if value not in DURATIONS:
        raise ValueError("duration must be 3 or 5 (seconds)")
    return value


def _callback_url(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("callback_url must be an absolute http(s) URL, e.g. https://example.com/hooks/hf")
    return value


@dataclass(frozen=True, slots=True)
class TaskForm:
    """The fields of the form (read by `task_form`); `to_new_task` checks the image and metadata."""

    image: UploadFile
    prompt: str
    motion: str
    model: str
    duration: int
    metadata: str | None
    motion_strength: float
    seed: int | None
    enhance_prompt: bool
    callback_url: str | None

    async def to_new_task(self, settings: Settings) -> NewTask:
        if self.model not in settings.offered_models:
            raise InvalidField(
                "model",
                f"The model {self.model!r} is not offered with Higgsfield's {settings.hf_api_version} API "
                f"here; allowed: {', '.join(settings.offered_models)}",
            )
        limit = settings.max_image_bytes
        if self.image.size is not None and self.image.size > limit:
            raise PayloadTooLarge(f"The image is larger than {limit} bytes")
        data = await self.image.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"The image is larger than {limit} bytes")
        metadata = parse_metadata(self.metadata)
        problem = (
            None
            if settings.callback_allow_private
            else await destinations.problem(
                self.callback_url, resolve_within=destinations.CREATE_RESOLVE_SECONDS
            )
        )
        if problem:
            raise InvalidField("callback_url", problem)
        info = await images.inspect_image(data)
        return NewTask(
            prompt=self.prompt,
            motion=self.motion,
            model=self.model,
            duration=self.duration,
            metadata=metadata,
            motion_strength=self.motion_strength,
            seed=self.seed,
            enhance_prompt=self.enhance_prompt,
            callback_url=self.callback_url,
            image=data,
            image_content_type=info.content_type,
        )


async def task_form(
    request: Request,
    image: Annotated[UploadFile, File(description="JPEG, PNG or WEBP; at most 10 MiB; 64-4096 px a side")],
    prompt: Annotated[str, Form(max_length=2000), STRICT_TEXT] = "",
    motion: Annotated[
        str, Form(min_length=1, max_length=128, description="See GET /api/higgsfield/motions"), STRICT_TEXT
    ] = "GENERAL",
    model: Annotated[Literal["lite", "standard", "turbo"], Form()] = "standard",
    duration: Annotated[
        int, Form(description="3 or 5 seconds; kept with the task"), AfterValidator(_duration)
    ] = 5,
    metadata: Annotated[
        str | None,
        Form(description="A JSON object: strict JSON, at most 20 levels deep, 16 KiB"),
        STRICT_TEXT,
    ] = None,
    motion_strength: Annotated[float, Form(ge=0, le=1, allow_inf_nan=False)] = 0.5,
    seed: Annotated[int | None, Form(ge=0, le=1_000_000)] = None,
    enhance_prompt: Annotated[bool, Form()] = False,
    callback_url: Annotated[
        str | None,
        Form(max_length=2048, description="http(s) URL to POST the task to when it ends (signed)"),
        STRICT_TEXT,
        AfterValidator(_callback_url),
    ] = None,
) -> TaskForm:
    """The form as FastAPI reads it. A coroutine, not the class itself as the dependency: FastAPI
    would call a class (or any plain function) in a worker thread."""
    if problem := form_text.problem_of(request.scope):
        field, detail = problem
        raise InvalidField(field, detail)
    return TaskForm(
        image, prompt, motion, model, duration, metadata, motion_strength, seed, enhance_prompt, callback_url
    )
