"""Bad input corpus: every case gives ONE clear error naming the problem and the fix, and nothing stored changes.

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


def tiny_relax_flow(tmp_path):
    cu = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.6, cubic=True))
    return RelaxMaker(calculator="emt").make(cu)


def _fake_vasp(tmp_path, monkeypatch):
    exe = tmp_path / "vasp_std"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    monkeypatch.setenv("ATOMFLOW_VASP_CMD", str(exe))
    monkeypatch.setenv("PMG_VASP_PSP_DIR", str(tmp_path / "no_potcars_here"))
    monkeypatch.delenv("VASP_PP_PATH", raising=False)


# (id, callable(tmp_path, monkeypatch, store_path), expected exception, words the message must contain)
CASES = [
    ("malformed CIF", lambda t, m, s: read_cif("data_x\n_cell_length_a 4.0\nloop_\n_atom_site_label\nbroken"),
     AtomflowError, ["CIF"]),
    ("occupancy that cannot be ordered", lambda t, m, s: order_half_occupied(synthetic_p2n_cif(half_occupancy=0.33)),
     InputError, ["0.33"]),
    ("unknown calculator name", lambda t, m, s: CalculatorSpec.parse("sevenet"), CalculatorError,
     ["sevenet", "sevennet", "chgnet"]),
    ("EMT on Na", lambda t, m, s: get_calculator("emt", bcc_na()), CalculatorError, ["Na", "Use a calculator"]),
    ("EMT on NaCl in a workflow", lambda t, m, s: ElasticMaker(calculator="emt").make(rocksalt_nacl()),
     CalculatorError, ["Na", "Cl"]),
    ("missing MACE model file", lambda t, m, s: get_calculator(f"mace:{t}/missing.model"), CalculatorError,
     ["missing.model", "not found"]),
    ("NEB end points with different atom counts",
     lambda t, m, s: MigrationMaker(calculator="fumi_tosi").make_hop_flow(nacl_endpoints()[0], nacl_endpoints()[2]),
     InputError, ["64", "63"]),
    ("NEB end points with different species order",
     lambda t, m, s: MigrationMaker(calculator="fumi_tosi").make_hop_flow(
         nacl_endpoints()[1], Structure.from_sites(list(reversed(nacl_endpoints()[2].sites)))),
     InputError, ["order"]),
    ("identical NEB end points",
     lambda t, m, s: MigrationMaker(calculator="fumi_tosi").make_hop_flow(nacl_endpoints()[1], nacl_endpoints()[1]),
     InputError, ["identical"]),
    ("hop between sites that are not Na",
     lambda t, m, s: MigrationMaker(calculator="fumi_tosi", hops=[(4, 5)]).make(rocksalt_nacl()),
     InputError, ["Cl"]),
    ("zero strain magnitude", lambda t, m, s: ElasticMaker(calculator="emt", strain_magnitudes=(0.0, 0.01)),
     InputError, ["0"]),
    ("strain magnitude far too large", lambda t, m, s: ElasticMaker(calculator="emt", strain_magnitudes=(-0.5, 0.5)),
     InputError, ["0.5"]),
    ("too few strain states for the fit",
     lambda t, m, s: ElasticMaker(calculator="emt", strain_magnitudes=(0.01,), symmetry_reduce=False),
     InputError, ["strain"]),
    ("negative force criterion", lambda t, m, s: relax(rocksalt_nacl(), "fumi_tosi", fmax=-0.01), InputError,
     ["fmax"]),
    ("missing VASP executable", lambda t, m, s: (m.setenv("ATOMFLOW_VASP_CMD", "no_such_vasp"), get_calculator("vasp")),
     MissingDependencyError, ["no_such_vasp", "ATOMFLOW_VASP_CMD"]),
    ("missing POTCAR directory", lambda t, m, s: (_fake_vasp(t, m), get_calculator("vasp")), CalculatorError,
     ["POTCAR", "PMG_VASP_PSP_DIR"]),
    ("unwritable store path", lambda t, m, s: open_store("/proc/atomflow-store"), StoreError, ["writable"]),
    ("store URI that does not answer", lambda t, m, s: open_store("mongodb://127.0.0.1:9/"), StoreError,
     ["does not answer"]),
    ("unsupported store URI", lambda t, m, s: open_store("ftp://host/x"), StoreError, ["mongodb://"]),
    ("structure with overlapping atoms", lambda t, m, s: ElasticMaker(calculator="emt").make(overlapping()),
     AtomflowError, ["Å"]),
    ("vacuum where bulk is required", lambda t, m, s: VacancyFormationMaker(calculator="emt", species="Cu",
                                                                              mu=-0.0).make(slab()),
     AtomflowError, ["vacuum"]),
    ("negative supercell size", lambda t, m, s: make_supercell(rocksalt_nacl(), min_length=-10), InputError,
     ["positive"]),
    ("zero supercell size in a workflow", lambda t, m, s: VacancyFormationMaker(calculator="emt", species="Cu",
                                                                                  mu=-0.0, min_length=0),
     InputError, ["positive"]),
    ("unknown property in a query", lambda t, m, s: Results(s).query("barriers-typo"), InputError,
     ["relax", "barrier", "elastic"]),
    ("unknown formula in a query", lambda t, m, s: Results(s).barriers(formula="KBr"), InputError,
     ["KBr", "Cu"]),
    ("not a formula in a query", lambda t, m, s: Results(s).barriers(formula="N@Cl!"), InputError, ["formula"]),
    ("k-point density of zero", lambda t, m, s: CalculatorSpec.parse("gpaw:kpt_density=0"), CalculatorError,
     ["kpt_density", "positive"]),
    ("negative plane-wave cutoff", lambda t, m, s: CalculatorSpec.parse("vasp:encut=-550"), CalculatorError,
     ["encut"]),
    ("chemical potential that is not finite",
     lambda t, m, s: VacancyFormationMaker(calculator="emt", species="Cu", mu=float("nan")), InputError, ["mu"]),
    ("non-element vacancy species", lambda t, m, s: VacancyFormationMaker(calculator="emt", species="Xx"),
     InputError, ["element"]),
]


@pytest.mark.parametrize("case, action, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clear_error_and_changes_nothing_stored(case, action, error, words, tmp_path,
                                                                       monkeypatch, store_path):
    before = snapshot(store_path)
    with pytest.raises(error) as raised:
        action(tmp_path, monkeypatch, store_path)
    message = str(raised.value)
    assert "\n" not in message.strip() or len(message) < 600  # one message, not a traceback dump
    for word in words:
        assert word in message, f"{case}: {word!r} not in {message!r}"
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
    (["query", "barrier", "--limit", "0"], ["limit"]),
    (["run", "paper", "--calculator", "sevenet"], ["Unknown calculator", "sevennet"]),
    (["run", "no-such-workflow"], ["Unknown workflow", "paper"]),
    (["run", "paper", "--calculator", "emt,emt"], ["twice"]),
    (["query", "nonsense"], ["Unknown property"]),
])
def test_cli_bad_arguments_exit_nonzero_with_one_message(args, words, store_path):
    before = snapshot(store_path)
    result = CliRunner().invoke(app, [*args, "--store", store_path], env={"COLUMNS": "200"})
    assert result.exit_code != 0
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
    from atomflow.elastic.fit import elastic_properties

    c = np.diag([10.0, 10.0, 10.0, -1.0, 5.0, 5.0]) / 160.2176634  # eV/Å³, one negative shear stiffness
    props = elastic_properties(c, "cubic")
    assert props.mechanically_stable is False
