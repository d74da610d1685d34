"""A property registered from outside atomflow is queried, listed and reported with no edit to atomflow's modules."""

from __future__ import annotations

import pytest
from jobflow import Flow, job, run_locally
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from atomflow import Results
from atomflow.cli import app
from atomflow.documents import Provenance
from atomflow.errors import InputError
from atomflow.properties import (
    Property,
    ReportContext,
    common_columns,
    get_property,
    register_property,
    registered_properties,
    unregister_property,
)
from atomflow.report import write_report
from atomflow.store import open_store


class WobbleDocument(BaseModel):
    """A toy property: one number per structure."""

    formula: str = Field(description="Reduced formula.")
    wobble_mev: float = Field(description="How much it wobbles, meV.")
    converged: bool = Field(default=True, description="False if the wobble did not settle.")
    flags: list[str] = Field(default_factory=list, description="Problems.")
    provenance: Provenance = Field(description="Calculator, settings, code version.")


def wobble_row(doc: WobbleDocument) -> dict:
    return {**common_columns(doc), "wobble_meV": doc.wobble_mev}


def wobble_figures(ctx: ReportContext, out):
    path = out / "wobbles.svg"
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')
    return [path]


@job
def compute_wobble(formula: str, wobble: float, label: str, converged: bool = True) -> WobbleDocument:
    return WobbleDocument(formula=formula, wobble_mev=wobble, converged=converged,
                          provenance=Provenance.from_spec("emt", {"amplitude": 1}, structure_label=label))


@pytest.fixture
def wobble_property():
    prop = register_property(Property(name="wobble", document=WobbleDocument, row=wobble_row,
                                      title="Wobble amplitudes", accessor="wobbles", figures=wobble_figures))
    try:
        yield prop
    finally:
        unregister_property("wobble")
    assert "wobble" not in [p.name for p in registered_properties()]


@pytest.fixture
def wobble_store(tmp_path, wobble_property):
    """Two toy documents written by real jobflow jobs into the embedded SQLite store."""
    path = str(tmp_path / "store")
    flow = Flow([compute_wobble("Cu", 12.5, "fcc Cu"), compute_wobble("Al", 99.25, "fcc Al", converged=False)])
    run_locally(flow, store=open_store(path), log=False, ensure_success=True)
    return path


def test_registered_toy_property_is_found_by_results(wobble_store):
    r = Results(wobble_store)
    docs = r.query("wobble")
    assert sorted(d.wobble_mev for d in docs) == [12.5, 99.25]
    assert all(isinstance(d, WobbleDocument) for d in docs)
    assert [d.wobble_mev for d in r.wobbles(formula="Cu")] == [12.5]  # the accessor, with a filter
    assert [d.formula for d in r.wobbles(converged=False)] == ["Al"]
    frame = r.query("wobble").to_dataframe()
    assert sorted(frame["wobble_meV"]) == [12.5, 99.25] and set(frame["calculator"]) == {"emt"}
    assert len(r.elastic()) == 0  # the built-in properties are still there, and see none of it


def test_registered_toy_property_is_listed_and_printed_by_the_cli(wobble_store):
    runner = CliRunner()
    result = runner.invoke(app, ["query", "wobble", "--store", wobble_store], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "wobble_meV" in result.output and "12.5" in result.output and "99.25" in result.output
    help_text = runner.invoke(app, ["query", "--help"], env={"COLUMNS": "250"}).output
    assert "wobble" in help_text and "elastic" in help_text


def test_registered_toy_property_gets_a_report_section(wobble_store, tmp_path):
    text = write_report(store=wobble_store, directory=tmp_path / "report").read_text()
    section = text.split("## Wobble amplitudes", 1)[1]
    cu = next(line for line in section.splitlines() if "fcc Cu" in line)
    assert "12.5" in cu and "converged" in cu
    al = next(line for line in section.splitlines() if "fcc Al" in line)
    assert "99.25" in al and "NOT CONVERGED" in al  # the unconverged one carries its flag
    assert "](wobbles.svg)" in section and (tmp_path / "report" / "wobbles.svg").exists()
    assert "Comparison with the paper" not in text  # none of the paper's systems is in this store


def test_unknown_property_names_the_registered_ones(wobble_property):
    with pytest.raises(InputError, match="wobble") as err:
        get_property("wibble")
    assert all(name in str(err.value) for name in ("relax", "elastic", "barrier", "vacancy"))


def test_a_second_property_for_the_same_document_class_is_refused(wobble_property):
    with pytest.raises(InputError, match="WobbleDocument"):
        register_property(Property(name="wobble2", document=WobbleDocument, row=wobble_row, title="again"))
