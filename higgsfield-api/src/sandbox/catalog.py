"""The sandbox's motion catalog: the built-in one (src/motions/builtin.py)."""

from src.motions.builtin import MOTION_IDS, MOTIONS, Motion

__all__ = ["MOTIONS", "MOTION_IDS", "Motion"]
