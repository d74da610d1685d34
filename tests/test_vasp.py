"""The VASP path without VASP: the paper's input sets, and whole flows through custodian with a stand-in
executable (tests/fake_vasp.py) that checks every input it is given against the paper's settings and
answers with the Fumi–Tosi NaCl potential. The same flows run on the ASE path with Fumi–Tosi directly give
the reference: the VASP path must reproduce the calculator's own numbers, whatever the calculator.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from jobflow import run_locally
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.vasp import Incar, Kpoints, Potcar

from atomflow.calculators import CalculatorSpec
from atomflow.documents import RelaxDocument
from atomflow.calculators.backends.vasp.driver import VaspRunError, parse_vasprun, stress_from_vasp
from atomflow.calculators.backends.vasp.sets import kpoint_mesh, write_neb_inputs, write_vasp_inputs
from atomflow.elastic import ElasticDocument, ElasticMaker
from atomflow.errors import CalculatorError
from atomflow.jobs import RelaxMaker
from atomflow.jobs.ase_run import relax
from atomflow.neb import MigrationMaker
from atomflow.vacancy import VacancyDocument, VacancyFormationMaker
from atomflow.store import open_store

HERE = Path(__file__).parent
#: the fake POTCARs are, rightly, unknown to pymatgen's table of POTCAR hashes
pytestmark = pytest.mark.filterwarnings("ignore::pymatgen.io.vasp.inputs.UnknownPotcarWarning")
_counter = itertools.count()
#: (element, valence, mass, ENMAX) of the POTCARs the fake PSP directory holds (ENMAX as in VASP's files)
FAKE_POTCARS = {"Na_pv": ("Na", 7, 22.990, 259.561), "Sn_d": ("Sn", 14, 118.71, 241.083),
                "Cl": ("Cl", 7, 35.453, 262.472)}


def fake_potcar(symbol: str) -> str:
    """Just enough of a POTCAR for pymatgen's PotcarSingle (header keywords + one data line)."""
    element, zval, mass, enmax = FAKE_POTCARS[symbol]
    return (f"  PAW_PBE {symbol} 06Sep2000\n {zval:.10f}\n parameters from PSCTR are:\n"
            f"   VRHFIN ={element}: fake for tests\n   LEXCH  = PE\n   TITEL  = PAW_PBE {symbol} 06Sep2000\n"
            f"   POMASS = {mass:8.3f}; ZVAL   = {zval:8.3f}    mass and valenz\n"
            f"   ENMAX  = {enmax:8.3f}; ENMIN  = {0.75 * enmax:8.3f} eV\n"
            " END of PSCTR-controll parameters\n local part\n   0.1 0.2 0.3\n End of Dataset\n")


@pytest.fixture
def psp_dir(tmp_path, monkeypatch):
    root = tmp_path / "psp"
    for symbol in FAKE_POTCARS:
        (root / "POT_GGA_PAW_PBE_54" / symbol).mkdir(parents=True)
        (root / "POT_GGA_PAW_PBE_54" / symbol / "POTCAR").write_text(fake_potcar(symbol))
    monkeypatch.setenv("PMG_VASP_PSP_DIR", str(root))
    return root


@pytest.fixture
def fake_vasp(tmp_path, monkeypatch, psp_dir):
    """ATOMFLOW_VASP_CMD → the stand-in; returns a function giving the steps it ran, in order."""
    exe = tmp_path / "bin" / "vasp_std"
    exe.parent.mkdir()
    exe.write_text(f"#!{sys.executable}\n" + (HERE / "fake_vasp.py").read_text())
    exe.chmod(0o755)
    log = tmp_path / "fake_vasp.jsonl"
    monkeypatch.setenv("ATOMFLOW_VASP_CMD", str(exe))
    monkeypatch.setenv("ATOMFLOW_VASP_POLLING_INTERVAL", "0.01")
    monkeypatch.setenv("FAKE_VASP_CALC", "fumi_tosi")
    monkeypatch.setenv("FAKE_VASP_LOG", str(log))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    def calls() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


def nacl_primitive(a: float) -> Structure:
    return AseAtomsAdaptor.get_structure(bulk("NaCl", "rocksalt", a=a))


def run(flow):
    store = open_store(f"memory://vasp-{next(_counter)}")
    run_locally(flow, store=store, log=False, ensure_success=True, raise_immediately=True)
    return store.get_output(flow.output.uuid)


# --- input sets (no run) --------------------------------------------------------------------------------

def test_relax_inputs_carry_the_paper_settings_and_mp_potcars(tmp_path, psp_dir):
    structure = Structure(Lattice.cubic(6.0), ["Na", "Sn", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0]])
    for step, isif in (("relax_cell", 3), ("relax_ions", 2)):
        symbols = write_vasp_inputs(structure, step, tmp_path / step, {}, fmax=0.01, max_steps=200)
        incar = Incar.from_file(tmp_path / step / "INCAR")
        assert incar["ENCUT"] == 550 and incar["ISPIN"] == 2 and incar["EDIFF"] == 1e-6
        assert incar["EDIFFG"] == -0.01 and incar["IBRION"] == 2 and incar["ISIF"] == isif
        assert incar["GGA"].upper() == "PE" and incar["NSW"] == 200 and incar["SYSTEM"] == f"atomflow:{step}"
        assert "LMIXTAU" not in incar and "METAGGA" not in incar  # atomate2's r2SCAN-era base tags are gone
        kpoints = Kpoints.from_file(tmp_path / step / "KPOINTS")
        assert kpoints.style == Kpoints.supported_modes.Monkhorst and tuple(kpoints.kpts[0]) == (4, 4, 4)
        assert symbols == ["Na_pv", "Sn_d", "Cl"]
        assert [p.symbol for p in Potcar.from_file(tmp_path / step / "POTCAR")] == symbols


def test_neb_inputs_have_vtst_tags_image_directories_and_a_2x2x2_mesh(tmp_path, psp_dir):
    band = [nacl_primitive(5.64)] * 7
    neb = tmp_path / "neb"
    write_neb_inputs(band, neb, {}, fmax=0.01, optimizer="FIRE")
    incar = Incar.from_file(neb / "INCAR")
    assert (incar["IMAGES"], incar["SPRING"], incar["LCLIMB"]) == (5, -5, True)
    assert (incar["IBRION"], incar["POTIM"], incar["IOPT"], incar["ISIF"]) == (3, 0, 7, 2)
    assert tuple(Kpoints.from_file(neb / "KPOINTS").kpts[0]) == (2, 2, 2)
    assert sorted(p.name for p in neb.iterdir() if p.is_dir()) == [f"{i:02d}" for i in range(7)]
    assert not (neb / "POSCAR").exists()


def test_gamma_only_and_density_meshes(tmp_path, psp_dir):
    structure = nacl_primitive(5.64)
    write_vasp_inputs(structure, "relax_ions", tmp_path / "g", {"kpoints": "gamma"})
    gamma = Kpoints.from_file(tmp_path / "g" / "KPOINTS")
    assert gamma.style == Kpoints.supported_modes.Gamma and tuple(gamma.kpts[0]) == (1, 1, 1)
    # k-points per Å⁻¹ (ASE's / GPAW's rule): 8×8×8 for the NaCl primitive cell at 4 Å⁻¹ …
    assert kpoint_mesh(structure, 4.0) == (8, 8, 8)
    # … and half the mesh (rounded up) for a cell twice as long
    assert kpoint_mesh(structure * (2, 2, 2), 4.0) == (4, 4, 4)
    write_vasp_inputs(structure, "static", tmp_path / "d", {"kpt_density": 4.0})
    assert tuple(Kpoints.from_file(tmp_path / "d" / "KPOINTS").kpts[0]) == (8, 8, 8)
    # atomate2's reciprocal density (k-points per Å⁻³): more points for the smaller cell
    meshes = []
    for cell, name in ((structure, "r1"), (structure * (2, 2, 2), "r2")):
        write_vasp_inputs(cell, "static", tmp_path / name, {"reciprocal_density": 200})
        meshes.append(Kpoints.from_file(tmp_path / name / "KPOINTS").kpts[0])
    assert all(a > b for a, b in zip(*meshes))


def test_incar_overrides_and_unknown_parameters():
    spec = CalculatorSpec.parse("vasp:ISMEAR=1,sigma=0.2,kpoints=2x2x2")
    assert spec.parameters["kpoints"] == "2x2x2"
    with pytest.raises(CalculatorError, match="kpoint"):
        CalculatorSpec.parse("vasp:kpoint=4")
    with pytest.raises(CalculatorError, match="kpoints"):
        CalculatorSpec.parse("vasp:kpoints=0x2x2")


def test_stress_conversion_matches_ase_reading_the_same_vasprun(tmp_path):
    """kBar with VASP's sign → eV/Å³ with ASE's, checked against ASE's own vasprun.xml reader."""
    sys.path.insert(0, str(HERE))
    try:
        import fake_vasp
    finally:
        sys.path.remove(str(HERE))
    from ase.io import read

    atoms = bulk("NaCl", "rocksalt", a=5.5)
    kbar = np.array([[12.0, 1.5, -0.5], [1.5, -3.0, 2.0], [-0.5, 2.0, 7.0]])
    step = {"cell": np.array(atoms.cell), "frac": atoms.get_scaled_positions(), "energy": -6.5,
            "forces": np.array([[0.1, 0.0, -0.2], [-0.1, 0.0, 0.2]]), "stress": None}
    incar = {"SYSTEM": "atomflow:static", "EDIFF": 1e-6, "ENCUT": 550, "NSW": 0, "IBRION": -1}
    (tmp_path / "vasprun.xml").write_text(fake_vasp.vasprun_xml(["Na", "Cl"], [step], [kbar], incar))
    ours = parse_vasprun(tmp_path / "vasprun.xml")
    theirs = read(tmp_path / "vasprun.xml", format="vasp-xml")
    assert np.allclose(ours.stress, theirs.get_stress(voigt=True), atol=1e-12)
    assert np.allclose(stress_from_vasp(kbar), theirs.get_stress(voigt=True), atol=1e-12)
    assert ours.stress[0] < 0  # +12 kBar (VASP: the cell pushes outwards) is compressive: negative in ASE
    assert ours.energy == pytest.approx(-6.5) and np.allclose(ours.forces, step["forces"])


# --- whole runs through custodian and the stand-in executable ----------------------------------------------

def test_relax_maker_with_vasp_gives_the_calculators_own_relaxed_cell(fake_vasp):
    start = nacl_primitive(5.50)
    doc = RelaxDocument.model_validate(run(RelaxMaker(calculator="vasp", seed=None).make(start)))
    reference = relax(start, "fumi_tosi", relax_cell=True)
    assert doc.converged
    assert doc.energy == pytest.approx(reference.energy, abs=1e-4)
    assert doc.structure.volume == pytest.approx(reference.atoms.get_volume(), rel=1e-3)
    assert max(abs(s) for s in doc.stress_gpa) < 0.05  # relaxed cell: stress ≈ 0 (GPa)
    assert doc.max_force < 0.01
    assert doc.provenance.calculator["name"] == "vasp"
    steps = [c["step"] for c in fake_vasp()]
    assert steps == ["relax_cell", "relax_cell"]  # ISIF 3, run twice (the second from CONTCAR)
    assert all(c["potcar"] == ["Na_pv", "Cl"] for c in fake_vasp())
    run_dirs = list(Path.cwd().glob("vasp-relax_cell-*"))
    assert len(run_dirs) == 1 and (run_dirs[0] / "vasprun.xml.relax1").is_file()


def test_a_tag_the_paper_does_not_use_fails_loudly(fake_vasp):
    with pytest.raises(VaspRunError, match="ENCUT"):
        relax(nacl_primitive(5.6), "vasp:ENCUT=400", relax_cell=False)


def test_elastic_flow_with_vasp_reproduces_the_ase_path(fake_vasp):
    start = nacl_primitive(5.60)
    vasp = ElasticDocument.model_validate(run(ElasticMaker(calculator="vasp", seed=None).make(start)))
    calls = fake_vasp()
    ase_path = ElasticDocument.model_validate(run(ElasticMaker(calculator="fumi_tosi").make(start)))
    c_vasp, c_ase = np.array(vasp.elastic_tensor_gpa), np.array(ase_path.elastic_tensor_gpa)
    assert np.allclose(c_vasp, c_ase, atol=0.02 * np.abs(c_ase).max())
    assert vasp.unconverged == []
    steps = [c["step"] for c in calls]
    assert steps[:2] == ["relax_cell", "relax_cell"]
    assert steps[2:] == ["relax_ions"] * vasp.n_calculations  # strained cells: ions only, ISIF 2


def test_migration_flow_with_vasp_runs_a_vtst_band_and_matches_the_ase_barrier(fake_vasp):
    cell = nacl_primitive(5.64)
    common = {"supercell_min_length": 8.0}  # 63-atom vacancy cell, one distinct Na hop
    (vasp,) = run(MigrationMaker(calculator="vasp", seed=None, **common).make(cell))
    calls = fake_vasp()
    (ase_path,) = run(MigrationMaker(calculator="fumi_tosi", **common).make(cell))
    assert vasp.converged and vasp.flags == []
    assert vasp.forward_barrier == pytest.approx(ase_path.forward_barrier, abs=0.01)
    assert len(vasp.image_energies) == 7 and vasp.climbing_image_index == vasp.highest_image_index
    assert max(vasp.image_max_forces) < 0.011
    steps = [c["step"] for c in calls]
    assert steps == ["relax_cell", "relax_cell", "relax_ions", "relax_ions", "neb_endpoint", "neb_endpoint",
                     "neb", "neb"]
    assert [c["incar"].get("LCLIMB") for c in calls if c["step"] == "neb"] == [False, True]
    (band,) = Path.cwd().rglob("vasp-neb-*")
    assert sorted(p.name for p in band.iterdir() if p.is_dir()) == [f"{i:02d}" for i in range(7)]
    for i in range(1, 6):
        assert (band / f"{i:02d}" / "vasprun.xml").is_file() and (band / f"{i:02d}" / "vasprun.xml.stage1").is_file()


def test_vacancy_flow_with_vasp_matches_the_ase_path(fake_vasp):
    common = {"mu": -5.0, "schottky": False, "min_length": 8.0}  # μ given: Fumi–Tosi has no Na metal
    vasp = VacancyDocument.model_validate(run(VacancyFormationMaker(calculator="vasp", seed=None, **common).make(
        nacl_primitive(5.64))))
    steps = [c["step"] for c in fake_vasp()]
    ase_path = VacancyDocument.model_validate(run(VacancyFormationMaker(calculator="fumi_tosi", **common).make(
        nacl_primitive(5.64))))
    assert vasp.converged and vasp.n_atoms == ase_path.n_atoms
    assert vasp.e_f_min == pytest.approx(ase_path.e_f_min, abs=0.01)
    assert steps == ["relax_cell", "relax_cell", "relax_ions", "relax_ions"]  # bulk; perfect + defect (ISIF 2)


#: A seed that is not the stand-in's own potential: Fumi–Tosi with charges ±0.9 e (another minimum geometry).
SEED = CalculatorSpec(name="fumi_tosi", parameters={"charges": {"Na": 0.9, "Cl": -0.9}})


def test_seeded_migration_with_vasp_writes_the_seed_band_into_the_image_folders(fake_vasp):
    """Seeded CI-NEB on the VASP path: 01…05/POSCAR are the seed's converged band, 00 and 06 the DFT end points;
    one VTST stage, climbing from the start, to the DFT criterion; the barrier is the stand-in's own."""
    cell = nacl_primitive(5.64)
    common = {"supercell_min_length": 8.0}
    flow = MigrationMaker(calculator="vasp", seed=SEED, **common).make(cell)
    store = open_store(f"memory://vasp-{next(_counter)}")
    run_locally(flow, store=store, log=False, ensure_success=True, raise_immediately=True)
    (doc,) = store.get_output(flow.output.uuid)
    calls = fake_vasp()
    (ase_path,) = run(MigrationMaker(calculator="fumi_tosi", **common).make(cell))
    assert doc.converged and doc.flags == []
    assert doc.provenance.settings["seed"]["calculator"]["parameters"] == SEED.parameters
    assert doc.forward_barrier == pytest.approx(ase_path.forward_barrier, abs=0.01)  # a DFT (stand-in) number
    assert max(doc.image_max_forces) < 0.011 and doc.fmax == 0.01
    steps = [c["step"] for c in calls]
    # bulk: guard static + ISIF 3 twice; each end point: guard static + ISIF 2; band: end points + one stage
    assert steps[:3] == ["static", "relax_cell", "relax_cell"] and steps[-3:] == ["neb_endpoint", "neb_endpoint", "neb"]
    assert sorted(steps[3:-3]) == ["relax_ions", "relax_ions", "static", "static"]
    assert [c["incar"].get("LCLIMB") for c in calls if c["step"] == "neb"] == [True]
    seed_band = next(d for d in store.query({"name": {"$regex": r"^neb .*\[seed"}}, properties=["uuid"]))
    ml_images = store.get_output(seed_band["uuid"], load=True)["image_structures"]
    ml_images = [Structure.from_dict(s) if isinstance(s, dict) else s for s in ml_images]
    (band,) = Path.cwd().rglob("vasp-neb-*")
    poscars = [Structure.from_file(band / f"{i:02d}" / "POSCAR") for i in range(7)]
    for i in range(1, 6):
        assert np.allclose(poscars[i].cart_coords, ml_images[i].cart_coords, atol=1e-6), f"image {i}"
    assert not np.allclose(poscars[3].cart_coords, poscars[0].cart_coords, atol=0.1)
    (dft_initial,) = [RelaxDocument.model_validate(store.get_output(d["uuid"])) for d in store.query(
        {"name": {"$regex": r"^relax initial [^\[]*$"}}, properties=["uuid"])]
    assert np.allclose(poscars[0].cart_coords, dft_initial.structure.cart_coords, atol=1e-6)
    assert dft_initial.provenance.calculator["name"] == "vasp" and dft_initial.seed_check is not None
    # VASP optimises itself (IBRION 2, VTST): seeded by geometry only, no seed Hessian is computed or recorded
    assert dft_initial.seed_check.curvature_calls is None and "curvature" not in doc.provenance.settings["seed"]
