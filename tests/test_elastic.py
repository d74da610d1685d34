"""ElasticMaker end to end with EMT (a real, cheap calculator) on small Cu cells."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.eos import EquationOfState
from jobflow import JobConfig, job, run_locally
from pymatgen.io.ase import AseAtomsAdaptor
from rich.console import Console

from atomflow.elastic import ElasticDocument, ElasticMaker
from atomflow.elastic.strains import strain_label, strain_to_voigt
from atomflow.errors import CalculatorError, InputError
from atomflow.jobs.makers import RelaxMaker
from atomflow.results import Results
from atomflow.runner import run_flow
from atomflow.store import open_store
from atomflow.units import to_gpa

_counter = itertools.count()


def run(maker, structure):
    store = open_store(f"memory://elastic-{next(_counter)}")
    flow = maker.make(structure)
    run_locally(flow, store=store, log=False, ensure_success=True)
    return ElasticDocument.model_validate(store.get_output(flow.output.uuid)), store


@pytest.fixture(scope="module")
def cu():
    # A 0.4 % too large lattice constant so the bulk relaxation has work to do.
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.62, cubic=True))


@pytest.fixture(scope="module")
def reduced(cu):
    return run(ElasticMaker(calculator="emt"), cu)


@pytest.fixture(scope="module")
def unreduced(cu):
    return run(ElasticMaker(calculator="emt", symmetry_reduce=False), cu)


def test_bulk_is_stress_free_after_relaxation(reduced):
    doc, _ = reduced
    assert np.abs(doc.reference_stress_gpa).max() < 0.05
    assert doc.structure.lattice.a != pytest.approx(3.62, abs=1e-3)  # the cell did relax
    assert doc.converged and doc.unconverged == []


def test_cu_tensor_is_symmetric_positive_definite_and_cubic(reduced):
    doc, _ = reduced
    c = np.array(doc.elastic_tensor_gpa)
    tol = 0.01 * c[0, 0]
    # The stored C is symmetrised; the raw least-squares C must already be symmetric within the noise,
    # because stress is the strain derivative of one energy (C_ij = ∂²E/∂e_i∂e_j). Stresses rotated onto
    # the wrong strains, or a shear convention mixed up, show here as C_ij ≠ C_ji.
    assert doc.fit_asymmetry_gpa < tol
    assert min(doc.eigenvalues_gpa) > 0 and doc.mechanically_stable
    assert np.ptp(np.diag(c)[:3]) < tol  # C11 = C22 = C33
    assert np.ptp([c[0, 1], c[0, 2], c[1, 2]]) < tol  # C12 = C13 = C23
    assert np.ptp(np.diag(c)[3:]) < tol  # C44 = C55 = C66
    normal_shear = c[:3, 3:]
    shear_shear = c[3:, 3:] - np.diag(np.diag(c)[3:])
    assert np.abs(normal_shear).max() < tol and np.abs(shear_shear).max() < tol
    assert doc.fit_residual_gpa < 0.01 * c[0, 0]
    assert doc.crystal_system == "cubic" and all(doc.born_criteria.values())


def test_bulk_modulus_agrees_with_an_energy_volume_fit(reduced):
    doc, _ = reduced
    atoms = AseAtomsAdaptor.get_atoms(doc.structure)
    volumes, energies = [], []
    for x in np.linspace(-0.02, 0.02, 9):  # ±2 % in volume around the relaxed cell
        strained = atoms.copy()
        strained.set_cell(atoms.cell * (1 + x) ** (1 / 3), scale_atoms=True)
        strained.calc = EMT()
        volumes.append(strained.get_volume())
        energies.append(strained.get_potential_energy())
    _, _, b = EquationOfState(volumes, energies, eos="birchmurnaghan").fit()  # B in eV/Å³
    k_eos = float(to_gpa(b))
    assert doc.k_vrh == pytest.approx(k_eos, rel=0.03)


def test_symmetry_reduction_runs_fewer_relaxations_for_the_same_tensor(reduced, unreduced):
    (doc_r, _), (doc_u, _) = reduced, unreduced
    # Cubic: xx ≡ yy ≡ zz, yz ≡ xz ≡ xy, and a four-fold axis maps +γ to −γ → 4 normal + 2 shear.
    assert doc_r.n_calculations == 6 and doc_u.n_calculations == 24
    for doc, store in reduced, unreduced:  # the count is what actually ran: fixed-cell relaxations stored
        strained = store.count({"output.@class": "RelaxDocument", "output.relax_cell": False})
        assert strained == doc.n_calculations
        assert store.count({"output.@class": "RelaxDocument", "output.relax_cell": True}) == 1  # the bulk
    assert sum(doc_r.derived_by_symmetry) == 18 and not any(doc_u.derived_by_symmetry)
    assert np.abs(np.array(doc_r.elastic_tensor_gpa) - np.array(doc_u.elastic_tensor_gpa)).max() < 0.5
    # Strain by strain, the rotated stresses are the ones a calculation gives.
    assert np.allclose(doc_r.strains, doc_u.strains)
    assert np.abs(np.array(doc_r.stresses_gpa) - np.array(doc_u.stresses_gpa)).max() < 0.05


def test_stress_strain_curve_starts_at_the_bulk_and_rises_with_slope_c11(cu):
    strains = (0.0, 0.0025, 0.005, 0.0075, 0.01)
    doc, _ = run(ElasticMaker(calculator="emt", stress_strain_directions=(0,), curve_strains=strains), cu)
    curve = doc.stress_strain_curves["xx"]
    assert curve.strains == list(strains)
    assert curve.stress_gpa[0] == doc.reference_stress_gpa[0]
    assert np.all(np.diff(curve.stress_gpa) > 0)  # tension: stress rises (ASE sign: tensile positive)
    slope = (curve.stress_gpa[1] - curve.stress_gpa[0]) / strains[1]
    c11 = doc.elastic_tensor_gpa[0][0]
    assert slope == pytest.approx(c11, rel=0.02)  # uniaxial strain: initial slope C11, not Young's modulus
    assert doc.n_calculations == 6 + 2  # 0.25 % and 0.75 % are new; 0.5 %, 1 % are fit strains


@pytest.fixture(scope="module")
def hcp_cu():
    # hcp: the atoms are not inversion centres, so strain moves them and relax_ions matters.
    return AseAtomsAdaptor.get_structure(bulk("Cu", "hcp", a=2.55, c=4.16))


def test_relaxed_ion_tensor_is_softer_than_clamped_ion(hcp_cu):
    relaxed, _ = run(ElasticMaker(calculator="emt"), hcp_cu)
    clamped, _ = run(ElasticMaker(calculator="emt", relax_ions=False), hcp_cu)
    assert relaxed.relax_ions and not clamped.relax_ions
    difference = np.array(clamped.elastic_tensor_gpa) - np.array(relaxed.elastic_tensor_gpa)
    # Internal relaxation can only lower the strain energy: C_clamped − C_relaxed is positive semidefinite ...
    assert np.linalg.eigvalsh(difference).min() > -0.1  # noise of fmax = 0.01 eV/Å relaxations
    # ... and for hcp it is not zero (Cu EMT: a few GPa).
    assert np.abs(difference).max() > 1.0
    assert relaxed.crystal_system == "hexagonal" and relaxed.mechanically_stable
    assert all(relaxed.born_criteria.values())


def test_unconverged_strained_relaxations_are_listed(hcp_cu):
    one_step = RelaxMaker(name="elastic relax", calculator="emt", relax_cell=False, max_steps=0)
    doc, _ = run(ElasticMaker(calculator="emt", elastic_relax_maker=one_step), hcp_cu)
    assert not doc.converged
    assert len(doc.unconverged) > 0 and "bulk" not in doc.unconverged
    assert any("did not converge" in w for w in doc.warnings)


def test_unsupported_element_fails_before_any_work():
    na = AseAtomsAdaptor.get_structure(bulk("Na", "bcc", a=4.23))
    with pytest.raises(CalculatorError):
        ElasticMaker(calculator="emt").make(na)


def test_strained_relaxation_must_keep_the_cell():
    with pytest.raises(InputError, match="relax_cell=False"):
        ElasticMaker(calculator="emt", elastic_relax_maker=RelaxMaker(calculator="emt", relax_cell=True))


# --- partial failure: a strained cell whose relaxation fails ----------------------------------------

def applied_strain(structure) -> str:
    """Label of the one-component strain of a strained cubic cell (lattice rows a·(I + ε))."""
    lattice = structure.lattice.matrix
    eps = lattice / np.median(np.diag(lattice)) - np.eye(3)
    return strain_label(np.round(strain_to_voigt(eps), 6))


@dataclass
class CrashingRelaxMaker(RelaxMaker):
    """A relaxation that fails at run time, as a crashed calculation would, for the listed strains."""

    crash: tuple[str, ...] = ()

    @job(config=JobConfig(expose_store=True))
    def make(self, structure):
        if applied_strain(structure) in self.crash:
            raise RuntimeError(f"calculation crashed at {applied_strain(structure)}")
        return RelaxMaker.make.original(self, structure)


def crashing(*labels: str) -> ElasticMaker:
    relax = CrashingRelaxMaker(name="elastic relax", calculator="emt", relax_cell=False, crash=labels)
    return ElasticMaker(calculator="emt", elastic_relax_maker=relax)


def test_one_failed_strained_cell_still_gives_the_tensor_and_is_named(cu, reduced, tmp_path):
    full, _ = reduced
    store = str(tmp_path / "store")
    summary = run_flow(crashing("xx+0.0050").make(cu), store=store, console=Console(file=io.StringIO()))
    assert summary.failed == 1 and "calculation crashed at xx+0.0050" in summary.failed_jobs[0]
    (doc,) = Results(store).elastic().documents
    assert doc.failed_strains == ["xx+0.0050"]
    assert any("xx+0.0050" in w for w in doc.warnings)
    # xx, yy, zz +0.5 % all follow from the failed cell: 21 of the 24 strain states remain
    assert len(doc.strains) == 21 and not any(np.allclose(e, [0.005, 0, 0, 0, 0, 0]) for e in doc.strains)
    c, c_full = np.array(doc.elastic_tensor_gpa), np.array(full.elastic_tensor_gpa)
    assert np.abs(c - c_full).max() < 0.02 * c_full[0, 0]  # the same tensor from fewer strains
    assert doc.mechanically_stable and doc.converged


def test_too_many_failed_strained_cells_give_one_error_naming_them(cu, tmp_path):
    # the cubic plan computes two shear cells (yz −1 %, −0.5 %); without them no shear strain is left
    store = str(tmp_path / "store")
    summary = run_flow(crashing("yz-0.0100", "yz-0.0050").make(cu), store=store,
                       console=Console(file=io.StringIO()))
    fit = [f for f in summary.failures if f.name == "fit_elastic"]
    assert summary.failed == 3 and len(fit) == 1
    assert fit[0].error.startswith("IncompleteResultsError: Too many strained relaxations of Cu failed")
    assert "yz-0.0100, yz-0.0050" in fit[0].error and "yz (0)" in fit[0].error
    assert Results(store).elastic().documents == []
