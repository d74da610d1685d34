"""Tight minimum and first-order saddle: refine the NEB's end point and climbing image before their Hessians.

The minimum is relaxed (ions, BFGS) to ``fmax``. The saddle is converged by the dimer method
(Henkelman & Jónsson, J. Chem. Phys. 111, 7010 (1999); ase.mep.dimer) started from the climbing image
along the band's tangent. A climbing image on a symmetric straight path can be a higher-order stationary
point (two imaginary modes: the hop and a symmetry-breaking sideways mode); there the forces vanish,
so the dimer stays put. :func:`kick_along` breaks the symmetry along the extra mode and the dimer,
which climbs only along its lowest mode, then descends into the first-order saddle next to it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.mep import NEB
from ase.mep.dimer import DimerControl, MinModeAtoms, MinModeTranslate
from ase.optimize import BFGS

from atomflow.neb.optimizers import GuardedLBFGS


def max_force(atoms: Atoms) -> float:
    return float(np.linalg.norm(atoms.get_forces(), axis=1).max())


def relax_minimum(atoms: Atoms, fmax: float, max_steps: int) -> tuple[bool, int]:
    """Relax the ions in place to ``fmax`` eV/Å; (converged, steps)."""
    opt = BFGS(atoms, logfile=None)
    converged = bool(opt.run(fmax=fmax, steps=max_steps))
    return converged and max_force(atoms) <= fmax, opt.get_number_of_steps()


class _GuardedTranslate(MinModeTranslate):
    """ase's dimer translation with one guard: its line search takes the Newton step to the stationary
    point of the projected force along the step direction, which is a *maximum* when that force grows
    along the direction (next to a higher-order point it walks straight back onto it). Then a full
    step downhill is taken instead."""

    def step(self, f=None):
        atoms = self.dimeratoms
        f0p = atoms.get_forces() if f is None else f
        r0 = atoms.get_positions()
        direction = self.get_cg_direction(f0p.copy()) if self.cg_on else f0p.copy()
        if not np.all(np.isfinite(direction)):
            raise RuntimeError("Dimer calculation diverged")
        direction = direction / np.linalg.norm(direction)
        step = direction * self.max_step
        if atoms.get_curvature() <= 0.0:
            f0tp = atoms.get_projected_forces(r0 + direction * self.trial_step)
            force = np.vdot(f0tp + f0p, direction) / 2.0
            slope = np.vdot(f0tp - f0p, direction) / self.trial_step
            if slope < 0.0:  # the projected force falls along the direction: a minimum lies ahead
                newton = (-force / slope + self.trial_step / 2.0) * direction
                if np.linalg.norm(newton) <= self.max_step:
                    step = newton
        self.log(f0p, np.linalg.norm(step))
        atoms.set_positions(r0 + step)
        self.f0 = f0p.flat.copy()
        self.r0 = r0.flat.copy()


def dimer_search(atoms: Atoms, mode: np.ndarray, fmax: float, max_steps: int) -> tuple[bool, int]:
    """Converge ``atoms`` in place to a saddle with the dimer method from the initial ``mode`` (N×3);
    (converged, steps)."""
    mode = np.asarray(mode, dtype=float).reshape(len(atoms), 3)
    mode = mode / np.linalg.norm(mode)
    control = DimerControl(initial_eigenmode_method="displacement", displacement_method="vector",
                           logfile=None, mask=None)
    dimer = MinModeAtoms(atoms, control, eigenmodes=[mode])
    opt = _GuardedTranslate(dimer, logfile=None, trajectory=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converged = bool(opt.run(fmax=fmax, steps=max_steps))
    atoms.set_positions(dimer.get_positions())
    return converged and max_force(atoms) <= fmax, opt.get_number_of_steps()


def kick_along(atoms: Atoms, mode: np.ndarray, amplitude: float) -> None:
    """Displace ``atoms`` in place along ``mode`` so that the largest atomic displacement is ``amplitude`` Å."""
    v = np.asarray(mode, dtype=float).reshape(len(atoms), 3)
    atoms.set_positions(atoms.get_positions() + amplitude * v / np.linalg.norm(v, axis=1).max())


def curvature_along(atoms: Atoms, direction: np.ndarray, delta: float) -> float:
    """eV/Å²: d²E/ds² along the unit Cartesian ``direction`` (N×3) by central differences of the forces
    (2 calls). Negative at a maximum along it, as a climbing image must be along its band."""
    t = np.asarray(direction, dtype=float).reshape(len(atoms), 3)
    t = t / np.linalg.norm(t)
    probe = atoms.copy()
    probe.calc = atoms.calc
    x0 = atoms.get_positions()
    f = []
    for sign in (1.0, -1.0):
        probe.set_positions(x0 + sign * delta * t)
        f.append(probe.get_forces())
    return float(-np.vdot(f[0] - f[1], t) / (2 * delta))


class _OwnCache(Calculator):
    """One image's view of a shared calculator with its own cache: ase's NEB asks every image (the fixed end
    points included) for its energy each step, and a shared calculator, which caches only the last
    structure, would recompute them all (16 calls per step measured on a 3-image band, instead of 3)."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, shared: Any):
        super().__init__()
        self.shared = shared

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        probe = self.atoms.copy()
        probe.calc = self.shared
        self.results = {"energy": probe.get_potential_energy(), "forces": probe.get_forces()}


def climbing_band(initial: Atoms, final: Atoms, calc, *, n_images: int, spring_constant: float, fmax: float,
                  preconverge_fmax: float, max_steps: int) -> tuple[list[Atoms], int, bool]:
    """A CI-NEB between two stationary points with one shared calculator (linear start: both are points of an
    already converged band): (images, climbing index, converged). Two stages and the optimizer as
    atomflow.neb.run: the band first without climbing to ``preconverge_fmax``, then the highest image climbs
    to ``fmax``."""
    images = [initial.copy() for _ in range(n_images + 1)] + [final.copy()]
    for image in images:
        image.calc = _OwnCache(calc)
    neb = NEB(images, k=spring_constant, climb=False, method="improvedtangent")
    neb.interpolate(mic=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GuardedLBFGS(neb, logfile=None).run(fmax=max(fmax, preconverge_fmax), steps=max_steps)
        neb.climb = True
        converged = bool(GuardedLBFGS(neb, logfile=None).run(fmax=fmax, steps=max_steps))
    energies = [image.get_potential_energy() for image in images[1:-1]]
    return images, 1 + int(np.argmax(energies)), converged
