"""Attempt-frequency workflow: for a MigrationDocument (or a list of them) → AttemptFrequencyDocument(s).

>>> from atomflow.neb import MigrationMaker
>>> from atomflow.rates import AttemptFrequencyMaker
>>> neb = MigrationMaker(calculator="fumi_tosi").make(nacl)                  # output: list of MigrationDocuments
>>> rates = AttemptFrequencyMaker(calculator="fumi_tosi").make_many(neb.output)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from jobflow import Flow, JobConfig, Maker, Response, job

from atomflow import validation as check
from atomflow.calculators import CalculatorSpec
from atomflow.documents import Provenance
from atomflow.errors import InputError
from atomflow.neb.analysis import mic_displacements
from atomflow.neb.document import MigrationDocument
from atomflow.rates.attempt import (
    CLIMBING_MODES,
    DIFFERENCES,
    HESSIAN,
    KICK,
    LOCAL_CUTOFF,
    MAX_REFINEMENTS,
    REFINE_MAX_STEPS,
    TIGHT_FMAX,
    VineyardSettings,
    attempt_frequency,
)
from atomflow.rates.document import AttemptFrequencyDocument
from atomflow.rates.hessian import DELTA
from atomflow.rates.vineyard import IMAGINARY_TOL_THZ
from atomflow.reuse import cache_key, reuse_key_hook, reuse_or_compute, structure_fingerprint
from atomflow.settings import get_settings


@dataclass
class AttemptFrequencyMaker(Maker):
    """Vineyard attempt frequency of NEB hops (harmonic TST at Γ of the defect cell).

    Args: calculator (None: the MigrationDocument's own calculator, which is what a barrier and its ν*
    must share); hessian 'symmetric' (the default, chosen by benchmarks/bench_hessian.py: the full Γ Hessian
    from phonopy's symmetry-distinct displacements), 'full' (every coordinate displaced) or 'local' (moving
    atom + neighbours within ``cutoff`` Å: cheaper, but on NaCl neither accurate nor able to see every
    imaginary mode); climbing_modes: how the climbing image's imaginary modes are counted, 'lanczos' (the default:
    its lowest curvatures by Lanczos iterations, one force call each) or 'hessian' (a Hessian of ``hessian``
    kind there); delta: finite-difference step, Å; fmax: tight force criterion
    of the minimum and the saddle, eV/Å (1e-3); refine_minimum: relax the end point to fmax first (False:
    an end point above fmax is refused); max_refinements: symmetry-breaking dimer runs allowed from a
    higher-order point; imaginary_tol: THz; differences: 'central' or 'forward' finite differences of the
    Hessians (forward: half their calls, an O(δ) error).
    """

    name: str = "attempt frequency"
    calculator: CalculatorSpec | str | None = None
    # the fields of VineyardSettings, flat as in every Maker; defaults from atomflow.rates.attempt
    hessian: str = HESSIAN
    climbing_modes: str = CLIMBING_MODES
    cutoff: float = LOCAL_CUTOFF
    delta: float = DELTA
    fmax: float = TIGHT_FMAX
    refine_minimum: bool = True
    max_steps: int = REFINE_MAX_STEPS
    max_refinements: int = MAX_REFINEMENTS
    kick: float = KICK
    imaginary_tol: float = IMAGINARY_TOL_THZ
    differences: str = DIFFERENCES
    label: str | None = None
    stand_in: bool | None = None  # None: copied from the MigrationDocument

    def __post_init__(self) -> None:
        check.maker_fields(self, stand_in_none=True)
        if self.calculator is not None:  # a bad spec fails now, not when the job runs
            self.calculator = CalculatorSpec.parse(self.calculator)
        self.vineyard_settings  # hessian, cutoff, delta, fmax, steps, kick, imaginary_tol checked

    @property
    def vineyard_settings(self) -> VineyardSettings:
        return VineyardSettings(hessian=self.hessian, climbing_modes=self.climbing_modes, cutoff=self.cutoff,
                                delta=self.delta, fmax=self.fmax,
                                refine_minimum=self.refine_minimum, max_steps=self.max_steps,
                                max_refinements=self.max_refinements, kick=self.kick,
                                imaginary_tol=self.imaginary_tol, differences=self.differences)

    def make(self, migration: MigrationDocument | Any) -> Flow:
        """One hop (a MigrationDocument or a reference to one) → a Flow whose output is the document."""
        self.vineyard_settings  # fields changed after construction are checked too, before any job
        j = compute_attempt_frequency(migration, self)
        j.name = f"{self.name}"
        return Flow([j], output=j.output, name=self.name)

    def make_many(self, migrations: list[MigrationDocument] | Any) -> Flow:
        """All hops of a MigrationMaker's output (a list or a reference to one), fanned out at run time."""
        self.vineyard_settings
        j = attempt_frequencies_for_hops(migrations, self)
        j.name = f"{self.name} hops"
        return Flow([j], output=j.output, name=self.name)


@job
def attempt_frequencies_for_hops(migrations: list[Any], maker: AttemptFrequencyMaker) -> Response:
    jobs = []
    for m in migrations:
        doc = m if isinstance(m, MigrationDocument) else MigrationDocument.model_validate(m)
        j = compute_attempt_frequency(doc, maker)
        j.name = f"{maker.name} {doc.name}"
        jobs.append(j)
    return Response(replace=Flow(jobs, output=[j.output for j in jobs], name=f"{maker.name} hops"))


@job(output_schema=AttemptFrequencyDocument, data=["minimum_structure", "saddle_structure"],
     config=JobConfig(expose_store=True))
def compute_attempt_frequency(migration: Any, maker: AttemptFrequencyMaker) -> AttemptFrequencyDocument:
    """Tight minimum, dimer-refined saddle, Hessians, Vineyard; reused by structures + calculator + settings."""
    doc, images, ci, spec, settings, label, stand_in = _vineyard_inputs(migration, maker)
    lattice = images[0].lattice.matrix
    tangent = mic_displacements(images[ci - 1].cart_coords, images[ci + 1].cart_coords, lattice)
    key = vineyard_key(migration, maker)

    def compute() -> AttemptFrequencyDocument:
        r = attempt_frequency(images[0], images[ci], np.asarray(tangent), doc.moving_index, spec, settings)
        return AttemptFrequencyDocument(
            name=doc.name, formula=doc.formula, species=doc.species, site_a=doc.site_a, site_b=doc.site_b,
            image=doc.image, supercell_site_a=doc.supercell_site_a, supercell_site_b=doc.supercell_site_b,
            moving_index=doc.moving_index,
            barrier_paper_settings_eV=doc.forward_barrier,
            hessian=settings.hessian, hessian_cutoff=settings.cutoff if settings.hessian == "local" else None,
            displacement=settings.delta, differences=settings.differences, fmax=settings.fmax,
            imaginary_tol=settings.imaginary_tol,
            provenance=Provenance.from_spec(spec, {**settings.as_dict(), "climbing_image_index": ci,
                                                   "neb_converged": doc.converged},
                                            structure_label=label, stand_in=stand_in),
            **r)

    return reuse_or_compute(key, compute)


def _vineyard_inputs(migration: Any, maker: AttemptFrequencyMaker) -> tuple:
    """(document, images, saddle index, calculator, settings, label, stand_in) of one hop, checked."""
    doc = migration if isinstance(migration, MigrationDocument) else MigrationDocument.model_validate(migration)
    images = doc.image_structures
    if not images:
        raise InputError(f"Hop {doc.name!r}: the MigrationDocument has no image_structures (they live in the "
                         "'data' store: load the output with load=True).")
    ci = doc.climbing_image_index if doc.climbing_image_index is not None else doc.highest_image_index
    if not 0 < ci < len(images) - 1:
        raise InputError(f"Hop {doc.name!r}: the highest image is an end point (index {ci}); no saddle to refine.")
    spec = CalculatorSpec.parse(maker.calculator or _spec_from_provenance(doc)
                                or get_settings().default_calculator)
    stand_in = doc.provenance.stand_in if maker.stand_in is None else maker.stand_in
    label = maker.label or doc.provenance.structure_label
    return doc, images, ci, spec, maker.vineyard_settings, label, stand_in


@reuse_key_hook(compute_attempt_frequency)
def vineyard_key(migration: Any, maker: AttemptFrequencyMaker) -> str:
    """The key an attempt frequency is stored under: end point, saddle, calculator, settings, label."""
    doc, images, ci, spec, settings, label, stand_in = _vineyard_inputs(migration, maker)
    # method 2: the climbing image's own modes are counted (method 1 counted them after the first dimer search);
    # method 3: the dimer starts from the climbing image's modes (kicked along a second imaginary one), so the
    # refined saddle can differ from method 2's within fmax; method 4: a refined saddle above the climbing image
    # gets no rate; method 5: a climbing image that is a minimum along its band gets its saddle from a band
    # between the initial state and it
    return cache_key("vineyard", images[0], spec, settings.as_dict(), saddle=structure_fingerprint(images[ci]),
                     moving_index=doc.moving_index, label=label, stand_in=stand_in, method=5)


def _spec_from_provenance(doc: MigrationDocument) -> dict[str, Any] | None:
    calc = doc.provenance.calculator
    if "name" not in calc:
        return None
    return {"name": calc["name"], "parameters": calc.get("parameters", {})}
