"""The report and the query API, from documents a real (cheap) run puts in the store."""

from __future__ import annotations

import pandas as pd
import pytest
from jobflow import Flow, job, run_locally
from typer.testing import CliRunner

from atomflow import Results
from atomflow.cli import app
from atomflow.elastic import ElasticMaker
from atomflow.errors import InputError
from atomflow.neb import MigrationMaker
from atomflow.report import write_report
from atomflow.store import open_store
from atomflow.structures.builders import rocksalt_nacl
from atomflow.vacancy import VacancyFormationMaker


@pytest.fixture(scope="module")
def nacl_store(tmp_path_factory):
    """NaCl with the Fumi–Tosi potential: elastic tensor, NN barrier, vacancy (seconds)."""
    path = str(tmp_path_factory.mktemp("report") / "store")
    nacl = rocksalt_nacl()
    common = {"calculator": "fumi_tosi", "label": "NaCl rock salt"}
    flow = Flow([
        ElasticMaker(stress_strain_directions=(0,), curve_strains=(0.0, 0.005, 0.01), **common).make(nacl),
        MigrationMaker(preconverge_fmax=0.05, **common).make(nacl),
        VacancyFormationMaker(chempot="given", mu=-1.3, **common).make(nacl),
    ])
    run_locally(flow, store=open_store(path), log=False, ensure_success=True)
    return path


def test_query_api_returns_documents_and_dataframes(nacl_store):
    r = Results(nacl_store)
    barriers = r.barriers(formula="NaCl")
    assert len(barriers) == 1 and barriers[0].forward_barrier > 0
    frame = r.elastic(calculator="fumi_tosi").to_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 1
    assert frame.loc[0, "C11_GPa"] > frame.loc[0, "C12_GPa"] > 0
    assert len(r.vacancy_energies(formula="NaCl")) == 1
    assert len(r.elastic(calculator="sevennet")) == 0
    assert len(r.elastic(since="2100-01-01")) == 0


def test_query_rejects_unknown_property_and_formula(nacl_store):
    r = Results(nacl_store)
    with pytest.raises(InputError, match="barrier"):
        r.query("barriers-typo")
    with pytest.raises(InputError, match="NaCl"):  # lists what the store has
        r.barriers(formula="KBr")


def test_report_has_every_paper_row_with_a_number_or_a_reason(nacl_store, tmp_path):
    path = write_report(store=nacl_store, directory=tmp_path)
    text = path.read_text()
    for quantity in ("Young's modulus Na1.17Sn2", "Young's modulus NaCl", "Young's modulus Na metal",
                     "Na barrier in NaCl", "path 1→2", "path 2→3", "path 3→1′", "path 4→5", "path 5→6",
                     "path 6→4′", "Na vacancy formation energy Na1.17Sn2"):
        row = next(line for line in text.splitlines() if quantity in line)
        assert "missing" in row or any(ch.isdigit() for ch in row.split("|")[4]), row
    assert "missing: no Na7Sn12 migration result" in text
    assert "fumi_tosi" in text
    overview = text.split("## What the store holds", 1)[1].split("##", 1)[0]
    assert "| NaCl rock salt |" in overview
    for title in ("Relaxations and static calculations", "Elastic tensors", "Migration barriers (CI-NEB)",
                  "Vacancy formation energies"):  # one section per property the store holds, after the paper's
        assert f"\n## {title}\n" in text and text.index(f"## {title}") > text.index("## Comparison with the paper")
    for png in ("neb_profiles.png", "stress_strain.png", "youngs_moduli.png"):
        assert (tmp_path / png).stat().st_size > 1000 and f"]({png})" in text


@job
def _stored(doc):
    """Put a document into a store as a job's output, the shape every workflow leaves."""
    return doc


def _agreement_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.startswith("**Agrees with")), "")


@pytest.mark.parametrize("change", [{}, {"converged": False}, {"flags": ["climbing_image_not_highest"]}],
                         ids=["trusted", "unconverged", "flagged"])
def test_only_a_trusted_barrier_is_said_to_agree_with_the_paper(nacl_store, tmp_path, change):
    barrier = Results(nacl_store).barriers()[0]
    assert abs(barrier.forward_barrier - 0.64) < 0.1  # within the agreement window of the paper's 0.64 eV
    path = str(tmp_path / "store")
    run_locally(Flow([_stored(barrier.model_copy(update=change))]), store=open_store(path), log=False,
                ensure_success=True)
    text = write_report(store=path, directory=tmp_path / "report").read_text()
    nacl_row = next(line for line in text.splitlines() if line.startswith("| Na barrier in NaCl"))
    committee = nacl_row.split("|")[5].strip()
    if not change:
        assert "NaCl barrier" in _agreement_line(text)
        assert committee == f"{barrier.forward_barrier:.3f}"
        assert "lowest barrier" in text
        return
    assert "NaCl barrier" not in _agreement_line(text) and "agrees" not in text.lower().replace(
        "where the calculators agree with the paper", "")
    assert committee == "—"  # no committee value from an untrusted result
    assert "lowest barrier" not in text and "no converged, unflagged hop" in text
    flag = "NOT CONVERGED" if "converged" in change else "climbing_image_not_highest"
    not_compared = text.split("**Not compared**", 1)[1].split("\n\n", 2)[1]
    assert "NaCl barrier" in not_compared and flag in not_compared  # listed, with its flag


def test_committee_values_average_only_trusted_tensors(nacl_store, tmp_path):
    """Three calculators on NaCl, one of them mechanically unstable: the committee is the other two."""
    real = Results(nacl_store).elastic()[0]
    assert real.mechanically_stable and not real.warnings

    def as_calculator(name: str, e_voigt: float, e_hill: float, **change):
        prov = real.provenance.model_copy(update={"calculator": {"name": name, "parameters": {}}})
        return real.model_copy(update={"provenance": prov, "youngs_modulus_voigt": e_voigt,
                                       "youngs_modulus_hill": e_hill, **change})

    docs = [as_calculator("sevennet", 30.0, 28.0), as_calculator("chgnet", 40.0, 36.0),
            as_calculator("mace", 90.0, 80.0, mechanically_stable=False)]
    path = str(tmp_path / "store")
    run_locally(Flow([_stored(d) for d in docs]), store=open_store(path), log=False, ensure_success=True)
    text = write_report(store=path, directory=tmp_path / "report").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| Young's modulus NaCl"))
    assert row.split("|")[5].strip() == "35.0 ± 5.0"  # mean ± half range of 30 and 40, not of 30, 40, 90
    assert "mace: E_V 90.0" in row and "MECHANICALLY UNSTABLE" in row  # shown, with its flag
    committee = next(line for line in text.splitlines() if line.startswith("- NaCl rock salt: E_Hill"))
    assert "32.0 ± 4.0 GPa" in committee and "mace" not in committee
    assert "E(NaCl) 90.0" not in _agreement_line(text)
    flagged = text.split("## Elastic tensors", 1)[1].split("Not used in any summary above", 1)[1]
    assert "mace" in flagged and "MECHANICALLY UNSTABLE" in flagged


def test_report_on_an_empty_store_says_what_to_run(tmp_path):
    with pytest.raises(InputError, match="atomflow run paper"):
        write_report(store=str(tmp_path / "empty"), directory=tmp_path)


def test_cli_query_prints_a_table(nacl_store):
    result = CliRunner().invoke(app, ["query", "barrier", "--store", nacl_store], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "NaCl" in result.output and "forward" in result.output


def test_cli_rejects_out_of_range_arguments(nacl_store):
    result = CliRunner().invoke(app, ["query", "barrier", "--store", nacl_store, "--limit", "0"])
    assert result.exit_code != 0 and "limit" in result.output.lower()
