"""Fixtures of the correction tests (the world lives in correction_world)."""

from correction_world import world

__all__ = ["world"]
