"""Resubmitting, extending and moving a study to the cluster computes only what the results store lacks.

Real Slurm on 127.0.0.1 (conftest.py); the tests build on each other in file order: a first submission
fills the store, a second one sends nothing, a second calculator sends only its own jobs, a study
half-finished locally sends only its missing half. The wall times of the first and second submission are
printed at the end of the run ("local Slurm: …").
"""

from __future__ import annotations

import time

import pytest
from jobflow import run_locally

from atomflow.results import Results
from atomflow.store import open_store

pytestmark = pytest.mark.slurm

LJ = "lj:sigma=2.338,epsilon=0.409"  # Cu pair parameters (Halicioğlu & Pound 1975)
STUDY = """
from ase.build import bulk
from jobflow import Flow
from pymatgen.io.ase import AseAtomsAdaptor
from atomflow.elastic import ElasticMaker
from atomflow.jobs import RelaxMaker, StaticMaker

def make_flow(calculator=None):
    cu = AseAtomsAdaptor.get_structure(bulk('Cu', 'fcc', a=3.62, cubic=True))
    relax = RelaxMaker(name='relax Cu', calculator=calculator).make(cu)
    static = StaticMaker(name='static Cu', calculator=calculator).make(relax.output.structure)
    elastic = ElasticMaker(name='elastic Cu', calculator=calculator, strain_magnitudes=(-0.01, 0.01)).make(cu)
    return Flow([relax, static, elastic], name='cu study')
"""
HALF = """
from ase.build import bulk
from jobflow import Flow
from atomflow.jobs import RelaxMaker, StaticMaker
from pymatgen.io.ase import AseAtomsAdaptor

def part(symbol, calculator):
    cell = AseAtomsAdaptor.get_structure(bulk(symbol, 'fcc', cubic=True))
    relax = RelaxMaker(name=f'relax {symbol}', calculator=calculator).make(cell)
    static = StaticMaker(name=f'static {symbol}', calculator=calculator).make(relax.output.structure)
    return Flow([relax, static])

def make_flow(calculator=None):
    return Flow([part('Ni', calculator), part('Al', calculator)], name='half study')
"""


@pytest.fixture(scope="module")
def workflows(cluster, tmp_path_factory):
    folder = tmp_path_factory.mktemp("workflows")
    (folder / "cu_study.py").write_text(STUDY)
    (folder / "half_study.py").write_text(HALF)
    cluster.env["ATOMFLOW_WORKFLOWS_DIR"] = str(folder)
    return folder


def store_docs(cluster) -> dict[str, dict]:
    store = open_store(cluster.store)
    try:
        docs = store.query({}, properties=["uuid", "index", "name", "output"])
        return {(d["uuid"], d["index"]): d for d in docs}
    finally:
        store.close()


def submit(cluster, *args: str, check: bool = True):
    return cluster.cli("submit", *args, "--project", cluster.name, check=check)


def test_first_submission_computes_the_study(cluster, workflows, timings):
    start = time.perf_counter()
    out = submit(cluster, "cu_study", "-c", "emt").stdout
    rows = cluster.wait()
    timings["first submission of cu_study (5 jobs sent, 9 ran)"] = time.perf_counter() - start
    assert "0 jobs reused from the store, 5 sent" in out
    assert all(r.state == "COMPLETED" for r in rows), [(r.name, r.state, r.error_line) for r in rows]
    assert len(rows) == 9  # 5 submitted + 3 strained relaxations + store_inputs made at run time
    assert all(cluster.ran_in_slurm(r.db_id) for r in rows)


def test_resubmission_sends_nothing_and_stores_nothing(cluster, workflows, timings):
    queue_before, docs_before = cluster.rows(), store_docs(cluster)
    dry = submit(cluster, "cu_study", "-c", "emt", "--dry-run").stdout
    assert "5 jobs reused from the store, nothing would be sent" in dry
    assert dry.count("reused") >= 5

    start = time.perf_counter()
    out = submit(cluster, "cu_study", "-c", "emt").stdout
    timings["second submission of cu_study (nothing sent)"] = time.perf_counter() - start
    print(out)
    for name in ("relax Cu", "static Cu", "elastic bulk relax", "relax_strained_cells", "fit_elastic"):
        assert f"reused {name} (stored " in out
    assert "5 jobs reused from the store, nothing sent" in out
    assert cluster.rows() == queue_before  # no job reached the queue, so none reached a worker
    assert store_docs(cluster).keys() == docs_before.keys()  # no duplicate result
    (elastic,) = Results(cluster.store).elastic(formula="Cu")
    assert elastic.mechanically_stable

    forced = submit(cluster, "cu_study", "-c", "emt", "--no-reuse", "--dry-run").stdout
    assert "0 jobs reused from the store, 5 would be sent" in forced


def test_second_calculator_runs_only_its_own_jobs_and_double_submission_stops(cluster, workflows):
    before = {r.db_id for r in cluster.rows()}
    docs_before = store_docs(cluster)
    out = submit(cluster, "cu_study", "-c", f"emt,{LJ}").stdout
    assert "emt: 5 jobs reused from the store, nothing sent" in out
    assert "sigma=2.338" in out and "0 jobs reused from the store, 5 sent" in out

    again = submit(cluster, "cu_study", "-c", LJ, check=False)  # while the lj jobs are queued
    assert again.returncode == 2 and "already queued or running" in again.stdout and "--force" in again.stdout

    rows = [r for r in cluster.wait() if r.db_id not in before]
    assert all(r.state == "COMPLETED" for r in rows), [(r.name, r.state, r.error_line) for r in rows]
    assert len(rows) == 9  # the lj study only, once
    new = [d for k, d in store_docs(cluster).items() if k not in docs_before]
    calculators = {d["output"]["provenance"]["calculator"]["name"] for d in new
                   if isinstance(d.get("output"), dict) and "provenance" in d["output"]}
    assert calculators == {"lj"}


def test_a_lost_strained_cell_is_the_only_one_computed_again(cluster, workflows):
    import json

    store = open_store(cluster.store)
    try:  # as if one strained relaxation of the emt study had failed: it and the fan-out's collector are gone
        (lost,) = [d for d in store.query({"name": "elastic relax 2/3 xx+0.0100"}, properties=["uuid", "output"])
                   if d["output"]["provenance"]["calculator"]["name"] == "emt"]
        collectors = [d["uuid"] for d in store.query({"name": "store_inputs"}, properties=["uuid", "output"])
                      if lost["uuid"] in json.dumps(d["output"])]
        assert len(collectors) == 1
        store.docs_store.remove_docs({"uuid": {"$in": [lost["uuid"], collectors[0]]}})
    finally:
        store.close()
    before = {r.db_id for r in cluster.rows()}
    out = submit(cluster, "cu_study", "-c", "emt").stdout
    assert "run here relax_strained_cells" in out and "reused elastic relax 1/3 xx-0.0100" in out
    assert "5 jobs reused from the store, 3 sent (1 fan-outs made here" in out
    rows = [r for r in cluster.wait() if r.db_id not in before]
    assert sorted(r.name for r in rows) == ["elastic relax 2/3 xx+0.0100", "fit_elastic", "store_inputs"]
    assert all(r.state == "COMPLETED" for r in rows), [(r.name, r.state, r.error_line) for r in rows]
    assert "nothing sent" in submit(cluster, "cu_study", "-c", "emt").stdout  # the collector is found again
    (elastic,) = Results(cluster.store).elastic(formula="Cu", calculator="emt")  # listed once
    assert elastic.mechanically_stable


def test_study_half_finished_locally_sends_only_the_missing_half(cluster, workflows, monkeypatch):
    from atomflow.workflows import load_workflow

    monkeypatch.setenv("ATOMFLOW_WORKFLOWS_DIR", str(workflows))
    half = load_workflow("half_study").make_flow("emt")
    ni = half.jobs[0]  # relax Ni → static Ni, run here as `atomflow run` would
    store = open_store(cluster.store)
    try:
        ni.hosts = []
        run_locally(ni, store=store, log=False, ensure_success=True)
    finally:
        store.close()
    before = {r.db_id for r in cluster.rows()}
    out = submit(cluster, "half_study", "-c", "emt").stdout
    assert "reused relax Ni" in out and "reused static Ni" in out
    assert "2 jobs reused from the store, 2 sent" in out
    rows = [r for r in cluster.wait() if r.db_id not in before]
    assert sorted(r.name for r in rows) == ["relax Al", "static Al"]
    assert all(r.state == "COMPLETED" and cluster.ran_in_slurm(r.db_id) for r in rows)
