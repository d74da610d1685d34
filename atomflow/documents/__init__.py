"""Pydantic result documents (units in every field description)."""

from atomflow.documents.provenance import Provenance
from atomflow.documents.relax import RelaxDocument

__all__ = ["Provenance", "RelaxDocument"]
