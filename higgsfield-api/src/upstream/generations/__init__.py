"""Higgsfield's API generations: one small adapter each behind `Generation` (see base.py)."""

from __future__ import annotations

from collections.abc import Mapping

from src.upstream.generations.base import Call, Generation, JobState, Submission
from src.upstream.generations.v1 import V1
from src.upstream.generations.v2 import V2


def generations(v2_models: Mapping[str, str]) -> dict[str, Generation]:
    return {"v1": V1(), "v2": V2(v2_models)}


__all__ = ["Call", "Generation", "JobState", "Submission", "generations"]
