"""The default NEB optimizer (atomflow.neb.optimizers.GuardedLBFGS): fewer force calls, FIRE as a safety net."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.optimize import FIRE

from atomflow.neb import MigrationMaker, run_neb
from atomflow.neb.optimizers import GuardedLBFGS
from atomflow.structures.builders import rocksalt_nacl


class Swirl(Calculator):
    """Forces F = −A·x with a rotational part: not the gradient of any energy, like NEB forces.

    L-BFGS builds its curvature model from such forces and stops making progress on them.
    """

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("forces",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = np.array([[1.0, -1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        self.results = {"energy": 0.0, "forces": -(a @ atoms.positions[0])[None, :]}


def test_hands_over_to_fire_from_the_best_point_when_lbfgs_stalls():
    atoms = Atoms("H", positions=[[1.0, 0.5, 0.2]])
    atoms.calc = Swirl()
    evaluated = []  # (position, |F|) of every force call, in order
    original = atoms.calc.calculate

    def recording(*args, **kwargs):
        original(*args, **kwargs)
        evaluated.append((atoms.positions[0].copy(), float(np.linalg.norm(atoms.calc.results["forces"]))))

    atoms.calc.calculate = recording
    opt = GuardedLBFGS(atoms, logfile=None, patience=10)
    opt.run(fmax=1e-2, steps=60)
    assert opt.switched_at is not None and isinstance(opt.fallback, FIRE)
    # The hand-over goes back to the point with the smallest force seen so far: the first force call that
    # repeats an earlier position is there, and it is better than the point L-BFGS had wandered to.
    repeats = [i for i in range(1, len(evaluated))
               if any(np.allclose(evaluated[i][0], p, rtol=0, atol=1e-12) for p, _ in evaluated[:i])]
    repeat = repeats[0] if repeats else None
    assert repeat is not None, "the hand-over never went back to an earlier point"
    before = [f for _, f in evaluated[:repeat]]
    assert evaluated[repeat][1] == pytest.approx(min(before), rel=1e-12)
    assert evaluated[repeat][1] < before[-1]


def test_rejects_meaningless_guard_settings():
    atoms = Atoms("H", positions=[[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="patience"):
        GuardedLBFGS(atoms, patience=0)
    with pytest.raises(ValueError, match="growth"):
        GuardedLBFGS(atoms, growth=1.0)


def test_default_reaches_fmax_with_fewer_force_calls_than_fire():
    """Fumi–Tosi NaCl Na-vacancy hop in the conventional-cell supercell (63 atoms, ~2 s each)."""
    from atomflow.jobs.ase_run import relax

    (ep,) = MigrationMaker(calculator="fumi_tosi", supercell_min_length=10.0).endpoints(rocksalt_nacl(a=5.62))
    initial, final = relax(ep.initial, "fumi_tosi").atoms, relax(ep.final, "fumi_tosi").atoms
    guarded = run_neb(initial, final, "fumi_tosi")
    fire = run_neb(initial, final, "fumi_tosi", optimizer="FIRE")
    assert guarded.converged and guarded.max_force < 0.01
    assert all(stage["fallback_at_step"] is None for stage in guarded.stages)  # smooth: L-BFGS all the way
    assert guarded.n_force_calls < fire.n_force_calls
    barrier = lambda run: run.energies.max() - run.energies[0]  # noqa: E731
    assert barrier(guarded) == pytest.approx(barrier(fire), abs=0.005)
