"""Higgsfield's API generations: one small adapter each, with the same methods. `catalog` and
`cancel` give None where a generation has no motion catalog or cannot cancel a job."""

from collections.abc import Mapping

from src.upstream.generations.base import Call, JobState, Submission
from src.upstream.generations.v1 import V1
from src.upstream.generations.v2 import V2

Generation = V1 | V2


def generations(v2_models: Mapping[str, str]) -> dict[str, Generation]:
    return {"v1": V1(), "v2": V2(v2_models)}


__all__ = ["Call", "Generation", "JobState", "Submission", "generations"]
