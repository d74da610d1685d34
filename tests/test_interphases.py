"""workflows/interphases.py builds its whole graph without running anything (issue 15, point 2)."""

from __future__ import annotations

import pytest

from atomflow.cluster.submit import quiet_iterflow
from atomflow.errors import CalculatorError
from atomflow.workflows import load_workflow

STEPS = ("relax", "elastic", "vacancy", "migration", "phonons", "transport")
PROTOTYPE_FORMULAS = {"Na", "NaCl", "NaF", "NaBr", "NaI", "Na2O", "Na2S", "Na3N", "Na3Sb", "Na3SbS4"}


@pytest.fixture(scope="module")
def study():
    return load_workflow("interphases")


@pytest.fixture(scope="module")
def flow(study):
    """The graph with the default calculator; building it must build no calculator and run no job."""
    pytest.importorskip("sevenn")  # the default calculator's element list is read from its checkpoint
    def refuse(*args, **kwargs):
        raise AssertionError("building the flow built a calculator")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("atomflow.calculators.registry.get_calculator", refuse)
        patch.setattr("atomflow.calculators.get_calculator", refuse)
        return study.make_flow(None)  # the Makers check every element against the default calculator here


def _job_names(flow) -> list[str]:
    with quiet_iterflow():
        return [job.name for job, _ in flow.iterflow()]


@pytest.mark.mlip  # reads the default potential's checkpoint (element list), evaluates nothing
def test_every_phase_gets_the_five_steps_and_the_study_states_its_job_count(study, flow):
    phases = study.phases()
    formulas = [p.structure.composition.reduced_formula for p in phases]
    assert PROTOTYPE_FORMULAS <= set(formulas) and formulas[0] == "Na"  # bcc Na, the reference, first
    assert "Sn" not in formulas and len(set(formulas)) == len(formulas)  # no β-Sn, no phase twice
    assert all(p.stand_in for p in phases if "Sn" in p.structure.composition)  # Na–Sn: labelled stand-ins
    assert len(flow.jobs) == len(phases)
    for phase_flow, formula in zip(flow.jobs, formulas):
        assert [j.name.split()[0] for j in phase_flow.jobs] == list(STEPS)
        assert all(j.name.endswith(formula) for j in phase_flow.jobs)
    names = _job_names(flow)
    per_phase = [_job_names(f) for f in flow.jobs]
    assert len(names) == sum(len(n) for n in per_phase)
    assert len({len(n) for n in per_phase}) == 1  # the same graph per phase before the run-time fan-outs
    print(f"interphases: {len(phases)} phases, {len(names)} jobs in the graph before fan-out")


def test_an_element_the_calculator_cannot_handle_stops_the_build(study):
    with pytest.raises(CalculatorError, match="fumi_tosi.*F"):
        study.make_flow("fumi_tosi")  # the rigid-ion model has Na and Cl only: NaF is refused at build time


def test_transport_reuses_the_migration_and_vacancy_results_of_its_phase_and_assumes_nu_star(study):
    from atomflow.structures.prototypes import prototype

    flow = study.module.phase_flow(prototype("NaCl"), "fumi_tosi")
    steps = {f.name.split()[0]: f for f in flow.jobs}
    analyse = steps["transport"].jobs[0]
    structure, migrations, vacancy = analyse.function_args[:3]
    assert migrations.uuid == steps["migration"].output.uuid  # the same MigrationDocuments, not a second NEB
    assert vacancy.uuid == steps["vacancy"].output.uuid and structure.uuid == steps["relax"].uuid
    assert analyse.function_args[3] is None  # no attempt-frequency documents: ν* is the stated default
    assert study.module.NU_STAR_ASSUMED in analyse.function_kwargs["notes"]
