"""Fumi–Tosi rigid-ion NaCl (Born–Mayer–Huggins + Ewald), calculator in :mod:`atomflow.calculators.fumi_tosi`."""

from __future__ import annotations

from typing import Any

from atomflow.calculators.backend import Backend, register
from atomflow.calculators.parameters import Parameter


def _check_charges(charges: dict) -> str | None:
    bad = sorted(set(charges) - {"Na", "Cl"})
    if bad:
        return f"may only name Na and Cl, got {', '.join(map(repr, bad))}"
    wrong = {k: v for k, v in charges.items() if isinstance(v, bool) or not isinstance(v, (int, float))}
    if wrong:
        return f"must map Na / Cl to numbers (e), got {wrong}"
    return None


#: FumiTosiNaCl's default_parameters (atomflow.calculators.fumi_tosi).
FUMI_TOSI_PARAMETERS = (
    Parameter("cutoff", float, "short-range (Born–Mayer–Huggins) cutoff (Å); pairs are energy-shifted there",
              default=9.0, gt=0),
    Parameter("ewald_accuracy", float, "relative accuracy of the Ewald real- and reciprocal-space sums",
              default=1e-6, gt=0, lt=1),
    Parameter("ewald_alpha", float, "Ewald splitting parameter (1/Å); default chosen from the cell", gt=0,
              example="0.3"),
    Parameter("charges", dict, "formal charges (e) replacing Na +1, Cl −1", example='{"Na": 0.9, "Cl": -0.9}',
              check=_check_charges),
)


def _build_fumi_tosi(params: dict[str, Any]):
    from atomflow.calculators.fumi_tosi import FumiTosiNaCl

    return FumiTosiNaCl(**params)


def _fumi_tosi_charges(params: dict[str, Any]) -> dict[str, float]:
    from atomflow.calculators.fumi_tosi import FORMAL_CHARGES

    return {**FORMAL_CHARGES, **(params.get("charges") or {})}


register(
    Backend(
        name="fumi_tosi",
        description="Fumi-Tosi Born-Mayer-Huggins + Ewald rigid-ion potential for NaCl (Na+, Cl-)",
        build=_build_fumi_tosi,
        elements=lambda params: frozenset(["Na", "Cl"]),
        distribution="atomflow",
        provenance=lambda params: {"model": "Fumi & Tosi, J. Phys. Chem. Solids 25, 31 (1964)"},
        formal_charges=_fumi_tosi_charges,
        static_elements=frozenset(["Na", "Cl"]),
        parameters=FUMI_TOSI_PARAMETERS,
    )
)
