"""Typed run settings: one object is the run's arguments, its provenance and its reuse key; stress units."""

from __future__ import annotations

import dataclasses
import inspect
import itertools

import numpy as np
import pytest
from ase.build import bulk
from jobflow import Flow, run_locally
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.documents import RelaxDocument
from atomflow.elastic import ElasticDocument, ElasticMaker
from atomflow.errors import InputError
from atomflow.jobs import RelaxMaker, StaticMaker
from atomflow.neb import MigrationMaker, run_neb
from atomflow.run_settings import PAPER_FMAX, NEBSettings, RelaxSettings, StaticSettings
from atomflow.store import open_store
from atomflow.units import EV_PER_A3_TO_GPA

_counter = itertools.count()


def cu(a=3.7):
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=a, cubic=True))


def run(flow):
    store = open_store(f"memory://run-settings-{next(_counter)}")
    run_locally(flow, store=store, log=False, ensure_success=True)
    return store


def test_settings_are_frozen_and_bad_values_fail_when_the_maker_is_built():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RelaxSettings().fmax = 0.1
    for make in (lambda: RelaxMaker(fmax=0.0), lambda: StaticMaker(max_steps=-1),
                 lambda: ElasticMaker(calculator="emt", fmax=-0.01), lambda: MigrationMaker(n_images=0)):
        with pytest.raises(InputError):
            make()


def test_the_settings_object_is_what_the_run_used_and_what_the_document_records():
    """A loose fmax is both obeyed by the run and recorded; the Maker built from the object is the same job."""
    loose = RelaxSettings(relax_cell=False, fmax=0.2)
    structure = cu(3.6)
    structure.translate_sites([0], [0.05, 0.0, 0.0])  # forces ≈ 0.3 eV/Å: a few steps to 0.2
    job = RelaxMaker.from_settings(loose, calculator="emt").make(structure)
    doc = RelaxDocument.model_validate(run(Flow([job])).get_output(job.uuid))
    assert doc.converged and 0 < doc.n_steps and doc.max_force < 0.2
    assert doc.fmax == 0.2 and doc.provenance.settings == loose.key_dict()
    assert RelaxMaker(calculator="emt", relax_cell=False, fmax=0.2).run_settings == loose
    assert StaticMaker().run_settings.key_dict() == StaticSettings().key_dict()
    assert StaticSettings().fmax == PAPER_FMAX


def test_neb_run_arguments_are_exactly_run_nebs_keywords():
    keywords = {name for name, p in inspect.signature(run_neb).parameters.items() if p.kind == p.KEYWORD_ONLY}
    # ``band`` is the starting geometry of a seeded band (atomflow.seeding), an input like the end points, and
    # ``image_hessians`` its seed's curvature (atomflow.seed_hessian)
    assert set(NEBSettings().run_kwargs()) == keywords - {"band", "image_hessians"}
    # the end-point fields shape the key, not the band run
    assert {"species", "endpoint_fmax", "supercell_min_length"} <= set(NEBSettings().key_dict())


def test_the_default_calculator_is_resolved_once_when_the_flow_is_made(monkeypatch):
    """MigrationMaker(calculator=None) hands the spec of make() time to its hop jobs, not a later look-up."""
    monkeypatch.setenv("ATOMFLOW_DEFAULT_CALCULATOR", "emt")
    flow = MigrationMaker(species="Cu", supercell_min_length=7.0, bulk_relax_maker=None,
                          preconverge_fmax=None, fmax=0.1).make(cu(3.61))
    monkeypatch.setenv("ATOMFLOW_DEFAULT_CALCULATOR", "lj")  # a look-up at run time would give LJ
    (doc,) = run(flow).get_output(flow.output.uuid)
    assert doc.provenance.calculator["name"] == "emt"


def test_relax_document_stress_is_ev_per_a3_and_legacy_documents_derive_it():
    doc = RelaxMaker(calculator="emt", relax_cell=False, max_steps=0)
    job = doc.make(cu(3.55))  # compressed: stress ≈ −1e-2 eV/Å³
    new = RelaxDocument.model_validate(run(Flow([job])).get_output(job.uuid))
    assert max(abs(s) for s in new.stress) > 1e-3  # a real stress, not zero
    assert np.allclose(new.stress_gpa, np.asarray(new.stress) * EV_PER_A3_TO_GPA, rtol=1e-14, atol=0)
    # a document stored before the field existed carries only GPa
    legacy = new.model_dump()
    del legacy["stress"]
    old = RelaxDocument.model_validate(legacy)
    assert np.allclose(old.stress, new.stress, rtol=1e-14, atol=0)


def test_elastic_reference_stress_reaches_the_document_in_gpa_once():
    """The bulk's eV/Å³ stress goes to the fit unconverted; the document's GPa is the bulk's GPa."""
    cell = cu(3.61)  # not relaxed below: the residual stress is large enough to see a unit slip
    maker = ElasticMaker(calculator="emt", bulk_relax_maker=StaticMaker(calculator="emt"))
    flow = maker.make(cell)
    store = run(flow)
    doc = ElasticDocument.model_validate(store.get_output(flow.output.uuid))
    bulk_doc = RelaxDocument.model_validate(store.get_output(flow.jobs[0].uuid))
    assert max(abs(s) for s in bulk_doc.stress_gpa) > 0.1
    assert np.allclose(doc.reference_stress_gpa, bulk_doc.stress_gpa, rtol=1e-12, atol=0)
    # Cu EMT: C11 ≈ 170 GPa; a unit slip (GPa read as eV/Å³ or back) would be off by 160×
    assert 120 < doc.elastic_tensor_gpa[0][0] < 230
