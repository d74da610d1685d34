"""Plain functions that run an ASE calculator on a structure: relax and single point.

No jobflow here: these are what the jobs call, and what tests and benchmarks can call directly.
"""

from __future__ import annotations

import warnings

import numpy as np
from ase import Atoms
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS, FIRE, LBFGS
from pymatgen.core import Structure

from atomflow.calculators import CalculatorSpec, driver, get_calculator
from atomflow.calculators.results import CallCounter, RunResult
from atomflow.errors import InputError
from atomflow.run_settings import PAPER_FMAX, RELAX_MAX_STEPS, RELAX_OPTIMIZER
from atomflow.structures.convert import to_atoms

__all__ = ["OPTIMIZERS", "CallCounter", "RunResult", "relax", "relax_with_ase", "run_static", "to_atoms"]

OPTIMIZERS = {"BFGS": BFGS, "FIRE": FIRE, "LBFGS": LBFGS}


def run_static(structure: Structure | Atoms, spec: CalculatorSpec | str) -> RunResult:
    """Energy, forces and stress of one structure."""
    return relax(structure, spec, relax_ions=False)


def relax(
    structure: Structure | Atoms,
    spec: CalculatorSpec | str,
    *,
    relax_cell: bool = False,
    relax_ions: bool = True,
    fmax: float = PAPER_FMAX,
    max_steps: int = RELAX_MAX_STEPS,
    optimizer: str = RELAX_OPTIMIZER,
    hydrostatic_only: bool = False,
    stress_tol: float = 1e-4,
    initial_hessian: np.ndarray | None = None,
) -> RunResult:
    """Relax ions (and the cell if ``relax_cell``) until every force is below ``fmax`` (eV/Å).

    Calculators whose program has its own driver (VASP: IBRION 2 / ISIF 3 or 2; GPAW: a subprocess
    under MPI) go to their backend's driver (:func:`atomflow.calculators.driver`), which is handed
    :func:`relax_with_ase` as ``ase_driver``; the rest to :func:`relax_with_ase`. Same arguments and the same
    :class:`RunResult` either way. ``initial_hessian``: see :func:`relax_with_ase` (passed to a driver only
    when given: only backends whose relaxations run ASE's optimizers take it).
    """
    extra = {} if initial_hessian is None else {"initial_hessian": initial_hessian}
    program = driver(spec, "relax")
    if program is not None:
        return program(structure, spec, relax_cell=relax_cell, relax_ions=relax_ions, fmax=fmax,
                       max_steps=max_steps, optimizer=optimizer, hydrostatic_only=hydrostatic_only,
                       stress_tol=stress_tol, ase_driver=relax_with_ase, **extra)
    return relax_with_ase(structure, spec, relax_cell=relax_cell, relax_ions=relax_ions, fmax=fmax,
                          max_steps=max_steps, optimizer=optimizer, hydrostatic_only=hydrostatic_only,
                          stress_tol=stress_tol, **extra)


def relax_with_ase(
    structure: Structure | Atoms,
    spec: CalculatorSpec | str,
    *,
    relax_cell: bool = False,
    relax_ions: bool = True,
    fmax: float = PAPER_FMAX,
    max_steps: int = RELAX_MAX_STEPS,
    optimizer: str = RELAX_OPTIMIZER,
    hydrostatic_only: bool = False,
    stress_tol: float = 1e-4,
    initial_hessian: np.ndarray | None = None,
) -> RunResult:
    """Relax with an ASE optimizer on the spec's ASE calculator (ions, and the cell if ``relax_cell``).

    With ``relax_cell`` every stress component must also fall below ``stress_tol`` (eV/Å³; 1e-4 ≈
    0.016 GPa): the Frechet filter's cell force is V·σ/exp_cell_factor, so choosing
    exp_cell_factor = stress_tol·V/fmax makes the one fmax test check both. Hitting ``max_steps``
    returns ``converged=False``: callers flag it, never use it silently. ``initial_hessian`` (eV/Å², 3N × 3N,
    positive definite; ions only, fixed cell; BFGS or LBFGS): the optimizer's starting Hessian instead of
    its constant guess, e.g. a seed potential's (:mod:`atomflow.seed_hessian`).
    """
    if fmax <= 0:
        raise InputError(f"fmax must be positive (eV/Å), got {fmax}.")
    if max_steps < 0:
        raise InputError(f"max_steps must be ≥ 0, got {max_steps}.")
    if optimizer not in OPTIMIZERS:
        raise InputError(f"Unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
    atoms = to_atoms(structure)
    atoms.calc = get_calculator(spec, atoms)
    counter = CallCounter(atoms.calc)
    energies: list[float] = []
    n_steps, converged = 0, True
    if relax_ions or relax_cell:
        if stress_tol <= 0:
            raise InputError(f"stress_tol must be positive (eV/Å³), got {stress_tol}.")
        target = atoms
        if relax_cell:
            factor = stress_tol * atoms.get_volume() / fmax
            target = FrechetCellFilter(atoms, hydrostatic_strain=hydrostatic_only, exp_cell_factor=factor)
        opt = OPTIMIZERS[optimizer](target, logfile=None)
        if initial_hessian is not None:
            _start_from(opt, initial_hessian, relax_cell=relax_cell)
        opt.attach(lambda: energies.append(float(atoms.get_potential_energy())))
        with warnings.catch_warnings():
            # FrechetCellFilter's matrix logarithm: scipy warns at estimated errors of ~1e-13 (harmless noise)
            warnings.filterwarnings("ignore", message="logm result may be inaccurate", category=RuntimeWarning)
            converged = bool(opt.run(fmax=fmax, steps=max_steps))
        n_steps = opt.get_number_of_steps()
    energy = float(atoms.get_potential_energy())
    forces = atoms.get_forces()
    stress = atoms.get_stress(voigt=True) if _has_stress(atoms) else np.zeros(6)
    final = atoms.copy()
    final.calc = None
    return RunResult(final, energy, forces, np.asarray(stress), n_steps, counter.n, converged, energies)


def _start_from(opt, hessian: np.ndarray, *, relax_cell: bool) -> None:
    from atomflow.seed_hessian import start_optimizer

    if relax_cell:
        raise InputError("A starting Hessian applies to ion relaxations in a fixed cell (relax_cell=False): "
                         "the cell's degrees of freedom have none.")
    start_optimizer(opt, [np.asarray(hessian, float)])


def _has_stress(atoms: Atoms) -> bool:
    return "stress" in getattr(atoms.calc, "implemented_properties", ()) and bool(atoms.pbc.all())
