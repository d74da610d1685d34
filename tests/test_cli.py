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
