"""The seed's curvature as the DFT optimiser's starting Hessian (ML-seeded DFT, :mod:`atomflow.seeding`).

A seed gives DFT a geometry near its minimum (or band near its path); a quasi-Newton optimiser started
there with ASE's constant guess (BFGS: 70 eV/Å²; atomflow's NEB L-BFGS: 10 eV/Å²) still spends its first
steps learning the curvature. The seed also knows the curvature: its finite-difference Hessian at its own
geometry (6N seed calls, seconds for an ML potential) makes the first DFT step nearly a Newton step.
Measured (/tmp proxy, Fumi–Tosi NaCl as the target and SevenNet-0 as the seed, 29-atom NaCl vacancy end
point, fmax 0.02 eV/Å): BFGS from the seed's geometry 13 steps with 70 eV/Å², 4 with the seed's Hessian;
the CI-NEB from the seed's band 6 → 4 steps (3 images). The DFT criteria are unchanged: only the path to
them is shorter, so every reported number is still a DFT number.

**Relaxation** (ions, fixed cell): the seed's Hessian with every eigenvalue replaced by
max(|λ|, :data:`CURVATURE_FLOOR`) — positive definite, as BFGS needs; a negative seed curvature becomes its
magnitude (the step goes downhill along that mode, not towards the seed's saddle); the floor bounds the
first step along the three translations (zero curvature) and other soft modes.

**NEB band** (per inner image i, tangent τ from its neighbours in the seed's band): the NEB force is not the
energy's gradient, so the starting Hessian is that of the NEB force — for an ordinary image the
perpendicular part of the Hessian plus the springs along τ, (1 − ττᵀ) H (1 − ττᵀ) + 2k ττᵀ; for the
climbing image (the seed band's highest) the Hessian with its curvature along τ inverted,
H − 2 (τᵀHτ) ττᵀ — each then made positive definite as above. (With |H| alone for every image the proxy
band took 10 steps instead of 6.) The images' blocks are independent (block-diagonal).

Only for calculators whose relaxations and bands run ASE's optimizers
(:attr:`atomflow.calculators.backend.Backend.ase_optimizers`: GPAW, in its MPI subprocess too); VASP's
own optimisers (IBRION 2, VTST's FIRE) take no starting Hessian, so a VASP run is seeded by geometry only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from atomflow.errors import InputError

#: Å, displacement of the seed's central differences (as :mod:`atomflow.rates.hessian`).
HESSIAN_DELTA = 0.01
#: eV/Å², smallest curvature of a starting Hessian: keeps it positive definite; the first step along a
#: mode softer than this is at most F/1 eV/Å² (and ASE's maxstep caps it).
CURVATURE_FLOOR = 1.0
#: The optimisers that take a starting Hessian (BFGS: the Hessian; the L-BFGS family: its inverse).
HESSIAN_OPTIMIZERS = ("BFGS", "LBFGS", "GuardedLBFGS")


def curvature_settings() -> dict[str, Any]:
    """What the seed's curvature adds to the seed key and provenance of the DFT job it starts."""
    return {"hessian": "seed finite differences", "delta": HESSIAN_DELTA, "floor": CURVATURE_FLOOR}


def positive_definite(hessian: np.ndarray, floor: float = CURVATURE_FLOOR) -> np.ndarray:
    """``hessian`` (eV/Å²) with each eigenvalue λ replaced by max(|λ|, floor)."""
    h = np.asarray(hessian, float)
    if h.ndim != 2 or h.shape[0] != h.shape[1]:
        raise InputError(f"A Hessian must be square, got shape {h.shape}.")
    w, v = np.linalg.eigh(0.5 * (h + h.T))
    return (v * np.maximum(np.abs(w), floor)) @ v.T


def seed_hessian(atoms: Atoms, seed: Any, delta: float = HESSIAN_DELTA) -> tuple[np.ndarray, int]:
    """(H, seed calls): the seed calculator's finite-difference Hessian (eV/Å², 3N × 3N) at ``atoms``."""
    from atomflow.calculators import get_calculator
    from atomflow.rates.hessian import finite_difference_hessian

    work = atoms.copy()
    work.calc = get_calculator(seed, work)
    h, _, calls = finite_difference_hessian(work, delta=delta)
    return h, calls


def relaxation_hessian(atoms: Atoms, seed: Any) -> tuple[np.ndarray, int]:
    """(starting Hessian, seed calls) of an ion relaxation from ``atoms``: the seed's, made positive definite."""
    h, calls = seed_hessian(atoms, seed)
    return positive_definite(h), calls


def band_hessians(images: list[Atoms], seed: Any, spring_constant: float) -> tuple[list[np.ndarray], int]:
    """(one starting Hessian per inner image, seed calls) of a CI-NEB from the seed's band ``images``
    (end points included); the climbing image is the seed band's highest inner image (see the module)."""
    if len(images) < 3:
        raise InputError(f"A band needs at least one inner image, got {len(images)} structures.")
    if not spring_constant > 0:
        raise InputError(f"The NEB spring constant must be positive (eV/Å²), got {spring_constant}.")
    from atomflow.calculators import get_calculator

    hessians, energies, calls = [], [], 0
    for image in images[1:-1]:
        h, n = seed_hessian(image, seed)
        hessians.append(h)
        work = image.copy()
        work.calc = get_calculator(seed, work)
        energies.append(float(work.get_potential_energy()))
        calls += n + 1
    top = int(np.argmax(energies))
    out = []
    for k, (h, image) in enumerate(zip(hessians, images[1:-1])):
        step, _ = find_mic(images[k + 2].positions - images[k].positions, image.cell, pbc=image.pbc)
        out.append(positive_definite(neb_force_hessian(h, step.ravel(), climbing=k == top,
                                                       spring_constant=spring_constant)))
    return out, calls


def neb_force_hessian(hessian: np.ndarray, tangent: np.ndarray, *, climbing: bool,
                      spring_constant: float) -> np.ndarray:
    """The Hessian of one image's NEB force (eV/Å²): ``hessian`` with its curvature along ``tangent``
    inverted (climbing), or its perpendicular part plus the two springs, 2k, along ``tangent``."""
    h = np.asarray(hessian, float)
    tau = np.asarray(tangent, float) / np.linalg.norm(tangent)
    along = np.outer(tau, tau)
    if climbing:
        return h - 2.0 * float(tau @ h @ tau) * along
    perpendicular = np.eye(len(tau)) - along
    return perpendicular @ h @ perpendicular + 2.0 * spring_constant * along


def start_optimizer(opt: Any, hessians: list[np.ndarray]) -> None:
    """Give an ASE optimizer (BFGS or the L-BFGS family) ``hessians`` (blocks, in the order of its degrees
    of freedom) as its starting Hessian."""
    from ase.optimize import BFGS, LBFGS
    from scipy import sparse
    from scipy.linalg import block_diag

    size, n = sum(len(b) for b in hessians), opt.optimizable.ndofs()
    if size != n or any(np.shape(b) != (len(b), len(b)) for b in hessians):
        raise InputError(f"The starting Hessian is {size} × {size}, the optimizer has {n} degrees "
                         "of freedom (same atoms, fixed cell?).")
    if isinstance(opt, LBFGS):  # L-BFGS starts from H⁻¹; kept block-sparse (a band of 240-atom images)
        opt.state.H0 = sparse.block_diag([np.linalg.inv(b) for b in hessians], format="csr")
    elif isinstance(opt, BFGS):  # ASE's BFGS keeps a dense Hessian anyway
        opt.H0 = block_diag(*hessians)
    else:
        raise InputError(f"{type(opt).__name__} takes no starting Hessian; use one of "
                         f"{', '.join(HESSIAN_OPTIMIZERS)}.")


__all__ = ["CURVATURE_FLOOR", "HESSIAN_DELTA", "HESSIAN_OPTIMIZERS", "band_hessians", "curvature_settings",
           "neb_force_hessian", "positive_definite", "relaxation_hessian", "seed_hessian", "start_optimizer"]
