"""μ of an elemental host by default: a vacancy in fcc Cu needs no μ by hand (issue 13, point 5)."""

from __future__ import annotations

import itertools

import pytest
from ase.build import bulk
from jobflow import run_locally
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.errors import InputError
from atomflow.jobs import relax
from atomflow.store import open_store
from atomflow.vacancy import VacancyDocument, VacancyFormationMaker

_counter = itertools.count()


def cu():
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.6, cubic=True))


def run(maker: VacancyFormationMaker) -> VacancyDocument:
    flow = maker.make(cu())
    store = open_store(f"memory://host-mu-{next(_counter)}")
    run_locally(flow, store=store, log=False, ensure_success=True)
    return VacancyDocument.model_validate(store.get_output(flow.output.uuid))


def test_elemental_host_takes_mu_from_its_own_relaxed_bulk():
    # μ = E_bulk/N computed independently: the same cubic cell relaxed (cell + ions) with EMT, no flow
    result = relax(cu(), "emt", relax_cell=True)
    assert result.converged
    mu = result.energy / len(cu())
    auto = run(VacancyFormationMaker(calculator="emt", species="Cu", min_length=7.0))
    given = run(VacancyFormationMaker(calculator="emt", species="Cu", min_length=7.0, mu=mu))
    assert auto.mu_source == "host_bulk" and auto.provenance.settings["chempot"] == "host_bulk"
    assert given.mu_source == "given"
    assert auto.mu == pytest.approx(mu, abs=1e-8)
    (a,), (g,) = auto.sites, given.sites
    assert a.e_f == pytest.approx(g.e_f, abs=1e-8)  # the same numbers: same cells, same μ
    # E_f = E_d − (N−1)/N·E_p with E_p = N·μ (the perfect supercell is the relaxed crystal repeated)
    assert a.e_f == pytest.approx(a.e_defect - (auto.n_atoms - 1) / auto.n_atoms * auto.e_perfect, abs=1e-6)
    assert 0.8 < a.e_f < 1.6  # sanity range: EMT Cu ≈ 1.2 eV, experiment 1.28 eV (Ehrhart, L-B III/25)
    assert auto.converged and auto.chemical_potential.converged


def test_the_hull_hint_for_cu_names_cu_not_bcc_na():
    with pytest.raises(InputError) as raised:
        VacancyFormationMaker(calculator="emt", species="Cu", chempot="hull").make(cu())
    message = str(raised.value)
    assert "elemental host Cu" in message and "μ_Cu" in message and "Na" not in message
