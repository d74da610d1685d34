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

import numpy as np
from ase import Atoms
from ase.mep.dimer import DimerControl, MinModeAtoms, MinModeTranslate
from ase.optimize import BFGS


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
