"""Pydantic result documents (units in every field description)."""

from atomflow.documents.provenance import Provenance
from atomflow.documents.relax import RelaxDocument
from atomflow.documents.property import RELAX  # noqa: I001  registers the property (atomflow.properties)

__all__ = ["RELAX", "Provenance", "RelaxDocument"]
