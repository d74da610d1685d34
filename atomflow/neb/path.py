"""The initial band between two relaxed end points: now :mod:`atomflow.structures.band` (re-exported here)."""

from atomflow.structures.band import INTERPOLATIONS, interpolate_band

__all__ = ["INTERPOLATIONS", "interpolate_band"]
