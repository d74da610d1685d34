"""Provenance carried by every atomflow document: what produced the number, from what, when."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from pydantic import BaseModel, Field

from atomflow import __version__
from atomflow.calculators import CalculatorSpec, calculator_provenance


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class Provenance(BaseModel):
    """Calculator (name, parameters, package version, model), settings, code version, time."""

    calculator: dict[str, Any] = Field(description="Calculator name, parameters, package/version and model.")
    settings: dict[str, Any] = Field(default_factory=dict, description="Workflow settings that shaped the result.")
    atomflow_version: str = Field(default=__version__, description="atomflow version that made the document.")
    created_at: _dt.datetime = Field(default_factory=_now, description="UTC time the document was made.")
    structure_label: str | None = Field(default=None, description="Which structure (e.g. stand-in label).")
    stand_in: bool = Field(default=False, description="True if computed on a stand-in, not the paper's compound.")

    @classmethod
    def from_spec(cls, spec: CalculatorSpec | str, settings: dict[str, Any] | None = None, **kw: Any) -> Provenance:
        return cls(calculator=calculator_provenance(spec), settings=settings or {}, **kw)
