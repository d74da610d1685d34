"""The seed's curvature as the starting Hessian of the DFT optimizer (atomflow.seed_hessian).

Physical facts: a quasi-Newton relaxation started from the true Hessian needs fewer steps than one started
from ASE's constant guess and ends in the same minimum; the NEB force's Hessian of a climbing image has
the inverted curvature along the path, that of an ordinary image the springs' 2k; each starting Hessian
is positive definite. EMT stands for both the seed and the target here (Cu, seconds).
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.optimize import FIRE

from atomflow.errors import InputError
from atomflow.jobs.ase_run import relax_with_ase
from atomflow.neb.run import run_neb_with_ase
from atomflow.seed_hessian import (
    CURVATURE_FLOOR,
    band_hessians,
    neb_force_hessian,
    positive_definite,
    relaxation_hessian,
    start_optimizer,
)


def vacancy_cell():
    """2×2×2 conventional fcc Cu (EMT's lattice) without atom 1: its neighbours relax towards the vacancy."""
    cell = bulk("Cu", "fcc", a=3.59, cubic=True) * (2, 2, 2)
    del cell[1]
    return cell


def test_positive_definite_takes_magnitudes_and_floors_soft_modes():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    h = q @ np.diag([-3.0, 0.0, 0.2, 5.0]) @ q.T
    out = positive_definite(h)
    assert np.allclose(out, out.T)
    assert np.allclose(np.linalg.eigvalsh(out), sorted([3.0, CURVATURE_FLOOR, CURVATURE_FLOOR, 5.0]))
    # the eigenvectors are kept: the stiff mode is the same direction
    assert np.allclose(out @ q[:, 3], 5.0 * q[:, 3])
    with pytest.raises(InputError, match="square"):
        positive_definite(np.ones((3, 2)))


def test_neb_force_hessian_inverts_the_climbing_curvature_and_adds_the_springs():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6))
    h = a + a.T
    tau = rng.normal(size=6)
    t = tau / np.linalg.norm(tau)
    climbing = neb_force_hessian(h, tau, climbing=True, spring_constant=5.0)
    assert t @ climbing @ t == pytest.approx(-(t @ h @ t))  # the climbing force goes up along the path
    p = np.eye(6) - np.outer(t, t)
    assert np.allclose(p @ climbing @ p, p @ h @ p)  # … and is the true force across it
    ordinary = neb_force_hessian(h, tau, climbing=False, spring_constant=5.0)
    assert np.allclose(ordinary @ t, 10.0 * t)  # along the path only the two springs act: 2k
    assert np.allclose(p @ ordinary @ p, p @ h @ p)


def test_relaxation_from_the_true_hessian_takes_fewer_steps_to_the_same_minimum():
    start = vacancy_cell()
    plain = relax_with_ase(start, "emt", fmax=0.01)
    h, calls = relaxation_hessian(start, "emt")
    assert calls == 6 * len(start) and np.linalg.eigvalsh(h).min() >= CURVATURE_FLOOR - 1e-9
    started = relax_with_ase(start, "emt", fmax=0.01, initial_hessian=h)
    assert plain.converged and started.converged
    assert started.n_steps <= plain.n_steps / 2, (started.n_steps, plain.n_steps)
    assert started.energy == pytest.approx(plain.energy, abs=1e-3)
    assert np.abs(started.atoms.positions - plain.atoms.positions).max() < 0.02
    # L-BFGS takes the inverse, to the same end
    lbfgs = relax_with_ase(start, "emt", fmax=0.01, optimizer="LBFGS", initial_hessian=h)
    assert lbfgs.converged and lbfgs.energy == pytest.approx(plain.energy, abs=1e-3)


def test_band_started_from_the_seed_hessians_takes_fewer_steps_to_the_same_barrier():
    initial = vacancy_cell()
    perfect = bulk("Cu", "fcc", a=3.59, cubic=True) * (2, 2, 2)
    final = initial.copy()
    final.positions[0] = perfect.positions[1]  # atom 0 into the vacancy
    initial = relax_with_ase(initial, "emt", fmax=0.01).atoms
    final = relax_with_ase(final, "emt", fmax=0.01).atoms
    plain = run_neb_with_ase(initial, final, "emt", n_images=3, fmax=0.02)
    hessians, calls = band_hessians(plain.images, "emt", spring_constant=5.0)
    assert len(hessians) == 3 and calls == 3 * (6 * len(initial) + 1)
    # from the interpolated band, climbing at once: the converged band's curvature shortens the run
    default = run_neb_with_ase(initial, final, "emt", n_images=3, fmax=0.02, preconverge_fmax=None)
    started = run_neb_with_ase(initial, final, "emt", n_images=3, fmax=0.02, preconverge_fmax=None,
                               image_hessians=hessians)
    assert default.converged and started.converged
    assert started.n_steps < default.n_steps, (started.n_steps, default.n_steps)  # measured 4 vs 6
    barrier = lambda run: float(run.energies.max() - run.energies[0])  # noqa: E731
    assert barrier(started) == pytest.approx(barrier(default), abs=2e-3)


def test_a_starting_hessian_that_does_not_fit_is_one_clear_error():
    start = vacancy_cell()
    with pytest.raises(InputError, match="degrees of freedom"):
        relax_with_ase(start, "emt", initial_hessian=np.eye(6))
    with pytest.raises(InputError, match="fixed cell"):
        relax_with_ase(start, "emt", relax_cell=True, initial_hessian=np.eye(3 * len(start)))
    with pytest.raises(InputError, match="FIRE"):
        relax_with_ase(start, "emt", optimizer="FIRE", initial_hessian=np.eye(3 * len(start)))
    atoms = start.copy()
    atoms.calc = EMT()
    with pytest.raises(InputError, match="takes no starting Hessian"):
        start_optimizer(FIRE(atoms, logfile=None), [np.eye(3 * len(atoms))])
    band = [start.copy() for _ in range(5)]
    with pytest.raises(InputError, match="image Hessians"):
        run_neb_with_ase(start, start, "emt", n_images=3, band=band, image_hessians=[np.eye(3 * len(start))])
