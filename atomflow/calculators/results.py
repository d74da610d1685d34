"""What a relaxation or an NEB run returns, whichever driver ran it (ASE's optimizers or a program's own).

Shared by the ASE drivers (:mod:`atomflow.jobs.ase_run`, :mod:`atomflow.neb.run`, which re-export these
names) and the program drivers beside their backends (VASP, GPAW), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from atomflow.errors import CalculatorError

if TYPE_CHECKING:
    from ase import Atoms
    from pymatgen.core import Structure


@dataclass
class RunResult:
    """Outcome of a relax / static run, in atomflow's internal units (eV, Å, eV/Å³)."""

    atoms: Atoms
    energy: float
    forces: np.ndarray
    stress: np.ndarray  # Voigt 6-vector, eV/Å³, ASE sign
    n_steps: int
    n_calls: int
    converged: bool
    energies: list[float] = field(default_factory=list)  # per step, eV

    @property
    def max_force(self) -> float:
        return float(np.linalg.norm(self.forces, axis=1).max()) if len(self.forces) else 0.0

    @property
    def structure(self) -> Structure:
        from pymatgen.io.ase import AseAtomsAdaptor

        return AseAtomsAdaptor.get_structure(self.atoms)


@dataclass
class NEBRun:
    """Outcome of one CI-NEB run (eV, Å)."""

    images: list[Atoms]  # the final band, end points included, without calculators
    energies: np.ndarray  # absolute energy of every image, eV
    image_max_forces: np.ndarray  # largest NEB force on each intermediate image, eV/Å
    converged: bool
    n_steps: int
    n_force_calls: int
    climbing_index: int | None  # index in ``images`` of the climbing image (None without climbing)
    wall_time: float  # s
    stages: list[dict] = field(default_factory=list)
    batched: bool = False  # images evaluated together, one model call per step (atomflow.neb.batched)
    n_model_calls: int | None = None  # batched model calls (None without batching)

    @property
    def max_force(self) -> float:
        return float(self.image_max_forces.max()) if len(self.image_max_forces) else 0.0


class CallCounter:
    """Counts calculator evaluations (force calls) and rejects NaN results at once."""

    def __init__(self, calc):
        self.calc = calc
        self.n = 0
        original = calc.calculate

        def counted(*args, **kwargs):
            self.n += 1
            original(*args, **kwargs)
            for key in ("energy", "forces", "stress"):
                value = calc.results.get(key)
                if value is not None and not np.all(np.isfinite(value)):
                    raise CalculatorError(
                        f"The calculator returned non-finite {key} (NaN/inf). The structure may have "
                        "overlapping atoms or be outside the potential's range; check the input geometry."
                    )

        calc.calculate = counted
