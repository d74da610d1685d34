"""GPAW (PW-PBE) at toy settings: one SCF through get_calculator, the subprocess runner, the E–V cell relax.

Skipped where GPAW is not installed (`make install-gpaw` builds it). Low cutoff and k-mesh: these test
the plumbing and physical invariants in seconds, not converged numbers (benchmarks/dft_elastic.py does).
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

pytest.importorskip("gpaw", reason="GPAW is not installed (make install-gpaw)")

from atomflow.calculators import CalculatorSpec, get_calculator  # noqa: E402
from atomflow.calculators.backends.gpaw.driver import one_blas_thread  # noqa: E402
from atomflow.jobs.ase_run import relax  # noqa: E402

#: Toy settings: 250 eV, 2 k-points per Å⁻¹ (5×5×5 for bcc Na), Fermi–Dirac 0.1 eV (GPAW's default).
TOY = "gpaw:ecut=250,kpt_density=2.0"


def na() -> "bulk":
    return bulk("Na", "bcc", a=4.20)


def test_one_scf_through_get_calculator():
    atoms = na()
    atoms.calc = get_calculator(TOY)
    with one_blas_thread():
        energy = atoms.get_potential_energy()
        stress = atoms.get_stress()
    assert np.isfinite(energy) and abs(energy) < 5  # GPAW energies are relative to isolated atoms
    assert np.allclose(atoms.get_forces(), 0, atol=1e-6)  # one atom: no force by symmetry
    assert np.allclose(stress[:3], stress[0], atol=1e-6) and np.allclose(stress[3:], 0, atol=1e-6)  # cubic


def test_static_in_a_subprocess_matches_in_process(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATOMFLOW_GPAW_CMD", "gpaw python")
    sub = relax(na(), TOY, relax_ions=False, max_steps=0)
    (run_dir,) = tmp_path.glob("gpaw-relax-*")
    assert (run_dir / "gpaw.txt").is_file()  # GPAW's log stays with the run
    monkeypatch.setenv("ATOMFLOW_GPAW_CMD", "")
    here = relax(na(), TOY, relax_ions=False, max_steps=0)
    assert sub.energy == pytest.approx(here.energy, abs=1e-6)
    assert np.allclose(sub.stress, here.stress, atol=1e-7)


@pytest.mark.slow  # ≈ 20 s of CPU: a stress relaxation and 8 SCFs
def test_cell_relaxation_lands_on_the_energy_minimum(tmp_path, monkeypatch):
    """The E–V cell relax: energy at the returned volume below the energy 1 % either side."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATOMFLOW_GPAW_CMD", "")
    result = relax(bulk("Na", "bcc", a=4.10), TOY, relax_cell=True)
    assert result.converged
    spec = CalculatorSpec.parse(TOY)
    v0 = result.atoms.get_volume()
    for factor in (0.99, 1.01):
        atoms = result.atoms.copy()
        atoms.set_cell(atoms.cell * factor ** (1 / 3), scale_atoms=True)
        atoms.calc = get_calculator(spec)
        with one_blas_thread():
            assert atoms.get_potential_energy() > result.energy, f"V = {factor} V0 (V0 = {v0:.3f} Å³)"
