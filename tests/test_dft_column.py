"""The report's DFT column (atomflow/report/dft_column.py) from a toy store; the dft workflow's small cell.

The "ML" documents are real Fumi–Tosi results on NaCl (seconds); the "DFT" ones are copies of them relabelled
as GPAW results with other values (no GPAW run): the section must pair documents of the same cell, put each
value in its column, keep flags beside the numbers and state the finite-size caveat of a small cell.
"""

from __future__ import annotations

import pytest
from jobflow import Flow, job, run_locally

from atomflow import Results
from atomflow.elastic import ElasticMaker
from atomflow.neb import MigrationMaker
from atomflow.report import write_report
from atomflow.report.dft_column import dft_rows
from atomflow.store import open_store
from atomflow.structures.builders import rocksalt_nacl
from atomflow.vacancy import VacancyFormationMaker

LABEL = "NaCl toy cell"
GPAW = {"name": "gpaw", "parameters": {"ecut": 300, "kpts": {"density": 1.0, "gamma": True}}}
SEED = {"calculator": {"name": "sevennet", "parameters": {}}, "settings": {}}


@job
def _stored(doc):
    return doc


def as_dft(doc, shift: float, *, flags: list[str] | None = None, settings: dict | None = None):
    """A copy of an ML document as a seeded GPAW result, its numbers shifted by ``shift``."""
    dft = doc.model_copy(deep=True)
    dft.provenance.calculator = dict(GPAW)
    base = settings if settings is not None else doc.provenance.settings
    dft.provenance.settings = {**base, "seed": SEED}
    if hasattr(dft, "forward_barrier"):
        dft.forward_barrier += shift
    if hasattr(dft, "e_f_min"):
        dft.e_f_min += shift
        dft.schottky.e_schottky += shift
    if hasattr(dft, "elastic_tensor_gpa"):
        dft.elastic_tensor_gpa = [[c + 10 * shift for c in row] for row in dft.elastic_tensor_gpa]
    if "flags" in type(dft).model_fields:  # ElasticDocument says "warnings"
        dft.flags = list(flags or [])
    return dft


@pytest.fixture(scope="module")
def ml_docs(tmp_path_factory):
    """Fumi–Tosi NaCl: elastic tensor, NN barrier, Na vacancy + Schottky pair, all labelled LABEL."""
    path = str(tmp_path_factory.mktemp("dftcol") / "store")
    nacl = rocksalt_nacl()
    common = {"calculator": "fumi_tosi", "label": LABEL}
    flow = Flow([
        ElasticMaker(stress_strain_directions=(0,), curve_strains=(0.0, 0.005, 0.01), **common).make(nacl),
        MigrationMaker(preconverge_fmax=0.05, **common).make(nacl),
        VacancyFormationMaker(chempot="given", mu=-1.3, schottky=True, **common).make(nacl),
    ])
    run_locally(flow, store=open_store(path), log=False, ensure_success=True)
    r = Results(path)
    return {"barrier": r.barriers()[0], "vacancy": r.vacancy_energies()[0], "elastic": r.elastic()[0],
            "path": path}


def _docs(ml_docs, **dft):
    return {p: [dft[p], ml_docs[p]] if p in dft else [ml_docs[p]] for p in ("barrier", "vacancy", "elastic")}


def _row(rows, quantity):
    (row,) = [r for r in rows if r.quantity == quantity]
    return row


def test_ml_and_dft_of_the_same_cell_side_by_side_with_the_paper(ml_docs):
    ml_b, ml_v = ml_docs["barrier"], ml_docs["vacancy"]
    ml_e = ml_docs["elastic"]
    other_jobs = {**ml_e.provenance.settings, "strained_relax_uuids": ["another run's jobs"]}  # bookkeeping
    docs = _docs(ml_docs, barrier=as_dft(ml_b, 0.1), vacancy=as_dft(ml_v, 0.2),
                 elastic=as_dft(ml_e, 0.3, settings=other_jobs))
    rows = dft_rows(docs)
    barrier = _row(rows, "Na-vacancy barrier (CI-NEB)")
    assert barrier.ml == pytest.approx(ml_b.forward_barrier) and barrier.ml_calculator == "fumi_tosi"
    assert barrier.dft == pytest.approx(ml_b.forward_barrier + 0.1) and barrier.dft_calculator == "gpaw"
    assert barrier.paper == 0.64 and barrier.dft_seed == "sevennet" and barrier.same_settings is True
    assert barrier.n_atoms == ml_b.n_atoms
    schottky = _row(rows, "Schottky pair")
    assert schottky.dft - schottky.ml == pytest.approx(0.2) and schottky.reference == 2.1  # exp., paper.md
    c11 = _row(rows, "C11")
    assert c11.dft - c11.ml == pytest.approx(3.0) and c11.reference == 49.1 and c11.same_settings is True
    assert {r.cell for r in rows} == {LABEL}


def test_no_dft_document_no_row_and_no_section(ml_docs):
    assert dft_rows(_docs(ml_docs)) == []


def test_flags_stay_beside_the_dft_number_and_other_settings_are_said(ml_docs):
    ml_b = ml_docs["barrier"]
    other = {**ml_b.provenance.settings, "fmax": 0.05}
    rows = dft_rows(_docs(ml_docs, barrier=as_dft(ml_b, 0.1, flags=["seeded by sevennet: another minimum"],
                                                  settings=other)))
    (row,) = rows
    assert "another minimum" in row.dft_status and row.same_settings is False


def test_report_shows_the_dft_column_and_the_finite_size_caveat(ml_docs, tmp_path):
    path = ml_docs["path"]
    for p in ("barrier", "vacancy"):
        run_locally(_stored(as_dft(ml_docs[p], 0.1)), store=open_store(path), log=False, ensure_success=True)
    text = write_report(store=path, directory=tmp_path).read_text()
    section = text.split("## atomflow's DFT beside the ML potential and the paper", 1)[1]
    line = next(s for s in section.splitlines() if s.startswith("| Na-vacancy barrier"))
    ml_b = ml_docs["barrier"]
    assert f"{ml_b.forward_barrier:.3f} (fumi_tosi)" in line and f"{ml_b.forward_barrier + 0.1:.3f}" in line
    assert "| 0.64 |" in line and "seed sevennet" in line
    assert "Finite-size caveat" in section and f"{ml_docs['vacancy'].n_atoms} atoms" in section


# --- workflows/dft.py: the small cell (no calculator runs) -------------------------------------------------

def test_small_cell_holds_the_nearest_neighbour_hop_and_the_16_site_cell_cannot():
    from ase.build import bulk
    from pymatgen.io.ase import AseAtomsAdaptor

    from atomflow.errors import InputError
    from atomflow.workflows import load_workflow

    dft = load_workflow("dft")
    maker = dft.migration_maker("fumi_tosi")
    (hop,) = maker.endpoints(dft.small_cell())
    assert len(hop.initial) == 29 and hop.hop.length == pytest.approx(5.69 / 2 ** 0.5)  # NN Na–Na
    assert min(hop.initial.lattice.abc) > 2 * hop.hop.length  # shorter than half a lattice vector
    sixteen = AseAtomsAdaptor.get_structure(bulk("NaCl", "rocksalt", a=5.69) * (2, 2, 2))
    with pytest.raises(InputError, match="does not fit the supercell"):
        MigrationMaker(calculator="fumi_tosi", supercell_min_length=None).endpoints(sixteen)
    assert dft.vacancy_maker("fumi_tosi").schottky is True
    assert maker.seed_spec is None and dft.migration_maker().seed_spec.name == "sevennet"  # seeded for DFT


def test_the_section_is_registered_for_any_report():
    """`atomflow report` finds the section through the property registry, not through this test's import."""
    import subprocess
    import sys

    code = ("from atomflow.properties import registered_sections; "
            "print([s.name for s in registered_sections()])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'dft_column'" in out
