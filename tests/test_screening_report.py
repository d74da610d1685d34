"""The ranking section of `atomflow report`, on a store a real cheap run fills (Fumi–Tosi: elastic tensors of bcc Na
and NaCl, the NaCl hop, its transport; a relabelled barrier stands for a phase whose elastic fit failed)."""

from __future__ import annotations

import pytest
from jobflow import Flow, job, run_locally
from typer.testing import CliRunner

from atomflow import Results
from atomflow.cli import app
from atomflow.elastic import ElasticMaker
from atomflow.neb import MigrationMaker
from atomflow.store import open_store
from atomflow.structures.prototypes import prototype
from atomflow.transport import TransportMaker

FLAGGED = "NaCl copy whose elastic fit failed"


@job
def _stored(doc):
    return doc


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """~30 s on a quiet 2-core machine. Fumi–Tosi's vacancy documents are flagged (a charged cell, a metal of
    ions), so the thermal carriers are replaced by the extrinsic ones NaCl has at 300 K (Etzel & Maurer)."""
    path = str(tmp_path_factory.mktemp("ranking") / "store")
    na, nacl = prototype("Na"), prototype("NaCl")
    strains = {"strain_magnitudes": (-0.005, 0.005), "calculator": "fumi_tosi"}
    migration = MigrationMaker(calculator="fumi_tosi", label=nacl.label, preconverge_fmax=0.05).make(nacl.structure)
    transport = TransportMaker(label=nacl.label, extrinsic_densities_cm3=(1e17,), correlation=False).make(
        migration.jobs[0].output.structure, migration.output)
    flow = Flow([ElasticMaker(label=na.label, **strains).make(na.structure),
                 ElasticMaker(label=nacl.label, **strains).make(nacl.structure), migration, transport])
    run_locally(flow, store=open_store(path), log=False, ensure_success=True)
    # a phase whose elastic fit failed: only its barrier reached the store
    barrier = Results(path).barriers(formula="NaCl")[0].model_copy(deep=True)
    barrier.provenance.structure_label = FLAGGED
    run_locally(_stored(barrier), store=open_store(path), log=False, ensure_success=True)
    return path


def _row(text: str, phase: str) -> list[str]:
    section = text.split("## Ranking of Na-anode interphase phases", 1)[1]
    line = next(line for line in section.splitlines() if line.startswith("|") and f"| {phase} |" in line)
    return [c.strip() for c in line.strip("|").split("|")]


def test_report_ranks_the_phases_with_g_na_of_the_same_calculator_and_flags_the_failed_one(store, tmp_path):
    result = CliRunner().invoke(app, ["report", "--store", store, "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "report.md").read_text()
    r = Results(store)
    nacl_label = prototype("NaCl").label
    g_nacl = next(d for d in r.elastic(formula="NaCl")).g_vrh
    g_na = next(d for d in r.elastic(formula="Na")).g_vrh
    barrier = r.barriers(formula="NaCl")[0]
    nacl = _row(text, nacl_label)
    assert nacl[0] == "1" and nacl[2] == "fumi_tosi"
    assert float(nacl[4].split()[0]) == pytest.approx(g_nacl / g_na, abs=0.006)
    assert float(nacl[7].split()[0]) == pytest.approx(max(barrier.forward_barrier, barrier.reverse_barrier),
                                                      abs=2e-3)
    assert "(3-D)" in nacl[7]  # the Na fcc sublattice of rock salt percolates in three dimensions
    assert "e-" in nacl[10] and "ν* assumed" in nacl[10]  # σ(300 K) of the transport document, ν* flagged
    flagged = _row(text, FLAGGED)
    assert flagged[0] == "flagged" and "no elastic tensor stored" in flagged[-1]
    assert _row(text, prototype("Na").label)[0] == "ref."
    assert "Dreyfus & Nowick" in text and "no measured reference value known here" not in _row(text, nacl_label)
    assert (tmp_path / "ranking.png").stat().st_size > 1000 and "](ranking.png)" in text


def test_the_ranking_api_gives_the_rows_the_report_shows(store):
    from atomflow.screening import ranking

    rows = {r.numbers.system: r for r in ranking(store)}
    nacl = rows[prototype("NaCl").label]
    assert nacl.rank == 1 and nacl.numbers.dimension == 3 and nacl.numbers.sigma_300k > 0
    assert rows[FLAGGED].rank is None and rows[prototype("Na").label].numbers.reference
    # the experimental lattice and its source come from the prototype table (Walker et al. 2004 for NaCl)
    assert nacl.numbers.a_exp == pytest.approx(5.6401) and "Walker" in nacl.numbers.lattice_source
