"""Cluster set-up without a scheduler: project file content, resources per scheduler, heavy/light routing.

Everything here runs in seconds; the real Slurm runs are in tests/cluster/.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from ase.build import bulk
from jobflow import Flow, JobStore, job
from maggma.stores import MemoryStore
from monty.json import MontyDecoder
from pymatgen.io.ase import AseAtomsAdaptor
from typer.testing import CliRunner

pytest.importorskip("jobflow_remote")

from atomflow.cli import app  # noqa: E402
from atomflow.cluster import (  # noqa: E402
    ClusterConfig,
    ClusterError,
    ResourcePlan,
    Resources,
    RunConfig,
    job_states,
    load_project,
    retry_jobs,
    submit_flow,
    write_project,
)
from atomflow.cluster.checks import check_worker  # noqa: E402
from atomflow.cluster.project import FAST_RUNNER, job_controller  # noqa: E402
from atomflow.cluster.submit import resource_plan  # noqa: E402
from atomflow.elastic import ElasticMaker  # noqa: E402
from atomflow.elastic.flow import relax_strained_cells  # noqa: E402
from atomflow.jobs.makers import RelaxMaker, StaticMaker  # noqa: E402
from atomflow.vacancy.flow import relax_vacancy_cells  # noqa: E402


@pytest.fixture(autouse=True)
def projects(tmp_path, monkeypatch):
    folder = tmp_path / "jfremote"
    monkeypatch.setenv("JFREMOTE_PROJECTS_FOLDER", str(folder))
    monkeypatch.delenv("JFREMOTE_PROJECT", raising=False)
    return folder


@pytest.fixture(scope="module")
def cu():
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.62, cubic=True))


def config(tmp_path, **kwargs) -> ClusterConfig:
    fields = {
        "work_dir": tmp_path / "work",
        "heavy": Resources(partition="cpu", ntasks=16, time="12:00:00", mem="32G"),
        "light": Resources(ntasks=1, time="00:30:00"),
    }
    return ClusterConfig(**{**fields, **kwargs})


# project file ---------------------------------------------------------------------------------------------


def test_project_has_heavy_and_light_workers_that_activate_the_environment(tmp_path):
    content = config(tmp_path, pre_run="module load vasp").project_dict()
    heavy, light = content["workers"]["heavy"], content["workers"]["light"]
    assert heavy["type"] == light["type"] == "local"
    assert heavy["scheduler_type"]["@class"] == "SlurmIO"
    assert heavy["scheduler_type"]["@module"] == "atomflow.cluster.schedulers"
    assert heavy["resources"] == {"partition": "cpu", "ntasks": 16, "time": "12:00:00", "mem": "32G"}
    assert light["resources"] == {"partition": "cpu", "ntasks": 1, "time": "00:30:00"}  # partition inherited
    assert heavy["pre_run"].splitlines() == [
        f"source {Path(sys.prefix) / 'bin' / 'activate'}",
        "module load vasp",
    ]
    assert heavy["work_dir"] == str(tmp_path / "work")
    assert "runner" not in content  # jobflow-remote's 30 s delays unless asked


def test_default_queue_is_litemongo_and_outputs_go_to_the_results_store(tmp_path, projects):
    content = config(tmp_path, store_uri=str(tmp_path / "results" / "store")).project_dict()
    queue = content["queue"]["store"]
    assert (queue["@module"], queue["@class"]) == ("atomflow.store", "LiteMongoStore")
    assert queue["path"] == str(projects / "atomflow" / "queue")
    docs = content["jobstore"]["docs_store"]
    assert (docs["@class"], docs["path"]) == ("SQLiteStore", str(tmp_path / "results" / "store" / "atomflow.sqlite"))
    assert docs["collection_name"] == "outputs"  # what atomflow.Results reads
    assert "data" in content["jobstore"]["additional_stores"]


def test_default_results_store_follows_atomflow_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOMFLOW_RESULTS_DIR", str(tmp_path / "elsewhere"))
    docs = config(tmp_path).project_dict()["jobstore"]["docs_store"]
    assert docs["path"] == str(tmp_path / "elsewhere" / "store" / "atomflow.sqlite")


def test_mongodb_uri_queue(tmp_path):
    content = config(tmp_path, queue_uri="mongodb://db.example:27017", store_uri="mongodb://db.example:27017")
    queue = content.project_dict()["queue"]["store"]
    assert (queue["@class"], queue["uri"]) == ("MongoStore", "mongodb://db.example:27017")
    assert content.project_dict()["metadata"]["atomflow"]["queue"] == "mongodb"
    with pytest.raises(ValueError, match="MongoDB URI"):
        config(tmp_path, queue_uri="litemongo:///tmp/q")


def test_ssh_worker(tmp_path):
    content = config(
        tmp_path,
        host="login.hpc.example",
        user="me",
        python_env=Path("/home/me/venv"),
        work_dir=Path("/scratch/me/atomflow"),
    ).project_dict()
    heavy = content["workers"]["heavy"]
    assert (heavy["type"], heavy["host"], heavy["user"]) == ("remote", "login.hpc.example", "me")
    assert heavy["pre_run"] == "source /home/me/venv/bin/activate"


def test_fast_runner_delays(tmp_path):
    runner = config(tmp_path, fast_runner=True).project_dict()["runner"]
    assert runner == FAST_RUNNER
    assert (
        max(runner["delay_checkout"], runner["delay_check_run_status"], runner["delay_advance_status"]) <= 1
    )


def test_write_and_load_project(tmp_path, projects):
    path = write_project(config(tmp_path, fast_runner=True))
    assert path == projects / "atomflow.yaml"
    assert path.read_text().startswith("# jobflow-remote project written by `atomflow cluster init`")
    project = load_project()  # the name defaults to "atomflow"
    assert set(project.workers) == {"heavy", "light"}
    assert project.workers["heavy"].resources["time"] == "12:00:00"
    assert "time: '12:00:00'" in path.read_text()  # quoted: YAML 1.1 readers would see the integer 43200
    assert project.runner.delay_checkout == 1
    jc = job_controller()
    try:
        assert (
            jc.auxiliary.find_one({"next_id": {"$exists": True}}) is not None
        )  # queue ready (jf admin reset)
    finally:
        jc.close()
    with pytest.raises(ClusterError, match="--force"):
        write_project(config(tmp_path))


def test_rewriting_a_project_keeps_its_jobs(tmp_path, cu):
    write_project(config(tmp_path))
    submit_flow(Flow([check_worker()]))
    write_project(config(tmp_path, fast_runner=True), force=True)
    assert [row.name for row in job_states()] == ["check_worker"]


def test_environment_without_activate_script_is_refused(tmp_path):
    with pytest.raises(ClusterError, match="bin/activate"):
        write_project(config(tmp_path, python_env=tmp_path / "not-a-venv"))


def test_missing_project_says_how_to_create_it():
    with pytest.raises(ClusterError, match="atomflow cluster init"):
        load_project("nothere")


# resources per scheduler ------------------------------------------------------------------------------------


def test_pbs_resources():
    res = Resources(partition="workq", ntasks=8, cpus_per_task=2, time="04:00:00", mem="16gb", account="p1")
    assert res.for_scheduler("pbs") == {
        "queue": "workq",
        "walltime": "04:00:00",
        "account": "p1",
        "select": "select=1:ncpus=16:mpiprocs=8:mem=16gb",
    }


def test_shell_takes_no_resources_and_light_jobs_can_use_it(tmp_path):
    assert Resources().for_scheduler("shell") == {}
    with pytest.raises(ClusterError, match="takes no resources"):
        Resources(ntasks=2).for_scheduler("shell")
    content = config(tmp_path, light_scheduler="shell", light=Resources()).project_dict()
    assert content["workers"]["light"]["scheduler_type"]["@class"] == "ShellIO"
    assert "resources" not in content["workers"]["light"]


def test_unknown_template_key_is_refused_with_a_suggestion():
    with pytest.raises(ClusterError, match="gpu.*did you mean.*gpus"):
        Resources(extra={"gpu": 1}).for_scheduler("slurm")
    assert Resources(extra={"gpus": 1, "constraint": "a100"}).for_scheduler("slurm") == {
        "gpus": 1,
        "constraint": "a100",
    }


def test_time_format_is_checked():
    assert Resources(time="1-12:00:00").time == "1-12:00:00"
    with pytest.raises(ValueError, match="HH:MM:SS"):
        Resources(time="12h")


def test_job_names_become_scheduler_safe():
    from atomflow.cluster.schedulers import SlurmIO, safe_job_name

    assert safe_job_name("relax initial 0->1'") == "relax_initial_0-_1_"
    header = SlurmIO().generate_header(
        {"job_name": "vacancy Schottky {'Na': 1, 'Cl': 1}", "partition": "debug"}
    )
    assert "--job-name=vacancy_Schottky___Na___1,__Cl___1_" in header


# heavy / light routing -------------------------------------------------------------------------------------

HEAVY = RunConfig(worker="heavy", resources={"partition": "cpu", "ntasks": 16})
LIGHT = RunConfig(worker="light", resources={"partition": "cpu", "ntasks": 1})
PLAN = ResourcePlan(heavy=HEAVY, light=LIGHT)


@job
def _user_job(x):
    return x


def test_classification_by_name_and_function(cu):
    assert PLAN.classify(RelaxMaker(calculator="emt").make(cu)) == "heavy"
    assert PLAN.classify(StaticMaker(calculator="emt").make(cu)) == "heavy"
    renamed = RelaxMaker(calculator="emt").make(cu)
    renamed.name = "vacancy V_Na 8c (64 atoms)"  # a relaxation whose name says nothing: its function decides
    assert PLAN.classify(renamed) == "heavy"
    assert PLAN.classify(relax_strained_cells(cu, RelaxMaker(), strain_magnitudes=[0.01])) == "light"
    assert PLAN.classify(relax_vacancy_cells([], RelaxMaker())) == "light"
    assert PLAN.classify(check_worker()) == "light"
    user = _user_job(1)
    assert PLAN.classify(user) == "light"
    user.name = "my neb band"
    assert PLAN.classify(user) == "heavy"


def test_phonon_forces_and_attempt_frequencies_are_heavy(cu):
    # their names have no heavy word ("phonon forces 3/13", "attempt frequency 0->1'"): their functions decide
    from atomflow.calculators import CalculatorSpec
    from atomflow.phonons.flow import compute_forces, run_phonon_displacements
    from atomflow.rates import AttemptFrequencyMaker
    from atomflow.rates.flow import attempt_frequencies_for_hops, compute_attempt_frequency

    forces = compute_forces(cu, CalculatorSpec.parse("emt"))
    forces.name = "phonon forces 1/2"
    assert PLAN.classify(forces) == "heavy"
    rate = compute_attempt_frequency({}, AttemptFrequencyMaker())
    rate.name = "attempt frequency 0->1'"
    assert PLAN.classify(rate) == "heavy"
    displacements = run_phonon_displacements(cu, CalculatorSpec.parse("emt"), displacement=0.01, min_length=5.0,
                                             max_atoms=50, symprec=1e-5)
    assert PLAN.classify(displacements) == "light"  # the generators that fan them out stay light
    assert PLAN.classify(attempt_frequencies_for_hops([], AttemptFrequencyMaker())) == "light"


def test_apply_sets_every_job_like_classify(cu):
    flow = ElasticMaker(calculator="emt").make(cu)
    PLAN.apply(flow)
    seen = {}
    for j, _ in flow.iterflow():
        expected = PLAN.config_for(PLAN.classify(j))
        assert j.config.manager_config["worker"] == expected.worker
        assert j.config.manager_config["resources"] == expected.resources
        assert j.config.pass_manager_config is False
        seen[j.name] = j.config.manager_config["worker"]
    assert seen == {"elastic bulk relax": "heavy", "relax_strained_cells": "light", "fit_elastic": "light"}


def test_jobs_made_at_run_time_get_their_own_class(cu):
    """The fan-out of a light generator runs heavy: what jobflow-remote's runner does, without a scheduler.

    The generator travels as JSON (as it does through the queue), then runs; jobflow applies its config
    updates to the jobs it makes. Without pass_manager_config=False the generator's own (light) config
    would overwrite them.
    """
    generator = relax_strained_cells(
        cu, RelaxMaker(calculator="emt", relax_cell=False), strain_magnitudes=[-0.01, 0.01]
    )
    PLAN.apply(Flow([generator]))
    travelled = MontyDecoder().process_decoded(json.loads(json.dumps(generator.as_dict())))
    store = JobStore(MemoryStore())
    store.connect()
    response = travelled.run(store)
    made = {j.name: j.config.manager_config for j, _ in response.replace.iterflow()}
    relaxations = {name: c for name, c in made.items() if name.startswith("elastic relax")}
    assert len(relaxations) >= 2  # symmetry-distinct strains of the cubic cell (xx, yz, …)
    assert all(c == {"worker": "heavy", "resources": HEAVY.resources} for c in relaxations.values())
    assert made["store_inputs"]["worker"] == "light"


def test_submission_routes_jobs_in_the_queue(tmp_path, cu):
    write_project(config(tmp_path))
    ids = submit_flow(ElasticMaker(calculator="emt").make(cu))
    rows = {row.name: row for row in job_states()}
    assert [r.db_id for r in rows.values()] == ids
    assert rows["elastic bulk relax"].worker == "heavy" and rows["elastic bulk relax"].state == "READY"
    assert rows["fit_elastic"].worker == "light" and rows["fit_elastic"].state == "WAITING"
    jc = job_controller()
    try:
        doc = jc.jobs.find_one({"db_id": rows["elastic bulk relax"].db_id})
        assert doc["resources"] == {"partition": "cpu", "ntasks": 16, "time": "12:00:00", "mem": "32G"}
    finally:
        jc.close()
    single = resource_plan(load_project(), worker="light")
    assert single.heavy == single.light and single.rules == ()


def test_unknown_worker_is_refused(tmp_path):
    write_project(config(tmp_path))
    with pytest.raises(ClusterError, match="not in project"):
        submit_flow(Flow([check_worker()]), worker="gpu")


def test_retry_needs_a_target_and_only_takes_failed_jobs(tmp_path):
    write_project(config(tmp_path))
    ids = submit_flow(Flow([check_worker()]))
    with pytest.raises(ClusterError, match="--all-failed"):
        retry_jobs()
    with pytest.raises(ClusterError, match="READY"):
        retry_jobs(ids)
    with pytest.raises(ClusterError, match="No job"):
        retry_jobs(["999"])
    assert retry_jobs(all_failed=True) == []


# command line -----------------------------------------------------------------------------------------------


def test_cli_init_then_dry_run_submit(tmp_path, projects, monkeypatch, caplog):
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "cu.py").write_text(
        "from ase.build import bulk\nfrom pymatgen.io.ase import AseAtomsAdaptor\n"
        "from atomflow.elastic import ElasticMaker\n\n"
        "def make_flow(calculator=None):\n"
        "    cu = AseAtomsAdaptor.get_structure(bulk('Cu', 'fcc', a=3.62, cubic=True))\n"
        "    return ElasticMaker(calculator=calculator).make(cu)\n"
    )
    monkeypatch.setenv("ATOMFLOW_WORKFLOWS_DIR", str(workflows))
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "cluster",
            "init",
            "--partition",
            "debug",
            "--ntasks",
            "2",
            "--time",
            "01:00:00",
            "--light-time",
            "00:10:00",
            "--fast-runner",
            "--work-dir",
            str(tmp_path / "w"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]  # jobflow-remote logs them, not prints
    assert tracebacks == []
    assert (projects / "atomflow.yaml").exists()
    assert load_project().workers["light"].resources == {"partition": "debug", "time": "00:10:00"}
    result = runner.invoke(app, ["submit", "cu", "-c", "emt", "--dry-run"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert re.search(r"elastic bulk relax\s*│\s*heavy", result.output)
    assert re.search(r"fit_elastic\s*│\s*light", result.output)
    assert job_states() == []  # a dry run submits nothing
    result = runner.invoke(app, ["submit", "cu", "-c", "emt"])
    assert result.exit_code == 0, result.output
    assert len(job_states()) == 3
    result = runner.invoke(app, ["status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "READY 1" in result.output and "WAITING 2" in result.output
    # no runner was started: the jobs would sit there, and status says why
    assert "the runner is not running" in result.output and "atomflow cluster runner start" in result.output


def test_cli_errors_are_one_line(tmp_path):
    result = CliRunner().invoke(app, ["status", "--project", "nothere"])
    assert result.exit_code == 2 and "atomflow cluster init" in result.output
    result = CliRunner().invoke(app, ["cluster", "init", "--host", "login.example"])
    assert result.exit_code != 0 and "--python-env" in result.output
