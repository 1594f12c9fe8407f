"""Higgsfield's current API (v2): `Authorization: Key id:secret`, `POST /{model path}` with a
flat body, `GET /requests/{id}/status`, `POST /requests/{id}/cancel`, `?hf_webhook=<url>`."""

from collections.abc import Mapping
from typing import Any

from src.upstream.errors import UpstreamPermanent
from src.upstream.generations.base import Call, JobState, Submission


class V2:
    version = "v2"

    def __init__(self, models: Mapping[str, str]) -> None:
        # The API's model name -> the v2 model path (Settings.v2_models: HF_V2_MODELS over the
        # defaults, names without a path left out).
        self.models = dict(models)

    def headers(self, api_key: str, api_secret: str) -> dict[str, str]:
        return {"Authorization": f"Key {api_key}:{api_secret}"}

    def catalog(self) -> None:
        return None  # v2 documents no motion catalog: the built-in list of names is used

    def submit(self, submission: Submission) -> Call:
        """v2 documents `image_url`, `prompt`, `duration` and `seed` for DoP, and no motion field:
        the motion is kept with the task, not sent (nor `motion_strength`, `enhance_prompt`)."""
        task = submission.fields
        path = self.models.get(task.model)
        if path is None:
            raise UpstreamPermanent(
                f"No v2 model path for the model {task.model!r} (HF_V2_MODELS names: "
                f"{', '.join(sorted(self.models)) or 'none'})"
            )
        body: dict[str, Any] = {
            "image_url": submission.image_url,
            "prompt": task.prompt,
            "duration": task.duration,
        }
        if task.seed is not None:
            body["seed"] = task.seed
        params = {"hf_webhook": submission.webhook_url} if submission.webhook_url else None
        return Call("POST", f"/{path}", json=body, params=params)

    def request_id(self, answer: Any) -> str:
        request_id = answer.get("request_id") if isinstance(answer, dict) else None
        if not request_id:
            raise UpstreamPermanent("the submission's answer has no request_id")
        return str(request_id)

    def status(self, request_id: str) -> Call:
        return Call("GET", f"/requests/{request_id}/status")

    def job_state(self, request_id: str, answer: Any) -> JobState:
        if not isinstance(answer, dict) or not answer.get("status"):
            raise UpstreamPermanent(f"GET /requests/{request_id}/status: the answer has no status")
        video = answer.get("video") or {}
        images = answer.get("images") or []
        thumbnail = images[0].get("url") if images and isinstance(images[0], dict) else None
        error = answer.get("error")
        return JobState(
            status=str(answer["status"]),
            video_url=video.get("url") if isinstance(video, dict) else None,
            thumbnail_url=thumbnail,
            error=str(error) if error else None,
        )

    def cancel(self, request_id: str) -> Call:
        return Call("POST", f"/requests/{request_id}/cancel")
