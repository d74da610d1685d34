"""ASE's effective-medium theory (Al, Cu, Ag, Au, Ni, Pd, Pt, H, C, N, O): cheap and real, for tests."""

from __future__ import annotations

from typing import Any

from atomflow.calculators.backend import Backend, register


def _emt_elements(params: dict[str, Any]) -> frozenset[str]:
    from ase.calculators.emt import parameters

    return frozenset(parameters)


def _build_emt(params: dict[str, Any]):
    from ase.calculators.emt import EMT

    return EMT(**params)


register(
    Backend(
        name="emt",
        description="ASE effective-medium theory (Al, Cu, Ag, Au, Ni, Pd, Pt, H, C, N, O): engine tests",
        build=_build_emt,
        elements=_emt_elements,
        distribution="ase",
        static_elements=frozenset(["Ag", "Al", "Au", "C", "Cu", "H", "N", "Ni", "O", "Pd", "Pt"]),
        # ASE's EMT has fixed parameters (its asap_cutoff switch changes the physics: not offered)
        parameters=(),
    )
)
