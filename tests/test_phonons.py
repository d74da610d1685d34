"""PhononMaker end to end with EMT (cheap, real): Γ acoustic modes, 3N modes, sound velocities against the
same potential's elastic constants (Christoffel), thermal limits, and the dynamical-stability flag."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from ase.build import bulk
from jobflow import run_locally
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.elastic import ElasticDocument, ElasticMaker
from atomflow.errors import InputError
from atomflow.phonons import (
    PhononDocument,
    PhononMaker,
    christoffel_velocities,
    phonon_figure,
    row,
    section,
    sound_velocities,
)
from atomflow.phonons.analysis import make_phonopy
from atomflow.store import open_store

_counter = itertools.count()


def run(maker, structure, doc_type=PhononDocument):
    store = open_store(f"memory://phonons-{next(_counter)}")
    flow = maker.make(structure)
    run_locally(flow, store=store, log=False, ensure_success=True)
    return doc_type.model_validate(store.get_output(flow.output.uuid, load=True))


@pytest.fixture(scope="module")
def cu():
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.62, cubic=True))


@pytest.fixture(scope="module")
def cu_phonons(cu):
    return run(PhononMaker(calculator="emt"), cu)


@pytest.fixture(scope="module")
def cu3au_phonons():
    # L1_2 Cu3Au: 4 atoms in the primitive cell, so 12 modes per q, 9 of them optical.
    s = Structure(Lattice.cubic(3.75), ["Au", "Cu", "Cu", "Cu"],
                  [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    return run(PhononMaker(calculator="emt", supercell_min_length=7.0), s)


def test_acoustic_modes_vanish_at_gamma(cu_phonons, cu3au_phonons):
    for doc in (cu_phonons, cu3au_phonons):
        gamma = np.asarray(doc.gamma_frequencies)
        assert np.abs(gamma[:3]).max() < 1e-3  # THz: the translational sum rule
        assert doc.dynamically_stable and doc.flags == []
    # optical modes of Cu3Au are finite at Γ
    assert np.asarray(cu3au_phonons.gamma_frequencies)[3:].min() > 1.0


def test_three_n_modes(cu_phonons, cu3au_phonons):
    for doc, n in ((cu_phonons, 1), (cu3au_phonons, 4)):
        assert doc.n_atoms_primitive == n
        assert len(doc.gamma_frequencies) == 3 * n
        assert {len(q) for seg in doc.band_frequencies for q in seg} == {3 * n}
        # the DOS integrates to 3N states per primitive cell
        assert np.trapezoid(doc.dos, doc.dos_frequencies) == pytest.approx(3 * n, rel=0.02)


def test_symmetry_reduces_displacements(cu_phonons, cu3au_phonons):
    assert cu_phonons.n_displacements == 1  # one atom, cubic: a single displacement (no ± needed)
    assert cu3au_phonons.n_displacements < 3 * 4 * 2


def test_thermal_properties_obey_thermodynamics(cu_phonons):
    doc = cu_phonons
    t, f, s, cv = (np.asarray(x) for x in (doc.temperatures, doc.free_energy, doc.entropy, doc.heat_capacity))
    kb = 8.617333262e-5  # eV/K
    # S = −∂F/∂T (F in eV/atom, S in k_B/atom), central differences on the 10 K grid
    dfdt = np.gradient(f, t)[5:-5]
    assert np.allclose(-dfdt / kb, s[5:-5], rtol=0.01, atol=0.01)
    assert cv[-1] == pytest.approx(3.0, rel=0.01)  # Dulong–Petit at 1000 K (Θ_D(Cu) ≈ 340 K)
    assert np.all(np.diff(cv) > 0) and np.all(np.diff(s) > 0)


def test_sound_velocities_agree_with_elastic_constants(cu, cu_phonons):
    """Long-wavelength phonons and the stress–strain tensor of the same EMT potential.

    For a one-atom Bravais lattice at zero stress the method of long waves gives the same C_ij as
    homogeneous strain, so the two differ only by numerics: the elastic fit's ±0.5/1 % strains
    (anharmonic ~1e-3 relative), the 0.01 Å displacement and the q = 0.005 1/Å slope (dispersion
    ~(qa)² ~ 3e-4). Bound: 2 % on every velocity.
    """
    elastic = run(ElasticMaker(calculator="emt"), cu, ElasticDocument)
    phonon = cu_phonons.phonopy()
    structure = cu_phonons.structure
    rho = structure.density * 1000.0  # g/cm³ → kg/m³
    velocities = {}
    for direction in ((1, 0, 0), (1, 1, 0), (1, 1, 1)):
        from_bands = sound_velocities(phonon, direction)
        from_c = christoffel_velocities(elastic.elastic_tensor_gpa, rho, direction)
        velocities[direction] = from_c
        assert np.allclose(from_bands, from_c, rtol=0.02), (direction, from_bands, from_c)
    # the check is sensitive: the slow transverse [110] branch is set by C' = (C11 − C12)/2 alone,
    # the fast one by C44, and the two differ strongly in Cu
    slow, fast, _ = velocities[(1, 1, 0)]
    assert slow < 0.8 * fast


def test_unstable_structure_is_flagged():
    # simple-cubic Cu, not relaxed: EMT's sc lattice has imaginary transverse branches
    sc = AseAtomsAdaptor.get_structure(bulk("Cu", "sc", a=2.4))
    doc = run(PhononMaker(calculator="emt", relax_bulk=False), sc)
    assert not doc.dynamically_stable
    assert "imaginary_modes" in doc.flags and doc.min_frequency < -doc.imaginary_tol
    assert doc.n_imaginary > 0
    assert "**NO**" in section([doc]) and "Dynamically unstable" in section([doc])
    assert row(doc)["dynamically_stable"] is False


def test_report_hooks_and_figure(cu_phonons, tmp_path):
    r = row(cu_phonons)
    assert r["dynamically_stable"] and r["heat_capacity_300K_kB_per_atom"] == pytest.approx(
        cu_phonons.at_temperature(300.0)["heat_capacity"])
    text = section([cu_phonons])
    assert "| Cu | emt |" in text and "Dynamically unstable" not in text
    png = phonon_figure(cu_phonons, tmp_path / "cu.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_supercell_matrix_convention(cu):
    # atomflow: rows of the supercell = M @ cell rows; phonopy acts on columns, so it must get Mᵀ.
    m = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 2]])
    phonon = make_phonopy(cu, m)
    assert np.allclose(phonon.supercell.cell, m @ cu.lattice.matrix)


def test_bad_inputs_fail_before_any_work(cu):
    with pytest.raises(InputError, match="temperatures"):
        PhononMaker(calculator="emt", temperatures=(0.0, 300.0))
    with pytest.raises(InputError, match="displacement"):
        PhononMaker(calculator="emt", displacement=0.0)
    with pytest.raises(InputError):
        PhononMaker(calculator="emt", supercell_max_atoms=4).make(cu)


def test_rerun_reuses_the_force_calculations(cu, monkeypatch):
    store = open_store(f"memory://phonons-{next(_counter)}")
    maker = PhononMaker(calculator="emt", supercell_min_length=7.0)
    first = maker.make(cu)
    run_locally(first, store=store, log=False, ensure_success=True)

    def refuse(*args, **kwargs):
        raise AssertionError("a finished force calculation was recomputed")

    monkeypatch.setattr("atomflow.jobs.ase_run.run_static", refuse)
    second = maker.make(cu)
    run_locally(second, store=store, log=False, ensure_success=True)
    a, b = (PhononDocument.model_validate(store.get_output(f.output.uuid, load=True)) for f in (first, second))
    assert a.gamma_frequencies == b.gamma_frequencies
