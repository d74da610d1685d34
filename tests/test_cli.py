"""The command line and the local runner."""

from __future__ import annotations

from ase.build import bulk
from jobflow import Flow
from pymatgen.io.ase import AseAtomsAdaptor
from typer.testing import CliRunner

from atomflow.cli import app
from atomflow.jobs import RelaxMaker
from atomflow.runner import run_flow
from atomflow.store import open_store

runner = CliRunner()


def test_calculators_command_lists_every_name():
    result = runner.invoke(app, ["calculators"])
    assert result.exit_code == 0
    for name in ("emt", "sevennet", "chgnet", "mace", "kim", "fumi_tosi", "gpaw", "vasp"):
        assert name in result.output


def test_unknown_workflow_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOMFLOW_WORKFLOWS_DIR", str(tmp_path))
    from atomflow.errors import InputError
    from atomflow.workflows import load_workflow

    try:
        load_workflow("nope")
    except InputError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("expected InputError")


def test_run_flow_writes_relaxed_documents_to_the_store(tmp_path):
    cu = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.7, cubic=True))
    job = RelaxMaker(calculator="emt").make(cu)
    store_path = str(tmp_path / "store")
    run_flow(Flow([job]), store=store_path)
    doc = open_store(store_path).get_output(job.uuid)
    assert doc["converged"]
    assert max(abs(s) for s in doc["stress_gpa"]) < 0.02  # stress ≈ 0 after a cell relax (GPa)
    assert doc["provenance"]["calculator"]["name"] == "emt"


WORKFLOW = '''
from ase.build import bulk
from jobflow import Flow
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.jobs import RelaxMaker


def make_flow(calculator=None):
    cu = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.7, cubic=True))
    return Flow([RelaxMaker(calculator=calculator or "emt", label="fcc Cu").make(cu)])
'''


def test_run_writes_the_report_for_any_workflow(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOMFLOW_WORKFLOWS_DIR", str(tmp_path / "workflows"))
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "copper.py").write_text(WORKFLOW)
    store = str(tmp_path / "store")
    result = runner.invoke(app, ["run", "copper", "--store", store])
    assert result.exit_code == 0, result.output
    report = tmp_path / "results" / "report.md"  # conftest's ATOMFLOW_RESULTS_DIR
    text = report.read_text()
    assert "## Relaxations" in text and "fcc Cu" in text and "emt" in text
    assert "Comparison with the paper" not in text  # no paper system in this store
    lattice = next(line for line in text.splitlines() if line.startswith("| fcc Cu | emt | Cu |"))
    a = float(lattice.split("|")[5].split("/")[0])
    assert abs(a - 3.59) < 0.05  # EMT's fcc Cu lattice constant (ASE EMT: 3.59 Å), the cell relax moved it there


def test_report_of_an_empty_store_is_one_clear_error(tmp_path):
    result = runner.invoke(app, ["report", "--store", str(tmp_path / "empty")])
    output = " ".join(result.output.split())  # rich wraps lines
    assert result.exit_code == 2 and "holds no results yet" in output and "atomflow run paper" in output

