"""The cluster path end to end on a real Slurm (127.0.0.1): submit, fan out, fail, retry, read the results.

The runner is jobflow-remote's daemon started by `atomflow cluster runner start` (see conftest.py); jobs go
through sbatch to slurmd, run `jf execution run` in the project's venv and never open a database; the
runner moves their outputs into the results store that `atomflow.Results` reads.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from jobflow import Flow
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.cluster import submit_flow
from atomflow.cluster.checks import check_worker
from atomflow.jobs import RelaxMaker
from atomflow.results import Results
from atomflow.store import open_store

pytestmark = pytest.mark.slurm

HEAVY_TIME, LIGHT_TIME = "#SBATCH --time=00:10:00", "#SBATCH --time=00:05:00"


@pytest.fixture(scope="module")
def cu():
    # 0.4 % too large, so the relaxation has work to do
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.62, cubic=True))


def test_relaxation_runs_in_slurm_and_lands_in_the_results_store(cluster, cu):
    # a quote in the name, as in CI-NEB hop names ("0->1'"): sbatch refused such scripts before schedulers.py
    name = "relax Cu 0->1'"
    ids = submit_flow(Flow([RelaxMaker(name=name, calculator="emt").make(cu)]), project=cluster.name)
    rows = cluster.wait()
    assert [(r.db_id, r.name, r.state, r.worker) for r in rows] == [(ids[0], name, "COMPLETED", "heavy")]
    assert cluster.ran_in_slurm(ids[0])
    header = cluster.slurm_header(ids[0])
    assert "#SBATCH --partition=debug" in header and "#SBATCH --ntasks=1" in header and HEAVY_TIME in header

    docs = Results(cluster.store).relaxations(formula="Cu")  # as after a local `atomflow run`
    assert len(docs) == 1
    doc = docs[0]
    assert doc.converged and doc.provenance.calculator["name"] == "emt"
    assert max(abs(s) for s in doc.stress_gpa) < 0.05  # stress ≈ 0 after a cell relaxation
    assert doc.structure.lattice.a != pytest.approx(3.62, abs=1e-3)


def test_dynamic_fan_out_runs_heavy_and_light_jobs_where_they_belong(cluster, tmp_path):
    # through the command line, as a user would: a workflow file, `atomflow submit NAME -c emt`
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "cu_elastic.py").write_text(
        "from ase.build import bulk\nfrom pymatgen.io.ase import AseAtomsAdaptor\n"
        "from atomflow.elastic import ElasticMaker\n\n"
        "def make_flow(calculator=None):\n"
        "    cu = AseAtomsAdaptor.get_structure(bulk('Cu', 'fcc', a=3.62, cubic=True))\n"
        "    return ElasticMaker(name='elastic Cu', calculator=calculator,\n"
        "                        strain_magnitudes=(-0.01, 0.01)).make(cu)\n"
    )
    cluster.env["ATOMFLOW_WORKFLOWS_DIR"] = str(workflows)
    before = {r.db_id for r in cluster.rows()}
    # --no-reuse: the bulk relaxation is the one of the test above (same cell, calculator, settings) and would
    # be taken from the store, its strained cells made at submission; here every job must reach a worker
    args = ("submit", "cu_elastic", "--calculator", "emt", "--project", cluster.name, "--no-reuse")
    out = cluster.cli(*args).stdout
    assert "heavy → heavy, light → light" in out
    rows = [r for r in cluster.wait() if r.db_id not in before]

    assert all(r.state == "COMPLETED" for r in rows), [(r.name, r.state, r.error_line) for r in rows]
    by_name = {r.name: r for r in rows}
    fanned = [
        r for r in rows if r.name.startswith("elastic relax ")
    ]  # made at run time by Response(replace=…)
    assert len(fanned) >= 2
    assert all(r.worker == "heavy" for r in fanned)
    assert by_name["elastic bulk relax"].worker == "heavy"
    assert by_name["relax_strained_cells"].worker == "light" and by_name["fit_elastic"].worker == "light"
    assert all(HEAVY_TIME in cluster.slurm_header(r.db_id) for r in fanned)  # heavy resources, not inherited
    assert LIGHT_TIME in cluster.slurm_header(by_name["fit_elastic"].db_id)
    assert all(cluster.ran_in_slurm(r.db_id) for r in rows)

    (doc,) = Results(cluster.store).elastic(formula="Cu")
    c = np.array(doc.elastic_tensor_gpa)
    assert np.allclose(c, c.T) and min(doc.eigenvalues_gpa) > 0 and doc.mechanically_stable


def test_failed_job_is_retried_after_the_cause_is_fixed(cluster):
    marker = cluster.base / "input-on-shared-disk"
    check = check_worker(calculator="emt", paths=[str(marker)])
    (db_id,) = submit_flow(Flow([check]), project=cluster.name)
    rows = {r.db_id: r for r in cluster.wait()}
    assert rows[db_id].state == "FAILED" and str(marker) in rows[db_id].error

    status = cluster.cli("status", "--project", cluster.name).stdout
    assert "FAILED" in status and "atomflow retry" in status

    marker.write_text("now there")
    out = cluster.cli("retry", db_id, "--project", cluster.name).stdout
    assert f"back in the queue: {db_id}" in out
    rows = {r.db_id: r for r in cluster.wait()}
    assert rows[db_id].state == "COMPLETED"
    assert cluster.ran_in_slurm(db_id)
    output = open_store(cluster.store).get_output(check.uuid)
    assert output["paths"] == [str(marker)] and output["calculator"]["name"] == "emt"
    assert output["scheduler_job_id"]  # it ran inside a Slurm allocation
    assert cluster.cli("retry", "--all-failed", "--project", cluster.name).stdout.strip() == "no failed jobs"
