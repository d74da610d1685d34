"""Bad input corpus: every case gives ONE clear error naming the problem, its value and the fix; a case that
reads a store leaves it unchanged, and no case makes a store.

Flag cases (unstable tensor, step-limit relax) are stored on purpose, but never reported without their flag.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from ase.build import bulk
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor
from typer.testing import CliRunner

from atomflow import Results
from atomflow.calculators import CalculatorSpec, get_calculator
from atomflow.cli import app
from atomflow.elastic import ElasticMaker
from atomflow.errors import AtomflowError, CalculatorError, InputError, MissingDependencyError, StoreError
from atomflow.jobs import RelaxMaker, relax
from atomflow.neb import MigrationMaker
from atomflow.store import open_store
from atomflow.structures.builders import bcc_na, rocksalt_nacl
from atomflow.structures.cifio import read_cif
from atomflow.structures.ordering import order_half_occupied
from atomflow.structures.supercell import make_supercell
from atomflow.structures.synthetic import synthetic_p2n_cif
from atomflow.vacancy import VacancyFormationMaker


@pytest.fixture
def store_path(tmp_path):
    """A store holding one finished result, to check that a bad input changes nothing stored."""
    from jobflow import run_locally

    path = str(tmp_path / "store")
    cu = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.6, cubic=True))
    run_locally(RelaxMaker(calculator="emt").make(cu), store=open_store(path), log=False, ensure_success=True)
    return path


def snapshot(path):
    store = open_store(path)
    docs = sorted(json.dumps(d, sort_keys=True, default=str) for d in store.query({}, properties=["uuid", "output"]))
    store.close()
    return hashlib.sha256("".join(docs).encode()).hexdigest(), len(docs)


def nacl_endpoints():
    sc = make_supercell(rocksalt_nacl(), min_length=10.0)
    initial = sc.copy()
    initial.remove_sites([1])
    final = sc.copy()
    final.remove_sites([0])
    return sc, initial, final


def overlapping():
    return Structure(Lattice.cubic(4.0), ["Cu", "Cu"], [[0, 0, 0], [0.05, 0, 0]])


def slab():
    cu = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 2))
    cu.center(vacuum=8.0, axis=2)
    return AseAtomsAdaptor.get_structure(cu)


def _fake_vasp(tmp_path, monkeypatch):
    exe = tmp_path / "vasp_std"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    monkeypatch.setenv("ATOMFLOW_VASP_CMD", str(exe))
    monkeypatch.setenv("PMG_VASP_PSP_DIR", str(tmp_path / "no_potcars_here"))
    monkeypatch.delenv("VASP_PP_PATH", raising=False)


# (id, callable(tmp_path, monkeypatch), expected exception, words the message must contain). The words name
# the parameter or item at fault, the offending value and the fix, as the message gives them.
CASES = [
    ("malformed CIF", lambda t, m: read_cif("data_x\n_cell_length_a 4.0\nloop_\n_atom_site_label\nbroken"),
     AtomflowError, ["CIF text could not be parsed", "_atom_site loop"]),
    ("occupancy that cannot be ordered",
     lambda t, m: order_half_occupied(synthetic_p2n_cif(half_occupancy=0.33)),
     InputError, ["site 0", "occupancy 0.33", "OrderDisorderedStructureTransformation"]),
    ("unknown calculator name", lambda t, m: CalculatorSpec.parse("sevenet"), CalculatorError,
     ["'sevenet'", "sevennet", "chgnet"]),
    ("EMT on Na", lambda t, m: get_calculator("emt", bcc_na()), CalculatorError,
     ["'emt'", "no parameters for Na", "Use a calculator that can", "'kim'"]),
    ("EMT on NaCl in a workflow", lambda t, m: ElasticMaker(calculator="emt").make(rocksalt_nacl()),
     CalculatorError, ["'emt'", "no parameters for Cl, Na", "'fumi_tosi'"]),
    ("missing MACE model file", lambda t, m: get_calculator(f"mace:{t}/missing.model"), CalculatorError,
     ["missing.model", "not found", "--calculator mace:"]),
    ("NEB end points with different atom counts",
     lambda t, m: MigrationMaker(calculator="fumi_tosi").make_hop_flow(nacl_endpoints()[0],
                                                                        nacl_endpoints()[2]),
     InputError, ["64 and 63 atoms", "build_endpoints"]),
    # (the same atoms in another order are matched, tests/test_neb.py; other atoms cannot be)
    ("NEB end points that hold different atoms",
     lambda t, m: MigrationMaker(calculator="fumi_tosi").make_hop_flow(
         nacl_endpoints()[1], nacl_endpoints()[0].copy().remove_sites([63])),  # a Cl gone, not a Na
     InputError,
     ["hold different atoms (Na31 Cl32 and Na32 Cl31)", "a hop moves atoms, it does not change them"]),
    ("identical NEB end points",
     lambda t, m: MigrationMaker(calculator="fumi_tosi").make_hop_flow(nacl_endpoints()[1],
                                                                        nacl_endpoints()[1]),
     InputError, ["identical", "0.000 Å", "moving atom on two different sites"]),
    ("hop between sites that are not Na",
     lambda t, m: MigrationMaker(calculator="fumi_tosi", hops=[(4, 5)]).make(rocksalt_nacl()),
     InputError, ["site 4 (Cl) and site 5 (Cl)", "Pick Na sites (indices 0, 1, 2, 3)", "species="]),
    ("zero strain magnitude", lambda t, m: ElasticMaker(calculator="emt", strain_magnitudes=(0.0, 0.01)),
     InputError, ["strain_magnitudes", "the strain 0,", "non-zero strains"]),
    ("strain magnitude far too large",
     lambda t, m: ElasticMaker(calculator="emt", strain_magnitudes=(-0.5, 0.5)),
     InputError, ["strain_magnitudes", "the strain -0.5", "|ε| ≤ 0.02"]),
    ("too few strain states for the fit",
     lambda t, m: ElasticMaker(calculator="emt", strain_magnitudes=(0.01,), symmetry_reduce=False),
     InputError, ["(0.01,)", "gives 6 strain states", "at least 12", "(-0.01, -0.005, 0.005, 0.01)"]),
    ("negative force criterion", lambda t, m: relax(rocksalt_nacl(), "fumi_tosi", fmax=-0.01), InputError,
     ["fmax must be positive", "got -0.01"]),
    ("missing VASP executable",
     lambda t, m: (m.setenv("ATOMFLOW_VASP_CMD", "no_such_vasp"), get_calculator("vasp")),
     MissingDependencyError, ["'no_such_vasp' not found", "set ATOMFLOW_VASP_CMD"]),
    ("missing POTCAR directory", lambda t, m: (_fake_vasp(t, m), get_calculator("vasp")), CalculatorError,
     ["POTCAR directory not found", "no_potcars_here", "Set PMG_VASP_PSP_DIR"]),
    ("unwritable store path", lambda t, m: open_store("/proc/atomflow-store"), StoreError,
     ["/proc/atomflow-store", "at a writable directory"]),
    ("store URI that does not answer", lambda t, m: open_store("mongodb://127.0.0.1:9/"), StoreError,
     ["mongodb://127.0.0.1:9/ does not answer", "unset ATOMFLOW_STORE_URI"]),
    ("unsupported store URI", lambda t, m: open_store("ftp://host/x"), StoreError,
     ["'ftp://host/x'", "sqlite:///path", "mongodb://"]),
    ("structure with overlapping atoms", lambda t, m: ElasticMaker(calculator="emt").make(overlapping()),
     AtomflowError, ["site 0 (Cu) and site 1 (Cu)", "0.200 Å apart", "min_distance"]),  # 0.05 × 4.0 Å
    ("vacuum where bulk is required", lambda t, m: VacancyFormationMaker(calculator="emt", species="Cu",
                                                                           mu=-0.0).make(slab()),
     AtomflowError, ["vacuum along c", "16.0 Å", "require_periodic=False"]),  # 2 × 8.0 Å of vacuum
    ("negative supercell size", lambda t, m: make_supercell(rocksalt_nacl(), min_length=-10), InputError,
     ["min_length=-10", "must be positive", "e.g. min_length=10.0"]),
    ("zero supercell size in a workflow", lambda t, m: VacancyFormationMaker(calculator="emt", species="Cu",
                                                                               mu=-0.0, min_length=0),
     InputError, ["min_length must be a positive number of Å", "got 0", "rule is 10.0"]),
    ("k-point density of zero", lambda t, m: CalculatorSpec.parse("gpaw:kpt_density=0"), CalculatorError,
     ["kpt_density must be positive", "got 0", "kpt_density=4"]),
    ("negative plane-wave cutoff", lambda t, m: CalculatorSpec.parse("vasp:encut=-550"), CalculatorError,
     ["encut must be positive", "got -550", "e.g. encut=550"]),
    ("chemical potential that is not finite",
     lambda t, m: VacancyFormationMaker(calculator="emt", species="Cu", mu=float("nan")), InputError,
     ["mu must be a finite number of eV/atom", "got nan", "energy per atom of the reference phase"]),
    ("non-element vacancy species", lambda t, m: VacancyFormationMaker(calculator="emt", species="Xx"),
     InputError, ["species must be an element symbol", "'Xx'"]),
]


def assert_one_clear_message(case: str, message: str, words: list[str]) -> None:
    assert message.strip() and "\n" not in message.strip(), f"{case}: not one line: {message!r}"
    assert "Traceback" not in message and 'File "' not in message, f"{case}: a traceback: {message!r}"
    for word in words:
        assert word in message, f"{case}: {word!r} not in {message!r}"


@pytest.mark.parametrize("case, action, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clear_error(case, action, error, words, tmp_path, monkeypatch):
    with pytest.raises(error) as raised:
        action(tmp_path, monkeypatch)
    assert_one_clear_message(case, str(raised.value), words)
    assert not (tmp_path / "results").exists()  # no store made on the way (the default one lives there)


# Cases that read a store holding a result: the error leaves what is stored unchanged.
STORE_CASES = [
    ("unknown property in a query", lambda s: Results(s).query("barriers-typo"),
     ["'barriers-typo'", "Choose one of: relax, elastic, barrier, vacancy"]),
    ("unknown formula in a query", lambda s: Results(s).barriers(formula="KBr"),
     ["'KBr'", "Formulas in the store: Cu"]),
    ("not a formula in a query", lambda s: Results(s).barriers(formula="N@Cl!"),
     ["'N@Cl!' is not a chemical formula", "'NaCl'"]),
]


@pytest.mark.parametrize("case, action, words", STORE_CASES, ids=[c[0] for c in STORE_CASES])
def test_bad_query_gives_one_clear_error_and_changes_nothing_stored(case, action, words, store_path):
    before = snapshot(store_path)
    assert before[1] == 1  # the one relaxation
    with pytest.raises(InputError) as raised:
        action(store_path)
    assert_one_clear_message(case, str(raised.value), words)
    assert snapshot(store_path) == before


def test_nan_forces_from_a_calculator_stop_the_run(monkeypatch):
    from ase.calculators.emt import EMT

    original = EMT.calculate

    def poisoned(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.results["forces"] = np.full_like(self.results["forces"], np.nan)

    monkeypatch.setattr(EMT, "calculate", poisoned)
    with pytest.raises(CalculatorError, match="non-finite forces"):
        relax(AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.6, cubic=True)), "emt")


@pytest.mark.parametrize("args, words", [
    (["query", "barrier", "--limit", "0"], ["--limit", "greater than or equal to 1"]),
    (["run", "paper", "--calculator", "sevenet"], ["Unknown calculator 'sevenet'", "sevennet"]),
    (["run", "no-such-workflow"], ["Unknown workflow 'no-such-workflow'", "paper", "ATOMFLOW_WORKFLOWS_DIR"]),
    (["run", "paper", "--calculator", "emt,emt"], ["--calculator", "listed twice"]),
    (["query", "nonsense"], ["Unknown property 'nonsense'", "Choose one of: relax, elastic, barrier, vacancy"]),
])
def test_cli_bad_arguments_exit_nonzero_with_one_message(args, words, store_path):
    before = snapshot(store_path)
    result = CliRunner().invoke(app, [*args, "--store", store_path], env={"COLUMNS": "200"})
    assert result.exit_code != 0
    assert "Traceback" not in result.output, result.output
    for word in words:
        assert word in result.output, result.output
    assert snapshot(store_path) == before


def test_unconverged_relax_is_stored_flagged_and_never_shown_as_a_plain_number(tmp_path):
    from jobflow import run_locally

    path = str(tmp_path / "store")
    atoms = bulk("Cu", "fcc", a=3.9, cubic=True).repeat(2)
    atoms.rattle(0.1, seed=3)
    run_locally(RelaxMaker(calculator="emt", max_steps=1).make(AseAtomsAdaptor.get_structure(atoms)),
                store=open_store(path), log=False, ensure_success=True)
    frame = Results(path).relaxations().to_dataframe()
    assert not frame.loc[0, "converged"] and "NOT CONVERGED" in frame.loc[0, "flags"]


def test_non_positive_definite_tensor_is_flagged_with_its_moduli():
    # One negative shear stiffness (C44 = −1 GPa): the document keeps every modulus, each next to the flag.
    from atomflow.documents import Provenance
    from atomflow.elastic import ElasticDocument
    from atomflow.elastic.strains import DEFAULT_MAGNITUDES, fit_strain_states
    from atomflow.units import EV_PER_A3_TO_GPA

    c_gpa = np.diag([10.0, 10.0, 10.0, -1.0, 5.0, 5.0])
    strains = np.array(fit_strain_states(DEFAULT_MAGNITUDES))
    stresses = strains @ c_gpa.T / EV_PER_A3_TO_GPA
    doc = ElasticDocument.from_fit(rocksalt_nacl(), strains, stresses, np.zeros(6),
                                   provenance=Provenance.from_spec("emt", {}), crystal_system="cubic")
    assert doc.mechanically_stable is False
    assert min(doc.eigenvalues_gpa) == pytest.approx(-1.0)
    assert doc.born_criteria["cubic: C44 > 0"] is False and doc.born_criteria["cubic: C11 - C12 > 0"]
    # Hill (1952) by hand for this diagonal C: 9 K_V = 30, 15 G_V = 30 + 3·9; S = C⁻¹ is diagonal,
    # 1/K_R = 3/10, 15/G_R = 4·3/10 + 3·(−1 + 1/5 + 1/5): the moduli of an unstable tensor, not physical.
    assert doc.k_voigt == pytest.approx(30 / 9) and doc.g_voigt == pytest.approx(57 / 15)
    assert doc.k_reuss == pytest.approx(10 / 3) and doc.g_reuss == pytest.approx(15 / (1.2 - 1.8))
    summary = doc.summary()
    assert summary["mechanically_stable"] is False and "NOT mechanically stable" in summary["warning"]
    assert summary["K_voigt"] == pytest.approx(30 / 9) and summary["C44"] == pytest.approx(-1.0)
    assert any("NOT mechanically stable" in w and "-1 GPa" in w for w in doc.warnings)
