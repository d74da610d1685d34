"""ASE's Lennard-Jones: one (sigma, epsilon) for every pair, any element; a toy for engine tests."""

from __future__ import annotations

from typing import Any

from atomflow.calculators.backend import Backend, register
from atomflow.calculators.parameters import Parameter
from atomflow.errors import CalculatorError

#: ASE LennardJones's own parameters (its default_parameters).
LJ_PARAMETERS = (
    Parameter("sigma", float, "zero-crossing distance σ of the pair potential (Å)", default=1.0, gt=0),
    Parameter("epsilon", float, "well depth ε (eV)", default=1.0, gt=0),
    Parameter("rc", float, "cutoff radius (Å); default 3σ", gt=0, example="6.9"),
    Parameter("ro", float, "onset of the smooth cutoff (Å), below rc; default 0.66·rc", gt=0, example="4.5"),
    Parameter("smooth", bool, "smooth the cutoff between ro and rc (forces continuous)", default=False),
)


def _build_lj(params: dict[str, Any]):
    from ase.calculators.lj import LennardJones

    # ASE's LJ applies one (sigma, epsilon) to every pair: a toy for engine tests, not a material model.
    return LennardJones(**params)


def _check_lj(params: dict[str, Any]) -> None:
    rc, ro = params.get("rc"), params.get("ro")
    if rc is not None and ro is not None and not ro < rc:
        raise CalculatorError(f"Calculator 'lj': ro (start of the smooth cutoff, Å) must be below rc, got "
                              f"ro={ro} and rc={rc}; e.g. lj:rc=6.9,ro=4.5.")


register(
    Backend(
        name="lj",
        description="ASE Lennard-Jones (one sigma/epsilon for all pairs): engine tests only",
        build=_build_lj,
        elements=lambda params: None,
        distribution="ase",
        parameters=LJ_PARAMETERS,
        check_parameters=_check_lj,
    )
)
