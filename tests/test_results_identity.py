"""Each result once: identity is the physical inputs (structure, calculator and parameters, settings), not job ids."""

from __future__ import annotations

import uuid

import pytest
from ase.build import bulk
from jobflow import run_locally
from pymatgen.io.ase import AseAtomsAdaptor
from typer.testing import CliRunner

from atomflow.cli import app
from atomflow.elastic import ElasticMaker
from atomflow.jobs import RelaxMaker
from atomflow.results import Results
from atomflow.store import open_store


@pytest.fixture()
def cu():
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.62, cubic=True))


def test_a_rerun_lists_the_elastic_result_once(cu, tmp_path):
    store = open_store(str(tmp_path / "store"))
    for _ in range(2):  # the second run reuses the relaxations but makes new job ids and a new document
        run_locally(ElasticMaker(calculator="emt", strain_magnitudes=(-0.01, 0.01)).make(cu), store=store,
                    log=False, ensure_success=True)
    raw = list(store.query({"output.@class": "ElasticDocument"}, properties=["output.provenance.settings"]))
    assert len(raw) == 2  # stored twice, with different strained-cell job ids …
    assert len(Results(store).elastic()) == 1  # … and listed once


def test_query_by_calculator_matches_the_whole_spec_and_the_table_tells_models_apart(cu, tmp_path):
    path = str(tmp_path / "store")
    store = open_store(path)
    for spec in ("lj", "lj:sigma=2.2"):
        run_locally(RelaxMaker(calculator=spec, relax_cell=False).make(cu), store=store, log=False,
                    ensure_success=True)
    results = Results(store)
    assert len(results.relaxations()) == 2
    only_default = results.relaxations(calculator="lj")
    assert [d.provenance.calculator["parameters"] for d in only_default] == [{}]
    assert [d.provenance.calculator["parameters"] for d in results.relaxations(calculator="lj:sigma=2.2")] == [
        {"sigma": 2.2}]
    out = CliRunner().invoke(app, ["query", "relax", "--store", path], env={"COLUMNS": "300"}).output
    assert "lj(sigma=2.2)" in out and "model" in out
