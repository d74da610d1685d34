"""Submission resolves stored results (atomflow.cluster.reuse) without a scheduler: seconds, EMT on Cu.

The runner's part (jobs run, outputs land in the results store) is played by ``run_locally`` on the same
JobStore; tests/cluster/test_reuse_slurm.py does it through a real Slurm.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from jobflow import Flow, JobStore, OutputReference, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

pytest.importorskip("jobflow_remote")

from atomflow.cluster import (  # noqa: E402
    ClusterConfig,
    ClusterError,
    Resources,
    job_states,
    submit_flow,
    write_project,
)
from atomflow.cluster.reuse import FLOW_KEY, flow_keys, resolve_flow  # noqa: E402
from atomflow.elastic import ElasticMaker  # noqa: E402
from atomflow.jobs import RelaxMaker, StaticMaker  # noqa: E402


def cu() -> Structure:
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.62, cubic=True))  # 0.4 % too large


def relax_then_static(calculator: str = "emt", max_steps: int = 1000) -> Flow:
    relax = RelaxMaker(name="relax Cu", calculator=calculator, max_steps=max_steps).make(cu())
    static = StaticMaker(name="static Cu", calculator=calculator).make(relax.output.structure)
    return Flow([relax, static], name="relax + static")


def elastic_study() -> Flow:
    return ElasticMaker(name="elastic Cu", calculator="emt", strain_magnitudes=(-0.01, 0.01)).make(cu())


@pytest.fixture
def store():
    s = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    s.connect()
    return s


def run(resolution, store):
    """What the runner does with what is sent: run it, outputs into the results store."""
    assert resolution.flow is not None
    run_locally(resolution.flow, store=store, log=False, ensure_success=True)


def by_name(resolution):
    return {d.name: d for d in resolution.decisions}


def test_resubmitted_study_is_resolved_from_the_store_and_writes_nothing(store):
    first = resolve_flow(Flow([relax_then_static(), elastic_study()]), store)
    assert first.reused == [] and len(first.sent) == 5
    run(first, store)
    n_docs = store.docs_store.count()

    again = resolve_flow(Flow([relax_then_static(), elastic_study()]), store)
    assert again.flow is None and again.sent == []  # nothing would reach a worker
    decisions = by_name(again)
    assert set(decisions) == {"relax Cu", "static Cu", "elastic bulk relax", "relax_strained_cells",
                              "fit_elastic"}
    assert decisions["static Cu"].why.startswith("stored result ")  # its key, from the stored relaxed cell
    assert decisions["relax_strained_cells"].why.startswith("stored job ")  # a whole fan-out, by flow key
    assert store.docs_store.count() == n_docs  # the store gains nothing


def test_the_same_relaxation_in_another_flow_is_reused_by_its_key(store):
    run(resolve_flow(relax_then_static(), store), store)
    study = resolve_flow(elastic_study(), store)  # its bulk relax: same structure, calculator, settings
    assert by_name(study)["elastic bulk relax"].reused
    assert by_name(study)["relax_strained_cells"].expanded  # its input is stored: its fan-out is made here
    sent = {j.name: j for j, _ in study.flow.iterflow()}
    assert sorted(sent) == ["elastic relax 1/3 xx-0.0100", "elastic relax 2/3 xx+0.0100",
                            "elastic relax 3/3 yz-0.0100", "fit_elastic", "store_inputs"]
    relaxed = Structure.from_dict(store.query_one({"name": "relax Cu"}, load=True)["output"]["structure"])
    strained = sent["elastic relax 1/3 xx-0.0100"].function_args[0]
    assert strained.lattice.a == pytest.approx(relaxed.lattice.a * 0.99, rel=1e-9)  # the stored cell strained
    assert strained.lattice.b == pytest.approx(relaxed.lattice.b, rel=1e-9)


def test_half_finished_study_sends_only_the_missing_half_with_the_stored_inputs(store):
    relax = RelaxMaker(name="relax Cu", calculator="emt").make(cu())
    run_locally(relax, store=store, log=False, ensure_success=True)  # half of the study, run locally

    resolution = resolve_flow(relax_then_static(), store)
    assert [d.name for d in resolution.reused] == ["relax Cu"]
    (static,) = [j for j, _ in resolution.flow.iterflow()]
    assert static.name == "static Cu" and by_name(resolution)["static Cu"].why == "not stored"
    given = static.function_args[0]
    assert isinstance(given, Structure) and not isinstance(given, OutputReference)
    relaxed = Structure.from_dict(store.query_one({"uuid": relax.uuid}, load=True)["output"]["structure"])
    assert given.lattice.a == pytest.approx(relaxed.lattice.a, abs=1e-9)
    assert given.lattice.a != pytest.approx(3.62, abs=1e-3)  # the relaxed cell, not the input one
    run(resolution, store)
    static_out = store.query_one({"name": "static Cu"}, load=True)["output"]
    assert max(abs(s) for s in static_out["stress"]) < 1e-3  # eV/Å³: a relaxed cell has ~no stress


def test_unconverged_results_are_sent_again_unless_reuse_flagged(store):
    run(resolve_flow(relax_then_static(max_steps=1), store), store)
    assert store.query_one({"name": "relax Cu"})["output"]["converged"] is False

    again = by_name(resolve_flow(relax_then_static(max_steps=1), store))
    assert not again["relax Cu"].reused and "--reuse-flagged" in again["relax Cu"].why
    assert not again["static Cu"].reused and again["static Cu"].why == "needs relax Cu"
    flagged = by_name(resolve_flow(relax_then_static(max_steps=1), store, reuse_flagged=True))
    assert flagged["relax Cu"].reused and flagged["static Cu"].reused


def test_another_calculator_and_no_reuse_send_everything(store):
    run(resolve_flow(relax_then_static(), store), store)
    assert resolve_flow(relax_then_static("lj"), store).reused == []
    off = resolve_flow(relax_then_static(), store, reuse=False)
    assert off.reused == [] and len(list(off.flow.iterflow())) == 2
    assert all(FLOW_KEY in j.metadata for j, _ in off.flow.iterflow())  # findable after this run


def test_unfinished_fan_out_is_made_here_and_only_its_missing_jobs_are_sent(store):
    run(resolve_flow(elastic_study(), store), store)
    n_docs = store.docs_store.count()
    # as if one strained relaxation had failed: it and the fan-out's collector are missing
    store.docs_store.remove_docs({"name": {"$in": ["store_inputs", "elastic relax 2/3 xx+0.0100"]}})

    resolution = resolve_flow(elastic_study(), store)
    decisions = by_name(resolution)
    assert decisions["elastic bulk relax"].reused
    generator = decisions["relax_strained_cells"]
    assert generator.expanded and "unfinished" in generator.why
    assert decisions["elastic relax 1/3 xx-0.0100"].reused and decisions["elastic relax 3/3 yz-0.0100"].reused
    sent = sorted(d.name for d in resolution.sent)
    assert sent == ["elastic relax 2/3 xx+0.0100", "fit_elastic", "store_inputs"]
    run(resolution, store)  # the collector keeps the generator's uuid: the fit reads the whole fan-out
    assert store.docs_store.count() == n_docs - 2 + 3
    fit = store.query_one({"name": "fit_elastic"}, sort={"completed_at": -1}, load=True)["output"]
    c = np.array(fit["elastic_tensor_gpa"])  # fitted from all three strained cells: cubic Cu, C11 > C12 > 0
    assert fit["mechanically_stable"] and np.allclose(c, c.T) and c[0, 0] > c[0, 1] > 0

    again = resolve_flow(elastic_study(), store)
    assert again.flow is None and by_name(again)["relax_strained_cells"].reused


def test_flow_keys_follow_the_definition_not_the_job_ids():
    def keys(flow):
        return list(flow_keys([j for j, _ in flow.iterflow()]).values())

    assert keys(relax_then_static()) == keys(relax_then_static())
    other = keys(relax_then_static(max_steps=500))
    assert other[0] != keys(relax_then_static())[0]
    assert other[1] != keys(relax_then_static())[1]  # the static reads a different parent


def test_double_submission_stops_unless_forced(tmp_path, monkeypatch):
    monkeypatch.setenv("JFREMOTE_PROJECTS_FOLDER", str(tmp_path / "jfremote"))
    monkeypatch.delenv("JFREMOTE_PROJECT", raising=False)
    write_project(ClusterConfig(work_dir=tmp_path / "work", heavy=Resources(partition="cpu")))
    first = submit_flow(relax_then_static())
    assert len(first) == 2
    with pytest.raises(ClusterError, match="already queued or running.*--force"):
        submit_flow(relax_then_static())
    assert len(job_states()) == 2
    submit_flow(relax_then_static("lj"))  # another calculator: other jobs
    assert len(submit_flow(relax_then_static(), force=True)) == 2
    assert len(job_states()) == 6


def test_flags_anywhere_in_a_stored_output_stop_its_reuse():
    from atomflow.cluster.reuse import output_flags

    relaxed = {"converged": True, "flags": []}
    assert output_flags({"plan": {}, "results": [relaxed, relaxed]}) == []
    assert output_flags({"results": [relaxed, None]}) == ["a fan-out job failed"]  # a failed deformation
    assert output_flags([{"converged": False}]) == ["not converged"]
    assert output_flags({"mechanically_stable": False, "warnings": ["residual 40 %"]}) == [
        "mechanically unstable", "residual 40 %"]
