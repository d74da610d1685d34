"""Bad calculator specs: each is refused when the spec is made, with ONE message naming the parameter, the
value and the fix (valid names and the closest match for a misspelt one); good specs keep the key they had.

Also: element checks that need a model file are deferred for a submission to another host, and the job on the
worker still refuses the missing model.
"""

from __future__ import annotations

import json
import math

import pytest
from ase.build import bulk
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.calculators import (
    BACKENDS,
    CalculatorSpec,
    check_structure,
    deferred_model_checks,
)
from atomflow.calculators.registry import model_checks_deferred_to
from atomflow.errors import AtomflowError, CalculatorError

#: (spec as the user gives it, words its message must hold)
BAD_SPECS = [
    # unknown / misspelt names: the closest match and the valid names
    ("sevennet:modle=7net-l3i5", ["'sevennet'", "no parameter 'modle'", "did you mean 'model'?",
                                  "its parameters: model, device"]),
    ("chgnet:devise=cpu", ["'chgnet'", "no parameter 'devise'", "did you mean 'device'?"]),
    ("mace:modle=/m/x.model", ["'mace'", "no parameter 'modle'", "did you mean 'model'?", "default_dtype"]),
    ("kim:modell=x", ["'kim'", "no parameter 'modell'", "did you mean 'model'?", "neigh_skin_ratio"]),
    ("fumi_tosi:cutof=8",
     ["'fumi_tosi'", "no parameter 'cutof'", "did you mean 'cutoff'?", "ewald_accuracy"]),
    ("lj:sigm=2", ["'lj'", "no parameter 'sigm'", "did you mean 'sigma'?", "epsilon"]),
    ("gpaw:ecutt=500", ["'gpaw'", "no parameter 'ecutt'", "did you mean 'ecut'?", "kpt_density"]),
    ("gpaw:mode=lcao", ["'gpaw'", "no parameter 'mode'", "its parameters: ecut, xc"]),
    ("vasp:kpoint=4", ["'vasp'", "no parameter 'kpoint'", "did you mean 'kpoints'?", "any INCAR tag"]),
    ("vasp:ENCT=400", ["'vasp'", "no parameter 'ENCT'", "did you mean 'ENCUT'?"]),
    ({"name": "sevennet", "parameters": {"model": "7net-0", "modle": "7net-l3i5"}},
     ["no parameter 'modle'", "did you mean 'model'?"]),
    # EMT takes none
    ("emt:foo=1", ["'emt'", "takes no parameters", "'foo'", "write just 'emt'"]),
    ("emt:=", ["'emt'", "takes no parameters", "empty name"]),
    ({"name": "emt", "parameters": {"asap_cutoff": True}}, ["'emt'", "takes no parameters", "'asap_cutoff'"]),
    ({"name": "chgnet", "parameters": {"": 1}}, ["'chgnet'", "no parameter ''", "empty name"]),
    # positional argument without a main parameter: today's message
    ("emt:x", ["'emt'", "takes no positional argument", "'x'", "use emt:key=value"]),
    ("fumi_tosi:foo", ["'fumi_tosi'", "takes no positional argument", "use fumi_tosi:key=value"]),
    # the CLI form itself
    ("lj:sigma=2,", ["'lj'", "empty item", "trailing or doubled comma"]),
    ("lj:sigma=2,epsilon", ["'lj'", "parameter 'epsilon'", "has no value", "lj:epsilon=VALUE"]),
    ("lj:sigma=1,sigma=2", ["'lj'", "parameter 'sigma'", "given twice"]),
    # wrong types
    ("lj:sigma=abc", ["sigma must be a number", "got 'abc' (a string)", "e.g. lj:sigma=1.0 (the default)",
                      "(Å)"]),
    ("lj:smooth=yes", ["smooth must be true or false", "got 'yes'", "lj:smooth=false"]),
    ("chgnet:model=0.3", ["'chgnet'", "model must be a string", "got 0.3 (a number)", "chgnet:model=0.3.0"]),
    ("gpaw:kpts=8x8x8", ["kpts must be a list or a mapping", "got '8x8x8'", '{"kpts": [8, 8, 8]}']),
    ({"name": "lj", "parameters": {"sigma": True}}, ["sigma must be a number", "got true (a boolean)"]),
    ({"name": "mace", "parameters": {"model": 3}}, ["'mace'", "model must be a string", "got 3 (an integer)",
                                                    "mace:model=/abs/path/mace.model"]),
    ({"name": "vasp", "parameters": {"potcar": "Na_sv"}}, ["potcar must be a mapping", "got 'Na_sv'",
                                                           '{"potcar": {"Na": "Na_sv"}}']),
    ({"name": "kim", "parameters": {"release_GIL": 1}}, ["release_GIL must be true or false", "got 1"]),
    # not finite, out of range
    ("lj:epsilon=NaN", ["epsilon must be a finite number", "got nan", "(eV)"]),
    ({"name": "lj", "parameters": {"sigma": math.inf}}, ["sigma must be a finite number", "got inf"]),
    ("lj:sigma=-1", ["sigma must be positive", "got -1", "lj:sigma=1.0"]),
    ("kim:neigh_skin_ratio=-0.1", ["neigh_skin_ratio must be >= 0", "got -0.1", "kim:neigh_skin_ratio=0.2"]),
    ("fumi_tosi:ewald_accuracy=2", ["ewald_accuracy must be > 0 and < 1", "got 2"]),
    ("gpaw:ecut=0", ["ecut must be positive", "got 0", "gpaw:ecut=550"]),
    ("gpaw:maxiter=0", ["maxiter must be >= 1", "got 0", "gpaw:maxiter=333"]),
    ("vasp:neb_kpt_density=0", ["neb_kpt_density must be positive", "got 0", "vasp:neb_kpt_density=2"]),
    # not an allowed value: the closest one
    ("mace:default_dtype=float16", ["default_dtype must be one of 'float64', 'float32'", "got 'float16'",
                                    "mace:default_dtype=float64"]),
    ("gpaw:cell_relax=stres", ["cell_relax must be one of 'eos', 'stress'", "got 'stres'",
                               "did you mean 'stress'?"]),
    ("sevennet:device=gpu", ["device must be a torch device", "cpu, cuda, cuda:N or mps", "got 'gpu'",
                             "sevennet:device=cpu"]),
    # a value the backend's own check refuses
    ("lj:rc=3,ro=4", ["'lj'", "ro", "must be below rc", "ro=4 and rc=3"]),
    ({"name": "fumi_tosi", "parameters": {"charges": {"K": 1.0}}},
     ["charges may only name Na and Cl", "'K'"]),
    ({"name": "fumi_tosi", "parameters": {"charges": {"Na": "one"}}},
     ["charges must map Na / Cl to numbers"]),
    ({"name": "gpaw", "parameters": {"kpts": [8, 8]}}, ["kpts must be three positive integers", "[8, 8]"]),
    ({"name": "gpaw", "parameters": {"kpts": {"densty": 3}}}, ["kpts as a mapping", "'densty'",
                                                              "size, density, gamma"]),
]


def _id(case) -> str:
    spec = case[0]
    return spec if isinstance(spec, str) else json.dumps(spec)


@pytest.mark.parametrize("spec, words", BAD_SPECS, ids=[_id(c) for c in BAD_SPECS])
def test_bad_spec_is_refused_with_one_message_naming_the_fix(spec, words):
    with pytest.raises(CalculatorError) as err:
        CalculatorSpec.parse(spec)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_every_backend_is_covered_by_the_corpus_and_declares_its_parameters():
    named = {(s if isinstance(s, dict) else {"name": s.partition(":")[0]})["name"] for s, _ in BAD_SPECS}
    assert named == set(BACKENDS)
    for backend in BACKENDS.values():
        assert backend.parameters is not None, backend.name
        for parameter in backend.parameters:
            assert parameter.problem(parameter.default) is None, (backend.name, parameter.name)
            assert parameter.meaning and parameter.describe().startswith(parameter.name)


def test_gpaw_declares_the_cell_relax_modes_its_driver_takes():
    from atomflow.calculators.backends.gpaw.driver import CELL_RELAX_MODES

    (cell_relax,) = [p for p in BACKENDS["gpaw"].parameters if p.name == "cell_relax"]
    assert cell_relax.choices == CELL_RELAX_MODES


def test_the_cli_refuses_a_misspelt_parameter_before_any_work(tmp_path):
    from typer.testing import CliRunner

    from atomflow.cli import app

    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["run", "demo", "-c", "sevennet:modle=7net-l3i5", "--store", str(store)])
    assert result.exit_code != 0
    assert "did you mean 'model'?" in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not store.exists()


# --- good specs: accepted, and the key (result reuse) they had before parameters were declared -------------

#: Every spec form atomflow writes itself (workflows/, tests/, benchmarks/, README), with the key digest
#: computed by the code before this check existed (commit 5bfdda9).
GOOD_SPECS = [
    ("emt", "a94bd41678a7"),
    ("lj", "8966ea8d8718"),
    ("lj:sigma=2.2", "56cb398de932"),
    ("kim", "04d1b65ffe7f"),
    ("kim:MEAM_LAMMPS_KimKoLee_2020_NaSn__MO_329881861557_000", "86af365dbc8a"),
    ("fumi_tosi", "9d641ea1865f"),
    ("chgnet", "dabb6fc639c9"),
    ("sevennet", "6b0e4f61e781"),
    ("sevennet:device=cuda", "8cdaec3398ee"),
    ("mace:/path/to/model.model", "3980d9e68fd1"),
    ("mace:/shared/na.model", "adb867fd67cd"),
    ("gpaw", "0465413627ae"),
    ("gpaw:ecut=550", "5b77598bc98a"),
    ("gpaw:ecut=500,kpt_density=3.5", "debf3bb1bf12"),
    ("gpaw:ecut=250,kpt_density=2.0", "144b1d844f9d"),
    ("vasp", "39eceb4214f4"),
    ("vasp:ISMEAR=1,sigma=0.2,kpoints=2x2x2", "5f1d7004e00c"),
    ("vasp:ENCUT=400", "8920c57aa583"),
    ("vasp:kpoints=gamma", "d86444db4677"),
    ("vasp:ISMEAR=1,SIGMA=0.2", "c53e96c8bd13"),
    ("vasp:kpt_density=4", "836cdbd72af6"),
    ({"name": "lj", "parameters": {"sigma": 2.3}}, "1eeeebd48a8c"),
    ({"name": "gpaw", "parameters": {"ecut": 550, "kpts": [8, 8, 8]}}, "93454999ce41"),
    ({"name": "gpaw", "parameters": {"ecut": 550, "kpts": [24, 24, 24],
                                     "occupations": {"name": "fermi-dirac", "width": 0.1}}}, "84b572ce8959"),
    ({"name": "gpaw", "parameters": {"ecut": 250, "kpt_density": 2.0, "txt": "gpaw.txt"}}, "9a7ab38f06a5"),
    ({"name": "chgnet", "parameters": {"device": "cuda"}}, "878f8d6b72a6"),
    ({"name": "mace", "parameters": {"model": "/shared/na.model", "device": "cuda"}}, "683e971326a3"),
    ({"name": "fumi_tosi", "parameters": {"charges": {"Na": 0.9, "Cl": -0.9}}}, "e338a83f7fe7"),
]


@pytest.mark.parametrize("spec, digest", GOOD_SPECS, ids=[_id(c) for c in GOOD_SPECS])
def test_good_spec_keeps_its_key(spec, digest):
    assert CalculatorSpec.parse(spec).digest == digest


def test_keys_are_the_json_the_user_gave():
    # values are checked, never converted (550 stays an int, "2x2x2" a string): the full keys of two forms
    assert CalculatorSpec.parse("gpaw:ecut=500,kpt_density=3.5").key == (
        '{"name": "gpaw", "parameters": {"ecut": 500, "kpt_density": 3.5}}')
    assert CalculatorSpec.parse("vasp:ISMEAR=1,sigma=0.2,kpoints=2x2x2").key == (
        '{"name": "vasp", "parameters": {"ISMEAR": 1, "kpoints": "2x2x2", "sigma": 0.2}}')


# --- element checks that need a model, deferred for a submission to another host ---------------------------

@pytest.fixture(scope="module")
def cu():
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.62, cubic=True))


def test_model_element_checks_are_deferred_only_inside_the_block(cu, tmp_path):
    spec = f"mace:{tmp_path}/only-on-the-cluster.model"
    with pytest.raises(CalculatorError):  # not found (or mace not installed): checked here
        check_structure(spec, cu)
    with deferred_model_checks("login.hpc.example"):
        check_structure(spec, cu)  # the model is read on the worker
        assert model_checks_deferred_to(spec) == "login.hpc.example"
        assert model_checks_deferred_to("emt") is None  # no model to read: still checked here
        with pytest.raises(CalculatorError, match="no parameters for Na"):
            check_structure("emt", AseAtomsAdaptor.get_structure(bulk("Na", "bcc", a=4.2)))
    with pytest.raises(CalculatorError):
        check_structure(spec, cu)


def test_submit_defers_model_checks_to_a_remote_worker_and_the_job_checks_there(tmp_path, monkeypatch, cu):
    pytest.importorskip("jobflow_remote")
    from pathlib import Path

    from jobflow import JobStore
    from maggma.stores import MemoryStore
    from typer.testing import CliRunner

    from atomflow.cli import app
    from atomflow.cluster import ClusterConfig, Resources, job_states, write_project
    from atomflow.cluster.project import job_controller
    from atomflow.cluster.submit import submit_workflow

    monkeypatch.setenv("JFREMOTE_PROJECTS_FOLDER", str(tmp_path / "jfremote"))
    monkeypatch.delenv("JFREMOTE_PROJECT", raising=False)
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
    model = str(tmp_path / "shared" / "na.model")  # exists on no machine here, as if only on the cluster
    resources = {"heavy": Resources(partition="cpu", ntasks=4, time="01:00:00"), "light": Resources(ntasks=1)}
    write_project(ClusterConfig(name="local", work_dir=tmp_path / "work", **resources))
    write_project(ClusterConfig(name="hpc", host="login.hpc.example", user="me",
                                python_env=Path("/home/me/venv"), work_dir=Path("/scratch/me/atomflow"),
                                **resources))
    runner = CliRunner()

    local = runner.invoke(app, ["submit", "cu", "-c", f"mace:{model}", "--project", "local"])
    assert local.exit_code != 0 and "Traceback" not in local.output  # its workers are here: checked here
    assert job_states(project="local") == []

    remote = runner.invoke(app, ["submit", "cu", "-c", f"mace:{model}", "--project", "hpc"],
                           env={"COLUMNS": "300"})
    assert remote.exit_code == 0, remote.output
    output = " ".join(remote.output.split())
    assert "its model is read on worker heavy on login.hpc.example" in output
    assert f"atomflow cluster check -c mace:{model}" in output
    rows = {row.name: row for row in job_states(project="hpc")}
    assert rows["elastic bulk relax"].worker == "heavy" and rows["elastic bulk relax"].state == "READY"
    # the library path too (force: the CLI's submission of the same flow above is still queued)
    assert len(submit_workflow("cu", f"mace:{model}", project="hpc", force=True)) == len(rows)
    with pytest.raises(AtomflowError, match="not found|not installed"):  # mace missing here: not installed
        submit_workflow("cu", f"mace:{model}", project="local")

    # the submitted job, run where the model is missing, refuses it before any work (cluster check's message)
    pytest.importorskip("mace")
    jc = job_controller("hpc")
    try:
        job = jc.get_job_doc(db_id=rows["elastic bulk relax"].db_id).job
    finally:
        jc.close()
    store = JobStore(MemoryStore())
    store.connect()
    with pytest.raises(CalculatorError, match="MACE model file not found"):
        job.run(store)  # what the worker runs
    assert store.docs_store.count() == 0  # nothing was computed or stored
