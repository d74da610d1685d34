"""The climbing-image NEB run (ase.mep), with force calls counted.

Method: NEB with the improved tangent (G. Henkelman and H. Jónsson, J. Chem. Phys. 113, 9978
(2000)) and a climbing image (G. Henkelman, B. P. Uberuaga and H. Jónsson, J. Chem. Phys. 113,
9901 (2000)). Paper settings are the defaults: spring 5 eV/Å², every force on every image
(the climbing image's with its tangential component inverted) below 0.01 eV/Å, lattice fixed.

Two stages: the band first relaxes without climbing to ``preconverge_fmax`` (0.05 eV/Å), then
the highest image climbs to ``fmax``. Climbing from the start lets an image of a rough first band
climb before the band has found the valley: on bcc Na with the OpenKIM Na–Sn MEAM (53 atoms) FIRE
climbing from the start ran away (images at +15 eV, not converged in 1000 steps) while the two-stage
run converged (0.122 eV, 1317 force calls). On the symmetric NaCl hop both work (237 vs 247 calls).

Optimizer: :class:`~atomflow.neb.optimizers.GuardedLBFGS` by default: L-BFGS with an initial Hessian
of 10 eV/Å² that goes back to its best band and hands over to FIRE (E. Bitzek et al., Phys. Rev. Lett.
97, 170201 (2006)) when it stops making progress (NEB forces are not the gradient of any energy, so a
quasi-Newton model of them can mislead). Measured force calls, 5 images to 0.01 eV/Å, two stages
(benchmarks/README.md): NaCl vacancy hop (63 atoms) SevenNet-0 82 vs FIRE 212, Fumi–Tosi 77 vs 237;
bcc Na hop SevenNet-0 92 vs 172; EMT fcc vacancy hops (Cu, Al, Ni, Ag, Au, Pt, Pd; 107 atoms) 52–67 vs
207–232; bcc Na with the OpenKIM MEAM, where L-BFGS alone and BFGS diverge, the guard hands over to FIRE
(527 calls; FIRE alone 2202). BFGS also diagonalises a (15N)² Hessian every step. ase's ODE
NEBOptimizer is not offered: its stopping test leaves the climbing image out (it stopped with
0.013 eV/Å on it).
"""

from __future__ import annotations

import logging
import time

import numpy as np
from ase import Atoms
from ase.mep import NEB
from ase.optimize import BFGS, FIRE, LBFGS, MDMin
from pymatgen.core import Structure

from atomflow import validation as check
from atomflow.calculators import CalculatorSpec, driver, get_calculator
from atomflow.calculators.results import CallCounter, NEBRun
from atomflow.errors import InputError
from atomflow.neb.batched import attach_batched, check_batched
from atomflow.neb.optimizers import GuardedLBFGS
from atomflow.seed_hessian import start_optimizer
from atomflow.run_settings import (
    NEB_INTERPOLATION,
    NEB_MAX_STEPS,
    NEB_METHOD,
    NEB_OPTIMIZER,
    NEB_PRECONVERGE_FMAX,
    PAPER_FMAX,
    PAPER_N_IMAGES,
    PAPER_SPRING_CONSTANT,
)
from atomflow.structures.band import interpolate_band
from atomflow.structures.convert import to_atoms

__all__ = ["NEBRun", "NEB_METHODS", "NEB_OPTIMIZERS", "check_neb_settings", "run_neb", "run_neb_with_ase"]

#: Live progress for `atomflow run` (the runner shows the latest line).
progress = logging.getLogger("atomflow.progress")

NEB_OPTIMIZERS = {"GuardedLBFGS": GuardedLBFGS, "FIRE": FIRE, "MDMin": MDMin, "BFGS": BFGS, "LBFGS": LBFGS}
NEB_METHODS = ("improvedtangent", "aseneb", "eb")


def check_neb_settings(*, n_images: int, spring_constant: float, fmax: float, max_steps: int, optimizer: str,
                       method: str, preconverge_fmax: float | None) -> None:
    """Raise InputError for settings that cannot give a band (before any calculation)."""
    check.integer("n_images", n_images, 1, fix=f"the paper uses {PAPER_N_IMAGES}")
    check.positive("spring_constant", spring_constant, "eV/Å²", f"the paper uses {PAPER_SPRING_CONSTANT}")
    check.positive("fmax", fmax, "eV/Å", f"the paper uses {PAPER_FMAX}")
    check.positive("preconverge_fmax", preconverge_fmax, "eV/Å", "None climbs from the start", none=True)
    check.integer("max_steps", max_steps, 1, fix=f"the default is {NEB_MAX_STEPS}")
    check.one_of("optimizer", optimizer, NEB_OPTIMIZERS, what="NEB optimizer")
    check.one_of("method", method, NEB_METHODS, what="NEB method")


def _progress_reporter(band: NEB, n_images: int, climbing: bool, target: float):
    """Logs every image's largest force (for `atomflow run`'s live display of long NEBs)."""
    step = [0]

    def report() -> None:
        step[0] += 5
        forces = np.linalg.norm(band.get_forces().reshape(n_images, -1, 3), axis=2).max(axis=1)
        stage = "CI-NEB" if climbing else "NEB"
        progress.info("%s step %d: image |F|max %s eV/Å (target %.3g)", stage, step[0],
                      " ".join(f"{f:.3f}" for f in forces), target)

    return report


def run_neb(
    initial: Structure | Atoms,
    final: Structure | Atoms,
    spec: CalculatorSpec | str,
    *,
    n_images: int = PAPER_N_IMAGES,
    spring_constant: float = PAPER_SPRING_CONSTANT,
    fmax: float = PAPER_FMAX,
    climb: bool = True,
    optimizer: str = NEB_OPTIMIZER,
    max_steps: int = NEB_MAX_STEPS,
    preconverge_fmax: float | None = NEB_PRECONVERGE_FMAX,
    method: str = NEB_METHOD,
    interpolation: str = NEB_INTERPOLATION,
    batched: bool | None = None,
    band: list[Structure | Atoms] | None = None,
    image_hessians: list[np.ndarray] | None = None,
) -> NEBRun:
    """Relax a band between two relaxed end points until every image force is below ``fmax`` (eV/Å).

    ``max_steps`` counts optimizer steps over both stages; hitting it returns ``converged=False``.
    Every image gets its own calculator from :func:`~atomflow.calculators.get_calculator` (ML models
    are loaded once and shared), or all images share one batched model call (``batched``). Calculators with their own NEB driver (VASP's VTST CI-NEB; GPAW in an
    MPI subprocess) go to their backend's driver (:func:`atomflow.calculators.driver`), with the same
    arguments, :func:`run_neb_with_ase` as ``ase_driver``, and the same :class:`NEBRun`.
    ``batched`` (ASE-driven runs only; external drivers ignore it): see :func:`run_neb_with_ase`.
    ``band``: the starting band instead of the interpolation (n_images + 2 structures, end points included;
    its end points are replaced by ``initial`` and ``final``), e.g. a band another calculator converged
    (ML-seeded DFT, :mod:`atomflow.seeding`). ``image_hessians``: one starting Hessian per inner image for
    the optimizer (BFGS or the L-BFGS family; :func:`atomflow.seed_hessian.band_hessians`), passed to a
    driver only when given (only backends whose bands run ASE's optimizers take it).
    """
    check_neb_settings(n_images=n_images, spring_constant=spring_constant, fmax=fmax, max_steps=max_steps,
                       optimizer=optimizer, method=method, preconverge_fmax=preconverge_fmax)
    spec = CalculatorSpec.parse(spec)
    check_batched(spec, batched)
    options = {"n_images": n_images, "spring_constant": spring_constant, "fmax": fmax, "climb": climb,
               "optimizer": optimizer, "max_steps": max_steps, "preconverge_fmax": preconverge_fmax,
               "method": method, "interpolation": interpolation}
    if band is not None:  # only when given: a driver without it keeps working for the unseeded runs
        options["band"] = starting_band(initial, final, band, n_images)
    if image_hessians is not None:
        options["image_hessians"] = _checked_hessians(image_hessians, n_images, optimizer)
    program = driver(spec, "neb")
    if program is not None:
        return program(initial, final, spec, **options, ase_driver=run_neb_with_ase)
    return run_neb_with_ase(initial, final, spec, batched=batched, **options)


def starting_band(initial: Structure | Atoms, final: Structure | Atoms, band: list[Structure | Atoms],
                  n_images: int) -> list[Atoms]:
    """A given band as Atoms without calculators, its end points replaced by ``initial`` and ``final``."""
    images = [to_atoms(image).copy() for image in band]
    ends = [to_atoms(initial), to_atoms(final)]
    if len(images) != n_images + 2:
        raise InputError(f"The starting band has {len(images)} structures; {n_images} images need "
                         f"{n_images + 2} (end points included).")
    if any(image.get_chemical_symbols() != ends[0].get_chemical_symbols() for image in images + ends[1:]):
        raise InputError("The starting band and the end points must hold the same atoms in the same order.")
    images[0], images[-1] = ends[0].copy(), ends[1].copy()
    for image in images:
        image.calc = None
    return images


def _checked_hessians(hessians: list[np.ndarray], n_images: int, optimizer: str) -> list[np.ndarray]:
    from atomflow.seed_hessian import HESSIAN_OPTIMIZERS

    if optimizer not in HESSIAN_OPTIMIZERS:
        raise InputError(f"The NEB optimizer {optimizer} takes no starting Hessian; use one of "
                         f"{', '.join(HESSIAN_OPTIMIZERS)}, or no image Hessians.")
    if len(hessians) != n_images:
        raise InputError(f"{len(hessians)} image Hessians for {n_images} inner images.")
    return [np.asarray(h, float) for h in hessians]


def run_neb_with_ase(
    initial: Structure | Atoms,
    final: Structure | Atoms,
    spec: CalculatorSpec | str,
    *,
    n_images: int = PAPER_N_IMAGES,
    spring_constant: float = PAPER_SPRING_CONSTANT,
    fmax: float = PAPER_FMAX,
    climb: bool = True,
    optimizer: str = NEB_OPTIMIZER,
    max_steps: int = NEB_MAX_STEPS,
    preconverge_fmax: float | None = NEB_PRECONVERGE_FMAX,
    method: str = NEB_METHOD,
    interpolation: str = NEB_INTERPOLATION,
    batched: bool | None = None,
    band: list[Structure | Atoms] | None = None,
    image_hessians: list[np.ndarray] | None = None,
) -> NEBRun:
    """:func:`run_neb` with ase.mep's NEB and an ASE optimizer on the spec's ASE calculators.

    ``batched``: evaluate all images in one model call per step (:mod:`atomflow.neb.batched`); None:
    when the backend gains from it (see :func:`atomflow.neb.batched.batch_by_default`); False: one
    calculator per image (always so for DFT and classical calculators).
    """
    check_neb_settings(n_images=n_images, spring_constant=spring_constant, fmax=fmax, max_steps=max_steps,
                       optimizer=optimizer, method=method, preconverge_fmax=preconverge_fmax)
    spec = CalculatorSpec.parse(spec)
    start = time.perf_counter()
    if band is None:
        images = interpolate_band(to_atoms(initial), to_atoms(final), n_images, interpolation)
    else:
        images = starting_band(initial, final, band, n_images)
    batch = attach_batched(images, spec, batched)  # None: one calculator per image
    counters = []
    for image in images:
        if batch is None:
            image.calc = get_calculator(spec, image)
        counters.append(CallCounter(image.calc))

    band = NEB(images, k=spring_constant, climb=False, method=method)
    stages: list[dict] = []
    steps_left = max_steps
    plan = []
    if climb and preconverge_fmax is not None and preconverge_fmax > fmax:
        plan.append((False, preconverge_fmax))
    plan.append((climb, fmax))
    converged = False
    for climbing, target in plan:
        band.climb = climbing
        calls_before = sum(c.n for c in counters)
        opt = NEB_OPTIMIZERS[optimizer](band, logfile=None)
        if image_hessians is not None:
            start_optimizer(opt, _checked_hessians(image_hessians, n_images, optimizer))
        opt.attach(_progress_reporter(band, n_images, climbing, target), interval=5)
        converged = bool(opt.run(fmax=target, steps=steps_left))
        taken = int(opt.nsteps)
        steps_left = max(steps_left - taken, 0)
        stages.append({"climb": climbing, "fmax": target, "steps": taken, "converged": converged,
                       "force_calls": sum(c.n for c in counters) - calls_before,
                       "fallback_at_step": getattr(opt, "switched_at", None)})  # GuardedLBFGS → FIRE
        if not converged:
            break

    forces = band.get_forces().reshape(n_images, -1, 3)  # positions unchanged: no new calculations
    image_max = np.linalg.norm(forces, axis=2).max(axis=1)
    energies = np.array([image.get_potential_energy() for image in images])
    band_images = []
    for image in images:
        copy = image.copy()
        copy.calc = None
        band_images.append(copy)
    return NEBRun(
        images=band_images,
        energies=energies,
        image_max_forces=image_max,
        converged=converged and bool(image_max.max() < fmax),
        n_steps=sum(s["steps"] for s in stages),
        n_force_calls=sum(c.n for c in counters),
        climbing_index=int(band.imax) if band.climb else None,
        wall_time=time.perf_counter() - start,
        stages=stages,
        batched=batch is not None,
        n_model_calls=batch.n_model_calls if batch is not None else None,
    )
