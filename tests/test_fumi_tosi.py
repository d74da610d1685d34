"""Physical checks of the Fumi-Tosi NaCl calculator: Ewald against pymatgen, forces and stress
against finite differences, charged cells, the relaxed lattice constant, and input validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.filters import FrechetCellFilter
from ase.neighborlist import neighbor_list
from ase.optimize import BFGS

from atomflow.calculators.fumi_tosi import FumiTosiNaCl, _neighbors
from atomflow.errors import CalculatorError

A_EXP = 5.640  # NaCl room-temperature lattice constant, Angstrom


def rocksalt(repeat=1, a=A_EXP, rattle=0.0, seed=0) -> Atoms:
    atoms = bulk("NaCl", "rocksalt", a=a, cubic=True).repeat(repeat)
    if rattle:
        atoms.rattle(rattle, seed=seed)
    return atoms


def energy(atoms, **kw) -> float:
    atoms = atoms.copy()
    atoms.calc = FumiTosiNaCl(**kw)
    return atoms.get_potential_energy()


def sheared(atoms: Atoms) -> Atoms:
    atoms = atoms.copy()
    cell = np.array(atoms.cell)
    atoms.set_cell(cell @ (np.eye(3) + [[0.02, 0.05, -0.03], [0.0, -0.01, 0.04], [0.02, 0.0, 0.015]]),
                   scale_atoms=True)
    return atoms


def check_forces_fd(atoms: Atoms, components, h=1e-4, tol=1e-3) -> None:
    atoms = atoms.copy()
    atoms.calc = FumiTosiNaCl()
    forces = atoms.get_forces()
    for a, k in components:
        e = []
        for sign in (1, -1):
            disp = atoms.copy()
            disp.positions[a, k] += sign * h
            e.append(energy(disp))
        assert forces[a, k] == pytest.approx(-(e[0] - e[1]) / (2 * h), abs=tol), (a, k)


def test_coulomb_matches_pymatgen_ewald():
    from pymatgen.analysis.ewald import EwaldSummation
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = rocksalt(rattle=0.1, seed=1)
    # Zero charges leave only the short-range part; the difference is the calculator's Coulomb.
    full, short = atoms.copy(), atoms.copy()
    full.calc = FumiTosiNaCl()
    short.calc = FumiTosiNaCl(charges={"Na": 0.0, "Cl": 0.0})
    e_coul = full.get_potential_energy() - short.get_potential_energy()
    f_coul = full.get_forces() - short.get_forces()

    structure = AseAtomsAdaptor.get_structure(atoms)
    structure.add_oxidation_state_by_element({"Na": 1, "Cl": -1})
    ewald = EwaldSummation(structure, compute_forces=True)
    assert e_coul / len(atoms) == pytest.approx(ewald.total_energy / len(atoms), abs=1e-4)
    np.testing.assert_allclose(f_coul, ewald.forces, atol=1e-3)


def test_forces_match_finite_differences():
    atoms = rocksalt(2, rattle=0.05, seed=2)
    rng = np.random.default_rng(0)
    comps = [(a, k) for a in rng.choice(len(atoms), 6, replace=False) for k in range(3)]
    check_forces_fd(atoms, comps)


@pytest.mark.parametrize("charged", [False, True])
def test_stress_matches_strain_derivative(charged):
    atoms = sheared(rocksalt(rattle=0.05, seed=3))
    if charged:  # exercises the neutralising-background stress
        del atoms[0]
    atoms.calc = FumiTosiNaCl()
    stress = atoms.get_stress(voigt=False)
    volume, cell, h = atoms.get_volume(), np.array(atoms.cell), 1e-5
    for a, b in [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]:
        eps = np.zeros((3, 3))
        eps[a, b] = eps[b, a] = h
        e = []
        for sign in (1, -1):
            strained = atoms.copy()
            strained.set_cell(cell @ (np.eye(3) + sign * eps), scale_atoms=True)
            e.append(energy(strained))
        de = (e[0] - e[1]) / (2 * h) / (1 if a == b else 2)  # off-diagonal strain enters twice
        assert stress[a, b] == pytest.approx(de / volume, abs=1e-4), (a, b)


def test_charged_cell_with_vacancy():
    atoms = rocksalt(2, rattle=0.05, seed=4)
    del atoms[[i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "Na"][0]]
    e_default = energy(atoms)
    assert np.isfinite(e_default)
    # The background term makes the total independent of the Ewald split.
    assert energy(atoms, ewald_alpha=0.25, ewald_accuracy=1e-8) == pytest.approx(e_default, abs=1e-4)
    assert energy(atoms, ewald_alpha=0.6, ewald_accuracy=1e-8) == pytest.approx(e_default, abs=1e-4)
    check_forces_fd(atoms, [(0, 0), (0, 1), (7, 2), (30, 0), (62, 1)])


def test_relaxed_lattice_constant_near_experiment():
    atoms = rocksalt(a=5.45)
    atoms.calc = FumiTosiNaCl()
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-3, steps=200)
    a = atoms.cell.cellpar()[0]
    assert a == pytest.approx(A_EXP, rel=0.015)
    assert np.abs(atoms.get_stress()).max() < 1e-4


def test_rejects_other_elements_and_nonperiodic_cells():
    atoms = rocksalt()
    atoms[0].symbol = "K"
    atoms.calc = FumiTosiNaCl()
    with pytest.raises(CalculatorError, match="K"):
        atoms.get_potential_energy()
    molecule = Atoms("NaCl", positions=[[0, 0, 0], [2.4, 0, 0]], cell=[10, 10, 10], pbc=False)
    molecule.calc = FumiTosiNaCl()
    with pytest.raises(CalculatorError, match="periodic"):
        molecule.get_potential_energy()


def test_parameters_are_json_serialisable():
    calc = FumiTosiNaCl(cutoff=8.0, charges={"Na": 0.9, "Cl": -0.9})
    assert json.loads(json.dumps(dict(calc.parameters)))["cutoff"] == 8.0


def test_invariant_to_translation_and_permutation():
    atoms = sheared(rocksalt(rattle=0.1, seed=5))
    e0 = energy(atoms)
    moved = atoms.copy()
    moved.translate([1.3, -0.7, 2.9])
    assert energy(moved) == pytest.approx(e0, abs=1e-8)
    perm = np.random.default_rng(1).permutation(len(atoms))
    assert energy(atoms[perm]) == pytest.approx(e0, abs=1e-8)


def test_dense_neighbour_list_matches_ase():
    atoms = sheared(rocksalt(rattle=0.1, seed=6))
    atoms.positions[0] += atoms.cell[0] * 1.5  # outside the cell: wrapping must not lose pairs
    ours = _neighbors(atoms, 9.0)
    ref = neighbor_list("ijDd", atoms, 9.0)
    assert len(ours[0]) == len(ref[0])
    np.testing.assert_allclose(np.sort(ours[3]), np.sort(ref[3]), atol=1e-10)
