"""GPAW (PW-PBE) at toy settings: one SCF through get_calculator, the subprocess runner, the E–V cell relax.

`make test` installs GPAW first (scripts/install_gpaw.sh, idempotent); where it is not installed these tests
are skipped, and ATOMFLOW_REQUIRE_GPAW=1 (set by .ci/run) turns that skip into a failure. Low cutoff and
k-mesh: these test the plumbing and physical invariants in seconds, not converged numbers
(benchmarks/dft_elastic.py does).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ase.build import bulk

try:
    import gpaw  # noqa: F401
except ImportError as exc:
    if os.environ.get("ATOMFLOW_REQUIRE_GPAW") == "1":
        pytest.fail(f"GPAW required (ATOMFLOW_REQUIRE_GPAW=1) but it does not import ({exc}); run "
                    "`make install-gpaw`", pytrace=False)
    pytest.skip("GPAW is not installed (make install-gpaw)", allow_module_level=True)

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


# --- ML-seeded GPAW (atomflow.seeding): the default seed, SevenNet-0, then GPAW from its geometry -----------

def _run(flow):
    from jobflow import run_locally

    from atomflow.store import open_store

    store = open_store("memory://gpaw-seeded")
    run_locally(flow, store=store, log=False, ensure_success=True, raise_immediately=True)
    return store


def test_seeded_relaxation_with_gpaw_starts_from_sevennet_geometry(tmp_path, monkeypatch):
    """RelaxMaker with GPAW seeds by default: SevenNet-0 relaxes, GPAW continues from its geometry to fmax."""
    from jobflow import Flow

    from atomflow.documents import RelaxDocument
    from atomflow.jobs import RelaxMaker, relax_step

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATOMFLOW_GPAW_CMD", "")
    atoms = bulk("Na", "bcc", a=4.20, cubic=True)  # 2 atoms
    atoms.positions[1] += [0.15, -0.1, 0.05]  # off the body centre: both calculators move it back
    from pymatgen.io.ase import AseAtomsAdaptor

    maker = RelaxMaker(calculator=TOY, relax_cell=False, fmax=0.02)
    assert maker.seed_spec == CalculatorSpec.parse("sevennet")  # on by default for DFT
    step = relax_step(maker, AseAtomsAdaptor.get_structure(atoms))
    assert isinstance(step, Flow)
    store = _run(step)
    ml, static, dft = (RelaxDocument.model_validate(store.get_output(j.uuid)) for j in step.jobs)
    assert ml.provenance.calculator["name"] == "sevennet" and dft.provenance.calculator["name"] == "gpaw"
    assert np.allclose(dft.input_structure.cart_coords, ml.structure.cart_coords, atol=1e-8)
    bond = lambda xyz: xyz[1] - xyz[0]  # noqa: E731  (both atoms move: compare the vector between them)
    assert np.linalg.norm(bond(ml.structure.cart_coords) - bond(atoms.positions)) > 0.1  # the seed moved it
    assert dft.converged and dft.fmax == 0.02 and dft.max_force < 0.02  # the DFT criterion
    assert dft.provenance.settings["seed"]["calculator"]["name"] == "sevennet"
    assert dft.seed_check.start_energy == pytest.approx(static.energy) and dft.energy < static.energy
    assert dft.flags == []
    assert dft.seed_check.curvature_calls == 12  # SevenNet-0's Hessian (6N calls) started GPAW's BFGS


def test_sevennet_relaxed_bcc_na_keeps_its_symmetry_for_gpaw():
    """SevenNet-0's relaxed bcc Na cell carries ~1e-8 Å of float32 noise: GPAW's symmetry finder (tolerance
    1e-7) then finds 2 operations and 6912 irreducible k-points of the 24³ mesh of workflows/dft_elastic.py;
    the seed geometry as atomflow hands it to DFT (atomflow.seeding.keep_start_symmetry) keeps all 48 and 406
    — what made bcc Na's seeded DFT elastic tensor 17 times dearer per SCF cycle. No SCF is run here."""
    from gpaw import GPAW, PW
    from pymatgen.io.ase import AseAtomsAdaptor

    from atomflow.seeding import keep_start_symmetry

    start = bulk("Na", "bcc", a=4.20)
    seed = relax(start, "sevennet", relax_cell=True, fmax=0.01).atoms

    def symmetry(atoms):
        atoms = atoms.copy()
        atoms.calc = GPAW(mode=PW(200), kpts=(12, 12, 12), txt=None)  # the finder's answer, cheaper
        atoms.calc.initialize(atoms)
        return len(atoms.calc.wfs.kd.symmetry.op_scc), atoms.calc.wfs.kd.nibzkpts

    handed, changed = keep_start_symmetry(AseAtomsAdaptor.get_structure(seed), AseAtomsAdaptor.get_structure(start))
    ops, kpts = symmetry(start)
    assert symmetry(AseAtomsAdaptor.get_atoms(handed)) == (ops, kpts) and ops == 48
    noisy_ops, noisy_kpts = symmetry(seed)  # the noise this guards against (SevenNet-0 float32 stress)
    assert changed and noisy_ops < 48 and noisy_kpts > 5 * kpts


def test_seeded_neb_with_gpaw_starts_from_the_seed_band_and_climbs(tmp_path, monkeypatch):
    """A short seeded CI-NEB on a tiny cell (bcc Na 3×1×1 conventional, one vacancy: 5 atoms; the atom at the
    origin hops along x into the vacancy, a second-neighbour hop, the only one this small a cell fits). The
    GPAW band starts from the seed's converged band and climbs from its first step to the DFT criterion."""
    from ase.io.jsonio import decode
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    from atomflow.jobs import RelaxMaker
    from atomflow.neb import MigrationDocument, MigrationMaker

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATOMFLOW_GPAW_CMD", "gpaw python")  # the subprocess path, as on a cluster node
    cells = bulk("Na", "bcc", a=4.20, cubic=True) * (3, 1, 1)  # atom 2 sits at (4.2, 0, 0)
    initial = cells.copy()
    del initial[2]
    final = initial.copy()
    final.positions[0] = cells.positions[2]
    # cheaper still: Na's 1-electron PAW setup (gpaw-data's Na.1), 200 eV, 1×2×2 k-points
    cheap = CalculatorSpec(name="gpaw", parameters={"ecut": 200, "kpts": [1, 2, 2], "setups": {"Na": "1"}})
    # the seed: Lennard-Jones with Na's nearest-neighbour distance as its minimum (2^(1/6)·3.24 Å = 3.64 Å);
    # SevenNet-0, the default, is the seed of the relaxation test above (here it would double the test's time)
    maker = MigrationMaker(calculator=cheap, seed="lj:sigma=3.24,epsilon=0.1", supercell_min_length=None,
                           bulk_relax_maker=None, n_images=1, fmax=0.04,  # below pre-convergence's 0.05
                           endpoint_relax_maker=RelaxMaker(relax_cell=False, fmax=0.05))
    flow = maker.make_hop_flow(AseAtomsAdaptor.get_structure(initial), AseAtomsAdaptor.get_structure(final),
                               name="x hop", moving_index=0)
    store = _run(flow)
    doc = MigrationDocument.model_validate(store.get_output(flow.output.uuid, load=True))
    assert doc.provenance.calculator["name"] == "gpaw"
    assert doc.provenance.settings["seed"]["calculator"]["name"] == "lj"
    assert doc.converged and doc.fmax == 0.04 and max(doc.image_max_forces) < 0.04  # the DFT criterion
    assert [s["climb"] for s in doc.stages] == [True]  # climbing from the first step
    assert doc.forward_barrier > 0 and doc.flags == []
    seed_band = next(iter(store.query({"name": {"$regex": r"^neb .*\[seed"}}, properties=["uuid"])))
    ml_images = [s if isinstance(s, Structure) else Structure.from_dict(s)
                 for s in store.get_output(seed_band["uuid"], load=True)["image_structures"]]
    (run_dir,) = tmp_path.glob("gpaw-neb-*")
    started = decode((run_dir / "input.json").read_text())["kwargs"]["band"]
    assert np.allclose(started[1].positions, ml_images[1].cart_coords, atol=1e-6)  # the seed's converged image
    idpp_middle = 0.5 * (initial.positions + final.positions)
    assert not np.allclose(started[1].positions, idpp_middle, atol=0.02)  # … not a fresh interpolation
    hessians = decode((run_dir / "input.json").read_text())["kwargs"]["image_hessians"]  # into the subprocess
    assert len(hessians) == 1 and np.shape(hessians[0]) == (15, 15)
    assert np.linalg.eigvalsh(hessians[0]).min() > 0  # positive definite, as BFGS / L-BFGS need
