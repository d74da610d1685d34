"""`atomflow submit interphases` on a real Slurm (127.0.0.1): the two smallest phases of the screening to COMPLETED.

The phases are bcc Na (2 atoms) and anti-ReO3 Na3N (4 atoms), chosen by ``ATOMFLOW_PHASES`` as a user would;
every step of the screening runs for both (relax, elastic fan-out, vacancy cells with the Schottky pair, every
CI-NEB hop, phonon displacements), all made at run time on the workers except the relaxations. The calculator
is Lennard-Jones with a smooth cutoff: a toy for the engine (the numbers are not Na's), cheap enough that ~70
jobs fit in a few minutes on 2 cores; what is tested is the routing, the run-time fan-outs through the queue
and that the results land in the results store.
"""

from __future__ import annotations

import time

import pytest

from atomflow.results import Results

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

#: One (σ, ε) for every pair, smooth cutoff so that relaxations and CI-NEB converge (measured: 70 jobs, none
#: failed, in a local run).
LJ = "lj:sigma=2.8,epsilon=0.05,rc=7.0,ro=5.5,smooth=true"
PHASES = ("Na", "Na3N")


def test_the_two_smallest_phases_of_the_screening_complete_on_slurm(cluster, timings):
    cluster.env["ATOMFLOW_PHASES"] = ",".join(PHASES)
    before = {r.db_id for r in cluster.rows()}
    start = time.perf_counter()
    out = cluster.cli("submit", "interphases", "--calculator", LJ, "--project", cluster.name).stdout
    assert "heavy → heavy, light → light" in out
    rows = [r for r in cluster.wait(timeout=900) if r.db_id not in before]
    timings["interphases Na + Na3N (submit to last job)"] = time.perf_counter() - start

    failed = [(r.db_id, r.name, r.state, r.error_line) for r in rows if r.state != "COMPLETED"]
    assert not failed, failed
    assert len(rows) >= 60  # ~40 in the graph at submission + the run-time fan-outs
    assert all(cluster.ran_in_slurm(r.db_id) for r in rows)

    by_class: dict[str, set[str]] = {}
    for r in rows:
        by_class.setdefault(r.worker, set()).add(r.name)
    heavy, light = by_class["heavy"], by_class["light"]
    # made at run time by light generators, run on the heavy worker: strained cells, vacancy cells, NEB bands,
    # phonon force jobs
    assert any(n.startswith("elastic relax ") for n in heavy)
    assert any(n.startswith("vacancy V_Na ") for n in heavy) and any("Schottky" in n for n in heavy)
    assert any(n.startswith("neb ") for n in heavy) and any(n.startswith("phonon forces ") for n in heavy)
    assert {"relax_strained_cells", "fit_elastic", "relax_vacancy_cells"} <= light
    assert not any(n.startswith(("phonon forces ", "neb ", "elastic relax ")) for n in light)

    results = Results(cluster.store)
    for formula in PHASES:
        assert len(results.elastic(formula=formula)) == 1
        assert len(results.vacancy_energies(formula=formula)) == 1
        assert len(results.phonons(formula=formula)) == 1
    assert results.barriers(formula="Na3N")  # every distinct hop of the vacancy in Na3N
    (vacancy,) = results.vacancy_energies(formula="Na3N")
    assert vacancy.schottky is not None  # Na3N is an ionic binary host: the Schottky pair is computed
