"""Phonons, attempt frequencies and transport as registered properties, on documents the paper study's own flow
makes with a cheap real calculator (Fumi–Tosi NaCl; EMT Cu for an unstable bulk)."""

from __future__ import annotations

import importlib

import pytest
from ase.build import bulk
from jobflow import run_locally
from pymatgen.io.ase import AseAtomsAdaptor
from typer.testing import CliRunner

from atomflow import Results
from atomflow.cli import app
from atomflow.events import subscribe
from atomflow.phonons import PhononMaker
from atomflow.properties import PACKAGES, ReportContext, get_property, registered_properties, trusted
from atomflow.report import write_report
from atomflow.runner import run_flow
from atomflow.store import open_store
from atomflow.structures.builders import rocksalt_nacl
from atomflow.workflows import load_workflow

#: the study's NaCl branch, made cheap: μ_Na given (Fumi–Tosi has no metal), a coarser NEB pre-convergence
OVERRIDES = {"vacancy": {"chempot": "given", "mu": -1.3}, "migration": {"preconverge_fmax": 0.05},
             "elastic": {"curve_strains": (0.0, 0.005, 0.01)}}


def _study_flow():
    paper = load_workflow("paper").module
    return paper.make_flow("fumi_tosi", phases=[("NaCl", rocksalt_nacl(), "NaCl rock salt", False)],
                           overrides=OVERRIDES, nu_star_hosts=("NaCl",))


@pytest.fixture(scope="module")
def study_store(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("study") / "store")
    summary = run_flow(_study_flow(), store=path)
    assert summary.failed == 0, summary.failed_jobs
    return path


def test_every_registered_property_is_imported_by_packages():
    # a fresh process (`atomflow query transport`) knows only what PACKAGES imports
    for prop in registered_properties():
        package = prop.document.__module__.rsplit(".", 1)[0]
        assert package in PACKAGES, (prop.name, package)
    for name in ("phonons", "attempt_frequency", "transport"):
        assert get_property(name).document.__module__.startswith(
            tuple(p for p in PACKAGES if importlib.util.find_spec(p)))


def test_the_study_computes_the_nacl_attempt_frequency_and_states_it_when_switched_off():
    paper = load_workflow("paper").module
    nacl = [("NaCl", rocksalt_nacl(), "NaCl rock salt", False)]
    flow = paper.make_flow("fumi_tosi", phases=nacl, overrides=OVERRIDES)  # the default: NU_STAR_HOSTS = ("NaCl",)
    assert "attempt frequency NaCl hops" in [j.name for j, _ in flow.iterflow()]
    transport = next(j for j in flow.jobs if getattr(j, "name", "") == "transport NaCl")
    assert paper.NU_STAR_SWITCHED_OFF not in transport.jobs[0].function_kwargs["notes"]
    flow = paper.make_flow("fumi_tosi", phases=nacl, overrides=OVERRIDES, nu_star_hosts=())
    assert not any(j.name.startswith("attempt frequency") for j, _ in flow.iterflow())
    transport = next(j for j in flow.jobs if getattr(j, "name", "") == "transport NaCl")
    assert paper.NU_STAR_SWITCHED_OFF in transport.jobs[0].function_kwargs["notes"]  # stated, never silent


def test_study_documents_are_queryable(study_store):
    r = Results(study_store)
    (ph,) = r.phonons(formula="NaCl")
    assert ph.dynamically_stable and trusted(ph) and ph.n_displacements == 2  # rock salt: one per species
    (nu,) = r.attempt_frequencies(formula="NaCl")
    # Fumi–Tosi's climbing image is second order (benchmarks/README.md); refined, it is a valid rate
    assert nu.n_imaginary_climbing_image == 2 and nu.n_imaginary_saddle == 1 and trusted(nu)
    (tr,) = r.transport(formula="NaCl")
    (vac,) = r.vacancy_energies(formula="NaCl")
    assert [c.model.kind for c in tr.carriers] == ["extrinsic", "thermal"]
    assert tr.carriers[0].density_cm3 == pytest.approx(1e17)
    assert tr.carriers[1].model.schottky and tr.carriers[1].model.formation_energy == vac.schottky.e_schottky
    (hop,) = tr.hops
    assert hop.nu_star_hz == nu.nu_star_hz and not hop.nu_star_assumed
    assert hop.forward_barrier == pytest.approx(nu.barrier_first_order_eV)  # the verified first-order saddle
    assert trusted(tr)
    frame = r.transport().to_dataframe()
    assert frame.loc[0, "sigma_extrinsic_S_cm"] == tr.carriers[0].conductivity
    assert frame.loc[0, "calculator"] == "fumi_tosi" and frame.loc[0, "flags"] == ""


def test_cli_queries_the_new_properties(study_store):
    runner = CliRunner()
    for name in ("phonons", "attempt_frequency", "transport"):
        result = runner.invoke(app, ["query", name, "--store", study_store], env={"COLUMNS": "1500"})
        assert result.exit_code == 0, result.output
        assert f"{name} results (1)" in result.output and "NaCl" in result.output


def test_rerun_of_the_study_computes_nothing(study_store):
    events = []
    with subscribe(events.append):
        summary = run_flow(_study_flow(), store=study_store)
    assert summary.failed == 0 and summary.computed == 0 and summary.reused > 0
    reused = {e.name for e in events if e.kind == "result_reused"}
    assert {"transport NaCl analyse", "attempt frequency NaCl 0->1'"} <= reused
    assert any(name.startswith("phonon forces") for name in reused)


def test_report_sections_figures_and_summaries(study_store, tmp_path):
    text = write_report(store=study_store, directory=tmp_path).read_text()
    tr = Results(study_store).transport()[0]
    for title in ("Phonons (harmonic, finite displacements)", "Attempt frequencies (harmonic TST, Vineyard)",
                  "Ionic transport: from barriers to D and σ"):
        assert f"\n## {title}\n" in text
    for png in ("arrhenius.png", "phonons_NaCl_rock_salt_fumi_tosi.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({png})" in text
    transport = text[text.index("## Ionic transport"):]
    assert "exp(S_m/k)" in transport and "0.22 mS/cm" in transport and "Bénière" in transport
    sigma = tr.carriers[0].conductivity
    assert f"σ(300 K) = {sigma:.1e} S/cm" in transport  # the summary cites the trusted document
    assert "Dynamically unstable" not in text
    (nu,) = Results(study_store).attempt_frequencies()
    rates = text[text.index("## Attempt frequencies"):text.index("## Ionic transport")]
    assert "| defect cell (atoms) |" in rates and f"| {nu.name} | {nu.n_atoms} |" in rates  # whose cell's barriers


def test_a_flagged_transport_document_is_shown_but_not_summarised(study_store, tmp_path):
    doc = Results(study_store).transport()[0].model_copy(deep=True)
    doc.flags.append("hop 0->1': ν* = 1e+13 Hz assumed (no attempt frequency given)")
    prop = get_property("transport")
    text = prop.section(ReportContext(prop, [doc], tmp_path))
    sigma = f"{doc.carriers[0].conductivity:.2e}"
    assert sigma in text  # shown, in its table, with its status
    assert "**flagged**" in text and "not summarised" in text
    assert "times below the paper's value" not in text
    assert "Not used in any summary" in text


def test_overview_names_a_dynamically_unstable_bulk(tmp_path):
    # simple-cubic Cu, not relaxed: EMT gives it imaginary transverse branches (tests/test_phonons.py)
    sc = AseAtomsAdaptor.get_structure(bulk("Cu", "sc", a=2.4))
    store = str(tmp_path / "store")
    flow = PhononMaker(calculator="emt", relax_bulk=False, label="sc Cu").make(sc)
    run_locally(flow, store=open_store(store), log=False, ensure_success=True)
    text = write_report(store=store, directory=tmp_path / "report").read_text()
    overview = text[text.index("## What the store holds"):text.index("## Phonons")]
    assert "**Dynamically unstable bulk(s)**" in overview and "sc Cu (emt: lowest mode -" in overview
    assert "**NO**" in text[text.index("## Phonons"):]


def test_negative_vacancy_formation_energy_gives_a_flag_not_a_lost_document():
    # an alloy host whose calculator finds E_f < 0: the structural carriers still give a document, flagged
    from atomflow.transport import TransportMaker

    nacl = rocksalt_nacl()
    migration = {"name": "0->1", "site_a": 0, "site_b": 1, "image": None, "forward_barrier": 0.3,
                 "reverse_barrier": 0.3, "hop_length": 3.988, "converged": True, "flags": [],
                 "provenance": {"calculator": {"name": "fumi_tosi"}}}
    vacancy = {"e_f_min": -0.2, "mu_source": "bcc_Na", "converged": True, "schottky": None}
    maker = TransportMaker(carriers=[{"kind": "structural", "site_fraction": 0.01}], temperatures=(300.0, 600.0))
    out = run_locally(maker.make(nacl, [migration], vacancy=vacancy), log=False, ensure_success=True)
    doc = next(iter(out.values()))[1].output
    assert [c.model.kind for c in doc.carriers] == ["structural"]
    assert any("no thermal carriers" in f and "-0.200 eV" in f for f in doc.flags) and not trusted(doc)
    from atomflow.transport import analyse_transport_job

    # no carrier model left at all (an ionic host whose Schottky pair energy is ≤ 0, as LJ gives for Na3N):
    # the job still stores D_v and the rates, flagged, with no σ — the screening ranks the others and flags it
    schottky = dict(vacancy, e_f_min=1.0, schottky={"e_schottky": -1.5})
    doc = analyse_transport_job.original(nacl, [migration], schottky, temperatures=[300.0, 600.0])
    assert doc.carriers == [] and doc.vacancy_diffusivity > 0 and not trusted(doc)
    assert any("E_S = -1.500 eV ≤ 0" in f for f in doc.flags) and any("no σ" in f for f in doc.flags)


def test_tracer_correlation_of_a_relaxed_cell_with_lattice_noise():
    # a cell relaxed with a float32 potential is cubic to ~1e-7 Å only; the Na sublattice is still fcc (0.78145)
    import numpy as np
    from pymatgen.core import Lattice, Structure

    from atomflow.neb.hops import find_hops
    from atomflow.transport import CarrierModel, HopKinetics, analyse_transport

    ideal = rocksalt_nacl(a=5.6876)
    strain = np.eye(3) + np.array([[0.0, 3e-8, -2e-8], [1e-8, 2e-8, 4e-8], [-3e-8, 1e-8, -1e-8]])
    noisy = Structure(Lattice(ideal.lattice.matrix @ strain), ideal.species, ideal.frac_coords)
    hop = find_hops(noisy, "Na")[0]
    kinetics = [HopKinetics(name="nn", site_a=hop.site_a, site_b=hop.site_b, image=tuple(hop.image),
                            forward_barrier=0.64, reverse_barrier=0.64, nu_star_hz=1e13)]
    doc = analyse_transport(noisy, "Na", kinetics, [CarrierModel(kind="extrinsic", density_cm3=1e17)],
                            temperatures=(300.0, 600.0))
    assert doc.correlation_factor == pytest.approx(0.78145, abs=1e-3)  # Compaan & Haven (1956), fcc


def test_the_na_sn_hops_get_their_nu_star_from_the_smaller_cell():
    """make run's Na–Sn ν*: the same hops again in the phase's own 32-atom cell (NU_STAR_MIN_LENGTH), their
    attempt frequencies from there, and the transport job says that the barriers stay the study cell's."""
    paper = load_workflow("paper").module
    sn = paper.na7sn12()
    flow = paper.make_flow(None, phases=[("Na7Sn12", sn.structure, sn.label, sn.stand_in)])
    by_name = {j.name: j for j in flow.jobs}
    small, study = by_name["migration Na7Sn12 (ν* cell)"], by_name["migration Na7Sn12"]
    maker = {name: next(a for j in by_name[name].jobs for a in j.function_args if type(a).__name__ == "MigrationMaker")
             for name in ("migration Na7Sn12 (ν* cell)", "migration Na7Sn12")}
    assert maker["migration Na7Sn12 (ν* cell)"].supercell_min_length == paper.NU_STAR_MIN_LENGTH["Na7Sn12"]
    assert maker["migration Na7Sn12"].supercell_min_length == paper.MIN_LENGTH
    (rates,) = by_name["attempt frequency Na7Sn12"].jobs
    assert rates.function_args[0].uuid == small.output.uuid  # ν* from the small cell's hops
    (transport,) = by_name["transport Na7Sn12"].jobs
    assert paper.NU_STAR_SMALL_CELL in transport.function_kwargs["notes"]
    assert transport.function_args[1].uuid == study.output.uuid  # the barriers from the study cell
