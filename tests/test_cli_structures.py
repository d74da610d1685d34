"""`atomflow run PROPERTY --structure FILE …`: the user's own files, the same store, reuse and report.

Cheap real calculators on tiny cells: fumi_tosi (rigid-ion NaCl) and EMT (Cu, Ni).
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.cif import CifWriter
from pymatgen.io.vasp import Poscar
from typer.testing import CliRunner

from atomflow import Results
from atomflow.cli import app
from atomflow.structures import rocksalt_nacl
from atomflow.structures.files import read_structure_file

runner = CliRunner()


def _structure(symbols: str, crystal: str, a: float, cubic: bool = False) -> Structure:
    return AseAtomsAdaptor.get_structure(bulk(symbols, crystal, a=a, cubic=cubic))


def _run(*args: str):
    return runner.invoke(app, ["run", *args])


def test_elastic_on_a_cif_stores_the_tensor_by_formula_and_a_second_run_reuses_it(tmp_path):
    cif = tmp_path / "rocksalt_NaCl.cif"
    CifWriter(rocksalt_nacl()).write_file(cif)  # the cubic cell: C in its cube axes
    store = str(tmp_path / "store")

    first = _run("elastic", "--structure", str(cif), "--calculator", "fumi_tosi", "--store", store)
    assert first.exit_code == 0, first.output
    assert "elastic with fumi_tosi" in first.output and "reused 0 results" in first.output
    (doc,) = Results(store).elastic(formula="NaCl")
    assert doc.provenance.structure_label == "rocksalt_NaCl"  # the label is the file name
    c = np.array(doc.elastic_tensor_gpa)
    assert np.allclose(c, c.T, atol=1e-6)
    # cubic relations of the rigid-ion rock salt: C11 = C22 = C33, C44 = C55 = C66, Born stability
    assert np.allclose(np.diag(c)[:3], c[0, 0], rtol=1e-3) and np.allclose(np.diag(c)[3:], c[3, 3], rtol=1e-3)
    assert c[0, 0] > abs(c[0, 1]) and c[0, 0] + 2 * c[0, 1] > 0 and c[3, 3] > 0
    assert (tmp_path / "results" / "report.md").is_file()  # conftest's ATOMFLOW_RESULTS_DIR

    second = _run("elastic", "--structure", str(cif), "--calculator", "fumi_tosi", "--store", store,
                  "--no-report")
    assert second.exit_code == 0, second.output
    assert "computed 0 and reused" in second.output  # nothing recomputed
    assert len(Results(store).elastic(formula="NaCl")) == 1  # each result once


def test_several_files_of_several_formats_give_one_flow_each_queryable_by_formula(tmp_path):
    cu, ni = tmp_path / "fcc_Cu.cif", tmp_path / "POSCAR_Ni"
    CifWriter(_structure("Cu", "fcc", 3.65)).write_file(cu)
    Poscar(_structure("Ni", "fcc", 3.55)).write_file(ni)
    store = str(tmp_path / "store")
    result = _run("elastic", "--structure", str(cu), str(ni), "-c", "emt", "--store", store, "--no-report")
    assert result.exit_code == 0, result.output
    results = Results(store)
    assert {d.provenance.structure_label for d in results.elastic(formula="Cu")} == {"fcc_Cu"}
    assert {d.provenance.structure_label for d in results.elastic(formula="Ni")} == {"POSCAR_Ni"}
    k_cu, k_ni = (results.elastic(formula=f)[0].k_vrh for f in ("Cu", "Ni"))
    assert k_ni > k_cu > 0  # EMT: Ni is stiffer than Cu (experiment: K 180 vs 140 GPa, Kittel ch. 3)


def _not_a_structure(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a crystal\n")
    return ["elastic", "--structure", str(path), "-c", "emt"]


def _no_hopping_species(tmp_path):
    path = tmp_path / "Cu.cif"
    CifWriter(_structure("Cu", "fcc", 3.6, cubic=True)).write_file(path)
    return ["migration", "--structure", str(path), "-c", "emt"]  # default --species Na


def _unsupported_element(tmp_path):
    path = tmp_path / "NaBr.vasp"
    Poscar(_structure("NaBr", "rocksalt", 5.98)).write_file(path)
    return ["elastic", "--structure", str(path), "-c", "fumi_tosi"]  # Fumi–Tosi has Na and Cl only


def _cannot_be_ordered(tmp_path):
    path = tmp_path / "NaCl_disordered.cif"
    disordered = Structure(Lattice.cubic(5.64), [{"Na": 0.3}, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    CifWriter(disordered).write_file(path)
    return ["vacancy", "--structure", str(path), "-c", "fumi_tosi"]


@pytest.mark.parametrize("case, words", [
    (_not_a_structure, ["notes.txt", "not a structure file"]),
    (_no_hopping_species, ["no Na atoms", "Cu"]),
    (_unsupported_element, ["fumi_tosi", "Br"]),
    (_cannot_be_ordered, ["NaCl_disordered.cif", "cannot be ordered", "occupancy 0.3"]),
])
def test_bad_input_is_one_clear_error_and_nothing_is_stored(case, words, tmp_path):
    store = tmp_path / "store"
    result = _run(*case(tmp_path), "--store", str(store))
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())  # rich wraps lines
    assert text.count("error:") == 1 and "Traceback" not in text
    for word in words:
        assert word in text, text
    assert not store.exists()  # refused before any job: no store was even opened


def test_a_half_occupied_file_is_ordered_by_doubling_its_shortest_axis(tmp_path):
    path = tmp_path / "Cu_half.cif"
    fcc = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    disordered = Structure(Lattice.tetragonal(3.6, 3.4), [{"Cu": 0.5}, "Cu", "Cu", "Cu"], fcc)
    CifWriter(disordered).write_file(path)
    phase = read_structure_file(path)
    s = phase.structure
    assert s.is_ordered and s.composition["Cu"] == 7  # 2 × 3 full sites + one of the two half-site images
    assert np.allclose(s.lattice.abc, (3.6, 3.6, 6.8))  # c (3.4 Å, the shortest) doubled
    assert phase.label == "Cu_half" and "ordered" in phase.note


@pytest.mark.slow
def test_transport_on_a_poscar_chains_migration_rates_vacancy_into_a_transport_document(tmp_path):
    """NaCl with the rigid-ion model, ~15 s: every piece of the transport flow runs and is stored."""
    path = tmp_path / "POSCAR"
    Poscar(rocksalt_nacl()).write_file(path)
    store = str(tmp_path / "store")
    result = _run("transport", "--structure", str(path), "-c", "fumi_tosi", "--store", store, "--no-report")
    assert result.exit_code == 0, result.output
    from atomflow.store import open_store

    docs = list(open_store(store).query({"output.formula": "NaCl", "output.percolation_dimension": {"$exists": True}}))
    assert docs, "no TransportDocument for NaCl in the store"
    doc = docs[0]["output"]
    assert doc["percolation_dimension"] == 3 and doc["label"] == "POSCAR"  # the Na sublattice of rock salt is fcc


def test_submit_takes_the_same_structure_files(tmp_path, monkeypatch):
    """`atomflow submit elastic --structure FILE` queues the flow `atomflow run` would run (jobflow-remote)."""
    pytest.importorskip("jobflow_remote")
    monkeypatch.setenv("JFREMOTE_PROJECTS_FOLDER", str(tmp_path / "jfremote"))
    monkeypatch.delenv("JFREMOTE_PROJECT", raising=False)
    from atomflow.cluster.submit import job_states

    cu = tmp_path / "Cu.cif"
    CifWriter(_structure("Cu", "fcc", 3.62, cubic=True)).write_file(cu)
    init = runner.invoke(app, ["cluster", "init", "--scheduler", "shell", "--fast-runner",
                               "--work-dir", str(tmp_path / "w")])
    assert init.exit_code == 0, init.output
    dry = runner.invoke(app, ["submit", "elastic", "--structure", str(cu), "-c", "emt", "--dry-run"],
                        env={"COLUMNS": "200"})
    assert dry.exit_code == 0, dry.output
    assert "elastic bulk relax" in dry.output and "fit_elastic" in dry.output and job_states() == []
    bad = runner.invoke(app, ["submit", "migration", "--structure", str(cu), "-c", "emt"])
    assert bad.exit_code == 2 and "no Na atoms" in " ".join(bad.output.split()) and job_states() == []
    result = runner.invoke(app, ["submit", "elastic", "--structure", str(cu), "-c", "emt"])
    assert result.exit_code == 0, result.output
    assert len(job_states()) == 3  # bulk relax → strained cells (fan-out at run time) → fit
