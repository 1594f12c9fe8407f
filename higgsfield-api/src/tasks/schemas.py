"""A task's fields, in one model: the create form, the stored row, the submission to Higgsfield
and the answer all read `TaskFields` (docs/adding-a-task-field.md shows how to add one)."""

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from src.core import strict_input
from src.core.strict_input import STRICT_TEXT
from src.outputs import schemas as outputs

PublicStatus = Literal["pending", "queued", "in_progress", "completed", "failed", "nsfw", "canceled"]
METADATA_MAX_BYTES = 16 * 1024


def parse_metadata(raw: Any) -> Any:
    """Form text to a JSON object: strict (src/core/strict_input.py), at most METADATA_MAX_BYTES.
    A stored value (already an object) passes as it is."""
    if not isinstance(raw, str):
        return raw
    if raw == "":
        return None
    strict_input.check_text(raw)
    if len(raw.encode("utf-8", "surrogatepass")) > METADATA_MAX_BYTES:
        raise _metadata_error(f"metadata is larger than {METADATA_MAX_BYTES} bytes")
    try:
        value = strict_input.loads(raw)
    except strict_input.InputProblem as exc:
        raise _metadata_error(f"metadata {exc}") from None
    except ValueError:
        raise _metadata_error('metadata must be a JSON object, e.g. {"ref": 1}') from None
    if not isinstance(value, dict):
        raise _metadata_error("metadata must be a JSON object, not a JSON " + type(value).__name__)
    return value


def _metadata_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", message)


def _duration(value: int) -> int:
    if value not in (3, 5):
        raise ValueError("duration must be 3 or 5 (seconds)")
    return value


def _callback_url(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("callback_url must be an absolute http(s) URL, e.g. https://example.com/hooks/hf")
    return value


# A callback address as a client gives it (a task's `callback_url`, the client's default): the
# rules that need no I/O. Where it may point is `src.callbacks.destinations`'s to judge.
CallbackUrl = Annotated[str | None, Field(max_length=2048), STRICT_TEXT, AfterValidator(_callback_url)]


class TaskFields(BaseModel):
    """What a client chooses for a task. Each field is a form field of the create call and a
    column of `tasks`; it is in the answer unless marked `exclude=True`. Text fields end with
    STRICT_TEXT, after their length rules, so that those keep their own error types."""

    prompt: Annotated[str, Field(max_length=2000), STRICT_TEXT] = ""
    motion: Annotated[
        str, Field(min_length=1, max_length=128, description="See GET /api/higgsfield/motions"), STRICT_TEXT
    ] = "GENERAL"
    model: Literal["lite", "standard", "turbo"] = "standard"
    duration: Annotated[
        int, Field(description="3 or 5 seconds; kept with the task"), AfterValidator(_duration)
    ] = 5
    # Sent as JSON text, kept and answered as the object.
    metadata: Annotated[
        dict[str, Any] | None,
        BeforeValidator(parse_metadata),
        WithJsonSchema(
            {"type": "string", "description": "A JSON object: strict JSON, at most 20 levels deep, 16 KiB"},
            mode="validation",
        ),
    ] = None
    motion_strength: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, exclude=True)] = 0.5
    seed: Annotated[int | None, Field(ge=0, le=1_000_000, exclude=True)] = None
    enhance_prompt: Annotated[bool, Field(exclude=True)] = False
    # Answered inside `callback`, with its delivery.
    callback_url: Annotated[
        CallbackUrl,
        Field(
            description="http(s) URL to POST the task to when it ends (signed); unset: the client's "
            "default callback URL (PUT /api/auth/me/callback), if any",
            exclude=True,
        ),
    ] = None


def _metadata_object(raw: Any) -> Any:
    """A retry's metadata: a JSON object, held to the form's rules through its JSON text (or that text)."""
    if isinstance(raw, dict):
        raw = json.dumps(raw, ensure_ascii=False)
    return parse_metadata(raw)


class TaskOverrides(TaskFields):
    """The body of a retry: any of the create form's fields but the image, each replacing the old
    task's value, by the form's rules. `callback_url: null` (or unset on the old task) takes the
    client's default callback URL, as a create without it does."""

    model_config = ConfigDict(extra="forbid")

    metadata: Annotated[
        dict[str, Any] | None,
        BeforeValidator(_metadata_object),
        Field(description="A JSON object (or its JSON text): at most 20 levels deep, 16 KiB"),
    ] = None

    def chosen(self) -> dict[str, Any]:
        """The fields the body set, with their values as checked."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class CallbackOut(BaseModel):
    url: str
    delivered: bool
    attempts: int
    last_status: int | None
    error: str | None


class TaskOut(TaskFields):
    id: uuid.UUID
    status: PublicStatus
    retry_of: uuid.UUID | None = Field(description="The task this one retries; null when not a retry")
    video_url: str | None
    thumbnail_url: str | None
    error: str | None
    callback: CallbackOut | None
    # The gateway's own copy of the outputs (src/outputs/); null when none is made.
    output: outputs.OutputOut | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


# The keys of an answer, in order, and the columns they are made of.
ANSWER_FIELDS = tuple(name for name, field in TaskOut.model_fields.items() if not field.exclude)
PUBLIC_COLUMNS = (
    tuple(name for name in ANSWER_FIELDS if name not in ("callback", "output"))
    + tuple(f"callback_{name}" for name in CallbackOut.model_fields)
    + outputs.COLUMNS
)


def render_task(task: dict[str, Any]) -> dict[str, Any]:
    """A task as it is answered: checked against TaskOut and written as strict JSON once, so
    that what cannot be answered fails here (a ValueError), before anything is committed."""
    answer = TaskOut.model_validate(task).model_dump(mode="json")
    json.dumps(answer, ensure_ascii=False, allow_nan=False).encode()
    return answer
