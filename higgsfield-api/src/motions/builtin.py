"""The built-in motion catalog, for Higgsfield's v2 (which documents none) and the sandbox. Its ids
are fixed literals: tasks in flight store them, so they must not change across restarts or workers."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Motion:
    """One catalog entry; `preview_url` is built per request because it must be absolute."""

    id: str
    name: str
    description: str
    start_end_frame: bool = False

    def to_json(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "preview_url": f"{base_url}/assets/video.mp4",
            "start_end_frame": self.start_end_frame,
        }


MOTIONS: tuple[Motion, ...] = (
    Motion("b286016a-7610-44b4-a62d-4843374f9704", "General", "A natural camera move chosen for the scene."),
    Motion("dd547208-a450-4b43-ab23-f6e82b1873a8", "Disintegration", "The subject crumbles into particles."),
    Motion(
        "4b5bdb6a-9b27-4eb8-a4ce-206aa3a381d9", "Crash Zoom In", "A fast, punchy zoom towards the subject."
    ),
    Motion("a8bf9b85-d92b-4dd9-9ea5-938905894590", "Crash Zoom Out", "A fast zoom away from the subject."),
    Motion(
        "e9a6f6f8-10bc-4572-896e-71434fd8cda5", "Dolly In", "The camera glides towards the subject.", True
    ),
    Motion(
        "8fcc9d24-3c03-4258-8690-dda99efb5ce5", "Dolly Out", "The camera glides away from the subject.", True
    ),
    Motion("2f63f32e-f4d0-4421-9bcd-5144b9146af4", "Zoom Out", "A steady optical zoom out."),
    Motion("66207e5b-583d-4e99-9bb9-3c5e2e4aeee9", "360 Orbit", "The camera circles the subject."),
    # A hyphenated name exercises the service's name mapping (`THROUGH_OBJECT_IN`).
    Motion(
        "4fb7e1fd-e42a-4d70-a8d4-f1f363397003",
        "Through-Object In",
        "The camera passes through a foreground object.",
    ),
)


def catalog() -> list[dict[str, Any]]:
    """The list as Higgsfield's v1 catalog answers it, without preview URLs."""
    return [{"id": m.id, "name": m.name, "description": m.description} for m in MOTIONS]
