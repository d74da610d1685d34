"""ASE's Lennard-Jones: one (sigma, epsilon) for every pair, any element; a toy for engine tests."""

from __future__ import annotations

from typing import Any

from atomflow.calculators.backend import Backend, register


def _build_lj(params: dict[str, Any]):
    from ase.calculators.lj import LennardJones

    # ASE's LJ applies one (sigma, epsilon) to every pair: a toy for engine tests, not a material model.
    return LennardJones(**params)


register(
    Backend(
        name="lj",
        description="ASE Lennard-Jones (one sigma/epsilon for all pairs): engine tests only",
        build=_build_lj,
        elements=lambda params: None,
        distribution="ase",
    )
)
