"""Fumi–Tosi rigid-ion NaCl (Born–Mayer–Huggins + Ewald), calculator in :mod:`atomflow.calculators.fumi_tosi`."""

from __future__ import annotations

from typing import Any

from atomflow.calculators.backend import Backend, register


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
    )
)
