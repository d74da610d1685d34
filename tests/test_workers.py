"""`atomflow run --workers N`: the independent parts of a flow in N processes (atomflow.parallel).

Real runs with EMT on small Cu/Al/Ni cells into fresh SQLite stores: the stored numbers of a 2-worker run are
those of a 1-worker run, a failing job or a dying worker process leaves the other parts to finish, and bad
values of N are refused before any work.
"""

from __future__ import annotations

import io
import os
import time
import textwrap

import pytest
from ase.build import bulk
from jobflow import Flow, JobConfig, job
from pymatgen.io.ase import AseAtomsAdaptor
from rich.console import Console
from typer.testing import CliRunner

from atomflow.cli import app
from atomflow.elastic import ElasticMaker
from atomflow.errors import InputError
from atomflow.jobs import RelaxMaker
from atomflow.parallel import available_cores, check_workers, independent_parts
from atomflow.reuse import reuse_or_compute
from atomflow.runner import run_flow
from atomflow.store import open_store


def _cell(element: str, a: float):
    return AseAtomsAdaptor.get_structure(bulk(element, "fcc", a=a, cubic=True))


@job(config=JobConfig(expose_store=True))
def stored_square(x, after=None):
    """A result keyed by x: the second job with the same x finds the first one's in the store."""
    return reuse_or_compute(f"toy-square-{x}", lambda: {"value": x * x, "converged": True})


def small_study() -> Flow:
    """Independent parts: Cu elastic (with its run-time fan-out), Al and Ni relaxations, and a keyed toy pair
    whose second job takes the first one's output (one part: its reuse does not depend on timing)."""
    cu = ElasticMaker(name="elastic Cu", calculator="emt", strain_magnitudes=(-0.01, 0.01)).make(_cell("Cu", 3.62))
    parts = [cu]
    for element, a in (("Al", 4.08), ("Ni", 3.55)):
        parts.append(RelaxMaker(name=f"relax {element}", calculator="emt", label=element).make(_cell(element, a)))
    first = stored_square(4)
    parts.append(Flow([first, stored_square(4, after=first.output)], name="squares"))
    return Flow(parts, name="small study")


def _quiet() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=False, width=200), buffer


def _stored_numbers(path: str) -> dict:
    """Every stored relaxation and elastic tensor, by what it is (formula, name), not by job id."""
    store = open_store(path)
    out = {}
    for doc in store.query({}, properties=["output", "name"]):
        output = doc["output"]
        if not isinstance(output, dict):
            continue
        if "elastic_tensor_gpa" in output:
            out[("elastic", doc["name"])] = [round(c, 6) for row in output["elastic_tensor_gpa"] for c in row]
        elif "energy" in output and "structure" in output:
            lattice = output["structure"]["lattice"]["matrix"]
            out[("relax", doc["name"])] = (round(output["energy"], 8), [round(x, 6) for r in lattice for x in r])
    return out


def test_independent_parts_are_the_pieces_of_the_job_graph_that_share_no_output():
    parts = independent_parts(small_study())
    assert [p.name for p in parts] == ["elastic Cu", "relax Al", "relax Ni", "squares"]
    assert [len(p.jobs) for p in parts] == [3, 1, 1, 2]  # bulk relax → strained cells → fit; the toy pair
    # nested flows are looked into; a job that uses another's output joins it, wherever it sits
    a = RelaxMaker(name="a", calculator="emt").make(_cell("Cu", 3.62))
    c = RelaxMaker(name="c", calculator="emt").make(_cell("Al", 4.08))
    b = RelaxMaker(name="b", calculator="emt").make(a.output.structure)
    grouped = independent_parts(Flow([Flow([a, c], name="phase"), Flow([b], name="other")]))
    assert [(p.name, [j.name for j in p.jobs]) for p in grouped] == [("a + b", ["a", "b"]), ("c", ["c"])]


@pytest.mark.skipif(available_cores() < 2, reason="two workers need two cores")
def test_two_workers_store_the_same_numbers_as_one(tmp_path):
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    console, buffer1 = _quiet()
    serial = run_flow(small_study(), store=one, console=console)
    console, buffer2 = _quiet()
    parallel = run_flow(small_study(), store=two, console=console, workers=2)

    assert (parallel.done, parallel.failed, parallel.computed, parallel.reused) == \
           (serial.done, serial.failed, serial.computed, serial.reused)
    assert serial.reused == 1 and serial.failed == 0  # the second square is the first one's, reused
    numbers1, numbers2 = _stored_numbers(one), _stored_numbers(two)
    assert numbers1 and numbers1.keys() == numbers2.keys()
    assert ("elastic", "fit_elastic") in numbers1  # the tensor fitted after the run-time fan-out
    for key in numbers1:
        assert numbers1[key] == numbers2[key], key
    # the same run-event lines ("finished NAME · 0.2 s · computed"), seconds and order aside
    def lines(buffer):
        return sorted(tuple(p for i, p in enumerate(line.split(" · ")) if i != 1)
                      for line in buffer.getvalue().splitlines())

    assert lines(buffer1) == lines(buffer2) and len(lines(buffer1)) == serial.done
    assert ("finished stored_square", "reused") in lines(buffer2)


@job
def broken_step(x):
    raise ValueError(f"the calculator stopped at step {x}")


@job
def dies(x):
    os._exit(3)  # the worker process ends without a word (as when it is killed or runs out of memory)


def test_a_failed_job_and_a_dead_worker_leave_the_other_parts_to_finish(tmp_path):
    store = str(tmp_path / "store")
    al = RelaxMaker(name="relax Al", calculator="emt").make(_cell("Al", 4.08))
    ni = RelaxMaker(name="relax Ni", calculator="emt").make(_cell("Ni", 3.55))
    bad = broken_step(7)
    first = dies(1)
    fatal = Flow([first, dies(first.output)], name="part that kills its worker")  # one part, named by its flow
    console, buffer = _quiet()
    summary = run_flow(Flow([bad, fatal, al, ni]), store=store, console=console, workers=2)

    assert (summary.done, summary.failed) == (2, 2), buffer.getvalue()
    assert sorted(summary.failed_jobs) == sorted([
        "broken_step: ValueError: the calculator stopped at step 7",
        "part that kills its worker: WorkerDied: its worker process ended (killed, or out of memory), also when "
        "it ran alone; its finished jobs are stored"])
    stored = open_store(store)
    for relax in (al, ni):
        assert stored.get_output(relax.uuid)["converged"]
    assert "FAILED   broken_step" in buffer.getvalue()


@job
def thread_counts(part):
    """What a job sees: torch's threads after atomflow prepared it, BLAS/OpenMP pools, the variables."""
    import torch
    from threadpoolctl import threadpool_info

    from atomflow.calculators.backends._torch import prepare_torch

    prepare_torch()
    return {"torch": torch.get_num_threads(), "blas": sorted({p["num_threads"] for p in threadpool_info()}),
            "omp": os.environ.get("OMP_NUM_THREADS"), "pid": os.getpid()}


@pytest.mark.skipif(available_cores() < 2, reason="two workers need two cores")
def test_each_worker_gets_its_share_of_the_cores(tmp_path, monkeypatch):
    monkeypatch.delenv("ATOMFLOW_TORCH_THREADS", raising=False)
    store = str(tmp_path / "store")
    jobs = [thread_counts(i) for i in range(2)]
    summary = run_flow(Flow(jobs), store=store, console=_quiet()[0], workers=2)
    assert summary.done == 2
    share = available_cores() // 2
    seen = [open_store(store).get_output(j.uuid) for j in jobs]
    assert all(s["torch"] == share and s["blas"] == [share] and s["omp"] == str(share) for s in seen), seen
    assert seen[0]["pid"] != os.getpid() and seen[1]["pid"] != os.getpid()


def test_bad_worker_counts_are_refused_before_any_work(tmp_path, monkeypatch):
    flow = Flow([RelaxMaker(calculator="emt").make(_cell("Al", 4.08))])
    store = tmp_path / "store"
    for bad in (0, -2):
        with pytest.raises(InputError, match="--workers must be a whole number ≥ 1"):
            run_flow(flow, store=str(store), workers=bad)
    assert not store.exists()  # refused before the store was made
    with pytest.raises(InputError, match="memory://x lives in one process"):
        run_flow(flow, store="memory://x", workers=2)
    with pytest.warns(UserWarning, match=f"more than the {available_cores()} cores"):
        assert check_workers(available_cores() + 1) == 1
    assert check_workers(1, warn=False) == available_cores()

    (tmp_path / "wf.py").write_text(textwrap.dedent('''
        from ase.build import bulk
        from jobflow import Flow
        from pymatgen.io.ase import AseAtomsAdaptor
        from atomflow.jobs import RelaxMaker

        def make_flow(calculator=None):
            return Flow([RelaxMaker(calculator="emt").make(AseAtomsAdaptor.get_structure(bulk("Al", a=4.08)))])
    '''))
    monkeypatch.setenv("ATOMFLOW_WORKFLOWS_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["run", "wf", "--workers", "0", "--store", str(store), "--no-report"])
    assert result.exit_code == 2 and "--workers must be a whole number ≥ 1" in result.output
    assert not store.exists()


def test_interphases_runs_the_phases_named_and_refuses_unknown_ones(monkeypatch):
    # how the benchmark and the Slurm test choose a subset: make_flow(phases=…) or ATOMFLOW_PHASES
    from atomflow.workflows import load_workflow

    interphases = load_workflow("interphases")
    flow = interphases.module.make_flow("lj", phases=["NaCl", "Na"])
    assert [f.name for f in flow.jobs] == ["interphase Na", "interphase NaCl"]  # the study's order
    monkeypatch.setenv("ATOMFLOW_PHASES", "Na3N, Na")  # what make_flow(calculator) builds then
    assert [p.structure.composition.reduced_formula for p in interphases.select_phases()] == ["Na", "Na3N"]
    monkeypatch.setenv("ATOMFLOW_PHASES", "Na,NaX")
    with pytest.raises(InputError, match="Unknown phase.s. NaX for interphases; the phases are Na, NaCl"):
        interphases.make_flow("lj")
    monkeypatch.delenv("ATOMFLOW_PHASES")
    assert [p.label for p in interphases.select_phases()] == [p.label for p in interphases.phases()]


@job
def dies_after_a_while(x):
    time.sleep(1.0)  # long enough for the worker to send the part's earlier events first
    os._exit(3)


def test_a_part_run_again_after_its_worker_died_reports_its_finished_job_once(tmp_path):
    """The part's first job finishes and is reported, then its worker dies; the part runs again alone (the
    first job reused) and dies again. The first job counts once (without OncePerJob: twice, done = 3)."""
    square = stored_square(3)
    fatal = Flow([square, dies_after_a_while(square.output)], name="part that kills its worker")
    al = RelaxMaker(name="relax Al", calculator="emt").make(_cell("Al", 4.08))
    console, buffer = _quiet()
    summary = run_flow(Flow([fatal, al]), store=str(tmp_path / "store"), console=console, workers=2)
    assert (summary.done, summary.failed) == (2, 1), buffer.getvalue()


def test_a_job_reported_again_by_a_rerun_part_counts_once():
    """The rerun of a part that was running when a worker died repeats the events of jobs it had already
    finished or failed (a race: CI once counted a failed job twice): each job reaches the monitor once, while a
    job replaced at run time (same uuid, a second finished event in one attempt) still counts twice."""
    from atomflow.events import RunEvent
    from atomflow.parallel import OncePerJob

    seen = []
    reports = OncePerJob(seen.append)
    start, fail, done = "job_started", "job_failed", "job_finished"
    for kind, uuid in [(start, "a"), (fail, "a"), (start, "r"), (done, "r"), (start, "r"), (done, "r")]:
        reports(0, RunEvent(kind, name=uuid, uuid=uuid))  # "r" replaced at run time: finished twice
    reports(1, RunEvent(start, name="b", uuid="b"))  # another part, not rerun
    reports.restart(0)
    for kind, uuid in [(start, "a"), (fail, "a"), (start, "r"), (done, "r"), (start, "r"), (done, "r"),
                       (start, "c"), (done, "c")]:
        reports(0, RunEvent(kind, name=uuid, uuid=uuid))
    assert [(e.kind, e.uuid) for e in seen] == [(start, "a"), (fail, "a"), (start, "r"), (done, "r"), (start, "r"),
                                                 (done, "r"), (start, "b"), (start, "c"), (done, "c")]
