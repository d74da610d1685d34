"""The elastic-tensor workflow: relax bulk → relax strained cells (run-time fan-out) → fit.

>>> from atomflow.elastic import ElasticMaker
>>> flow = ElasticMaker(calculator="emt").make(structure)          # a jobflow Flow
>>> # run it: jobflow.run_locally(flow, store=open_store(...)); the output is an ElasticDocument
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from ase import Atoms
from jobflow import Flow, JobConfig, Maker, OnMissing, Response, job
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from atomflow import validation as check
from atomflow.calculators import CalculatorSpec, check_structure
from atomflow.documents import Provenance
from atomflow.elastic.document import ElasticDocument
from atomflow.elastic.strains import (
    VOIGT_LABELS,
    StrainPlan,
    deform,
    fit_strain_states,
    plan_strains,
    strain_label,
    validate_directions,
    validate_magnitudes,
)
from atomflow.errors import IncompleteResultsError, InputError
from atomflow.jobs.makers import RelaxMaker, StaticMaker, relax_step, step_uuid
from atomflow.run_settings import (
    DEFAULT_CURVE_STRAINS,
    DEFAULT_MAGNITUDES,
    ELASTIC_SYMPREC,
    PAPER_FMAX,
    RELAX_MAX_STEPS,
    ElasticSettings,
)
from atomflow.seeding import AUTO, check_seed_structure, resolve_seed, seed_key
from atomflow.structures.validate import validate_structure

__all__ = ["DEFAULT_CURVE_STRAINS", "ElasticMaker", "fit_elastic", "relax_strained_cells"]


@dataclass
class ElasticMaker(Maker):
    """Relaxed-ion elastic tensor by the stress–strain method (the paper's method).

    The bulk is relaxed (cell and ions, ``bulk_relax_maker``); each Voigt direction is strained by each
    of ``strain_magnitudes`` (dimensionless, engineering shear; default ±0.5 %, ±1 %) and, with
    ``relax_ions``, the ions are relaxed at fixed cell (``elastic_relax_maker``); the 6×6 tensor is the
    least-squares fit of stress minus the bulk's stress against strain. With ``symmetry_reduce`` only one
    strain per point-group equivalence class is computed (cubic: 6 of 24) and the other stresses follow by
    rotation. ``stress_strain_directions`` (e.g. ``(0,)``) adds uniaxial-strain curves at ``curve_strains``.

    The settings are the flat fields; :attr:`run_settings` is their typed form
    (:class:`~atomflow.run_settings.ElasticSettings`, recorded in the document), :meth:`from_settings` builds
    a Maker from one. The calculator is parsed once, here, and handed to the default sub makers as a spec.

    ``seed`` (:mod:`atomflow.seeding`): "auto" (default) = SevenNet-0 relaxes the bulk and each strained
    cell before a DFT calculator does, none for other calculators; a spec picks the seed; None = unseeded.
    It applies to both sub makers; the stresses fitted are DFT stresses at the DFT criteria. A seed guard
    flag of the bulk or of a strained cell becomes a warning of the document.
    """

    name: str = "elastic"
    calculator: CalculatorSpec | str | None = None  # None: settings.default_calculator
    bulk_relax_maker: RelaxMaker | None = None  # None: cell + ions relax with `calculator` and `fmax`
    elastic_relax_maker: RelaxMaker | None = None  # None: ions-only relax (or static if not relax_ions)
    strain_magnitudes: tuple[float, ...] = DEFAULT_MAGNITUDES
    relax_ions: bool = True
    fmax: float = PAPER_FMAX  # eV/Å, both relaxations
    max_steps: int = RELAX_MAX_STEPS
    symmetry_reduce: bool = True
    symprec: float = ELASTIC_SYMPREC  # Å, spglib tolerance for the point group
    stress_strain_directions: tuple[int, ...] = ()
    curve_strains: tuple[float, ...] = DEFAULT_CURVE_STRAINS
    label: str | None = None
    stand_in: bool = False
    seed: CalculatorSpec | str | None = AUTO

    def __post_init__(self) -> None:
        # Validate here, before anything runs (matcalc's rule: zero strain rejected at construction).
        check.maker_fields(self)
        check.sub_maker("bulk_relax_maker", self.bulk_relax_maker, RelaxMaker)
        check.sub_maker("elastic_relax_maker", self.elastic_relax_maker, RelaxMaker)
        self.strain_magnitudes = validate_magnitudes(self.strain_magnitudes)
        fit_strain_states(self.strain_magnitudes)  # enough states for the fit
        self.stress_strain_directions = validate_directions(self.stress_strain_directions)
        self.curve_strains = validate_magnitudes(self.curve_strains, what="curve_strains", allow_zero=True)
        if self.calculator is not None:
            self.calculator = CalculatorSpec.parse(self.calculator)
        settings = self.run_settings  # flags, fmax, max_steps, symprec checked here (atomflow.validation)
        common = {"calculator": self.calculator, "label": self.label, "stand_in": self.stand_in}
        if self.bulk_relax_maker is None:
            self.bulk_relax_maker = RelaxMaker.from_settings(settings.relax_settings(relax_cell=True),
                                                             name="elastic bulk relax", **common)
        if self.elastic_relax_maker is None:
            strained = settings.relax_settings(relax_cell=False)
            if self.relax_ions:
                self.elastic_relax_maker = RelaxMaker.from_settings(strained, name="elastic relax", **common)
            else:
                self.elastic_relax_maker = StaticMaker.from_settings(strained, **common)
        if self.elastic_relax_maker.relax_cell:
            raise InputError(
                "elastic_relax_maker relaxes the cell, which would undo the applied strain; "
                "give it relax_cell=False."
            )
        if self.seed is not None and not (isinstance(self.seed, str) and self.seed.strip().lower() == AUTO):
            self.seed = CalculatorSpec.parse(self.seed)
        if self.calculator is not None:
            resolve_seed(self.seed, self.calculator)  # a seed for a non-DFT calculator: refused now

    @classmethod
    def from_settings(cls, settings: ElasticSettings, **kwargs: Any) -> ElasticMaker:
        """A Maker with ``settings``; ``kwargs`` are the other fields (calculator, sub makers, label, …)."""
        values = {k: v for k, v in settings.key_dict().items() if k != "strain_convention"}
        return cls(**values, **kwargs)

    @property
    def run_settings(self) -> ElasticSettings:
        """The typed settings; ``relax_ions`` is that of the strained-cell maker (which may be given)."""
        strained = self.elastic_relax_maker
        relax_ions = strained.relax_ions if strained is not None else self.relax_ions
        return ElasticSettings(
            strain_magnitudes=self.strain_magnitudes, relax_ions=relax_ions, fmax=self.fmax,
            max_steps=self.max_steps, symmetry_reduce=self.symmetry_reduce, symprec=self.symprec,
            stress_strain_directions=self.stress_strain_directions, curve_strains=self.curve_strains)

    def make(self, structure: Structure | Atoms) -> Flow:
        """Flow of three steps whose output is an :class:`ElasticDocument`."""
        if isinstance(structure, Atoms):
            structure = AseAtomsAdaptor.get_structure(structure)
        validate_structure(structure)  # bulk input: ordered, periodic, no overlapping atoms
        settings = self.run_settings  # again: fields changed after construction are checked before any job
        bulk_spec, strained_spec = self.bulk_relax_maker.spec, self.elastic_relax_maker.spec
        if bulk_spec != strained_spec:
            raise InputError(
                f"The bulk relaxation uses {bulk_spec.name} and the strained ones "
                f"{strained_spec.name}: the reference stress must come from the same calculator."
            )
        check_structure(bulk_spec, structure)  # unsupported elements fail now, not after the bulk relax
        seed = resolve_seed(self.seed, bulk_spec)
        seeded: dict[str, Any] = {}
        if seed is not None:
            check_seed_structure(seed, structure)
        bulk_maker = replace(self.bulk_relax_maker, seed=self.seed)
        bulk = relax_step(bulk_maker, structure)
        if bulk_maker.seed_spec is not None:
            seeded = {"bulk_flags": bulk.output.flags,
                      "seed": seed_key(bulk_maker.seed_spec, bulk_maker.run_settings.key_dict())}
        strained = relax_strained_cells(
            bulk.output.structure,
            replace(self.elastic_relax_maker, seed=self.seed),
            strain_magnitudes=list(self.strain_magnitudes),
            symmetry_reduce=self.symmetry_reduce,
            symprec=self.symprec,
            curve_directions=list(self.stress_strain_directions),
            curve_strains=list(self.curve_strains),
        )
        fit = fit_elastic(
            bulk.output.structure,
            bulk.output.stress,
            bulk.output.converged,
            strained.output,
            spec=bulk_spec,
            relax_ions=settings.relax_ions,
            settings=settings.key_dict(),
            label=self.label,
            stand_in=self.stand_in,
            symprec=self.symprec,
            **seeded,
        )
        return Flow([bulk, strained, fit], output=fit.output, name=self.name)


@job
def relax_strained_cells(
    structure: Structure,
    relax_maker: RelaxMaker,
    *,
    strain_magnitudes: list[float],
    symmetry_reduce: bool = True,
    symprec: float = 1e-3,
    curve_directions: list[int] = (),
    curve_strains: list[float] = (),
) -> Response:
    """Plan the strained cells of the relaxed ``structure`` and replace this job by one relaxation each.

    The replacing flow's output is ``{"plan": StrainPlan dict, "results": [{"strain", "stress" (eV/Å³, ASE
    sign), "converged", "uuid"}, …]}`` in the order of ``plan.computed``; a job that reads it with
    ``OnMissing.NONE`` (as :func:`fit_elastic` does) gets ``stress`` None for a relaxation that failed.
    """
    plan = plan_strains(
        structure,
        strain_magnitudes,
        symmetry_reduce_strains=symmetry_reduce,
        curve_directions=curve_directions,
        curve_strains=curve_strains,
        symprec=symprec,
    )
    jobs, results = [], []
    for n, e in enumerate(plan.computed_strains, start=1):
        relax_job = relax_step(relax_maker, deform(structure, e),
                               name=f"elastic relax {n}/{len(plan.computed)} {strain_label(e)}")
        jobs.append(relax_job)
        result = {
            "strain": e,
            "stress": relax_job.output.stress,
            "converged": relax_job.output.converged,
            "uuid": step_uuid(relax_job),
        }
        if isinstance(relax_job, Flow):  # seeded: the guard's flags (atomflow.seeding)
            result["flags"] = relax_job.output.flags
        results.append(result)
    return Response(
        replace=Flow(
            jobs, output={"plan": plan.model_dump(), "results": results}, name="elastic strained relaxations"
        )
    )


#: The fit needs this many strain states (distinct magnitudes) along each Voigt direction: two keep it
#: over-determined, so that its residual measures how linear the response is (as the full plan's rule).
MIN_STRAINS_PER_DIRECTION = 2


# OnMissing.NONE: a failed strained relaxation reaches the fit as None instead of stopping it (atomate2's
# elastic fit tolerates failed deformations the same way); the fit decides whether the rest suffice.
@job(output_schema=ElasticDocument, config=JobConfig(on_missing_references=OnMissing.NONE))
def fit_elastic(
    structure: Structure,
    reference_stress: list[float],
    bulk_converged: bool,
    strained: dict[str, Any],
    *,
    spec: CalculatorSpec | str,
    relax_ions: bool,
    settings: dict[str, Any],
    label: str | None = None,
    stand_in: bool = False,
    symprec: float = 1e-3,
    bulk_flags: list[str] | None = None,
    seed: dict[str, Any] | None = None,
) -> ElasticDocument:
    """Rebuild every stress from the computed ones by symmetry, fit the tensor, make the document.

    Seeded (``seed``: the seed calculator and settings, recorded in provenance): the seed guard's flags
    of the bulk (``bulk_flags``) and of the strained cells (``strained["results"][k]["flags"]``) become
    warnings of the document.

    Stresses in eV/Å³ (ASE sign) throughout; the document converts to GPa. Strained cells whose
    relaxation failed are left out, with every strain that follows from them by symmetry; the tensor is
    fitted from the rest while each Voigt direction keeps at least :data:`MIN_STRAINS_PER_DIRECTION`
    strains, and the document lists them in ``failed_strains``. With fewer, or without the bulk
    relaxation, :class:`IncompleteResultsError` names what failed.
    """
    if structure is None or reference_stress is None or strained is None:
        raise IncompleteResultsError(
            "No elastic fit: the " + ("bulk relaxation" if structure is None or reference_stress is None
                                      else "strained-cell planning job") + " failed (see its error above).")
    plan = StrainPlan.model_validate(strained["plan"])
    results = strained["results"]
    failed = {k for k, r in enumerate(results) if r["stress"] is None}
    failed_strains = [strain_label(results[k]["strain"]) for k in sorted(failed)]
    computed = [np.full(6, np.nan) if k in failed else np.asarray(r["stress"], dtype=float)
                for k, r in enumerate(results)]
    stresses = plan.reconstruct(computed)  # NaN where the source cell failed
    available = [k not in failed for k in plan.source]
    derived = [plan.computed[k] != i for i, k in enumerate(plan.source)]
    fit_idx = [i for i, is_fit in enumerate(plan.fit) if is_fit and available[i]]
    _check_enough_strains([plan.strains[i] for i in fit_idx], failed_strains, structure)
    reference = np.asarray(reference_stress, dtype=float)
    curves = {}
    for d in plan.curve_directions:
        c_strains, c_stresses, c_derived = [], [], []
        for m in sorted(plan.curve_strains):
            if m == 0:
                c_strains.append(m)
                c_stresses.append(reference)
                c_derived.append(False)
            elif available[i := plan.index(m * np.eye(6)[d])]:  # a failed point is left out of the curve
                c_strains.append(m)
                c_stresses.append(stresses[i])
                c_derived.append(derived[i])
        curves[d] = (c_strains, c_stresses, c_derived)
    unconverged = ([] if bulk_converged else ["bulk"]) + [
        strain_label(r["strain"]) for k, r in enumerate(results) if k not in failed and not r["converged"]
    ]
    sga = SpacegroupAnalyzer(structure, symprec=symprec)
    provenance = Provenance.from_spec(
        spec,
        {**settings, "point_group": plan.point_group, "strained_relax_uuids": [r["uuid"] for r in results],
         **({"seed": seed} if seed else {})},
        structure_label=label,
        stand_in=stand_in,
    )
    doc = ElasticDocument.from_fit(
        structure,
        [plan.strains[i] for i in fit_idx],
        stresses[fit_idx],
        reference,
        provenance=provenance,
        crystal_system=sga.get_crystal_system(),
        point_group=plan.point_group,
        relax_ions=relax_ions,
        derived_by_symmetry=[derived[i] for i in fit_idx],
        n_calculations=len(plan.computed),
        unconverged=unconverged,
        curves=curves,
    )
    guard = [f"bulk: {f}" for f in (bulk_flags or [])] + [
        f"strained cell {strain_label(r['strain'])}: {f}" for k, r in enumerate(results) if k not in failed
        for f in (r.get("flags") or [])]
    doc.warnings += guard
    if failed_strains:
        doc.failed_strains = failed_strains
        doc.warnings.append(
            f"{len(failed_strains)} strained relaxation(s) failed ({', '.join(failed_strains)}): the tensor "
            f"is fitted from the {len(fit_idx)} remaining strain states (strains that follow from a failed "
            "cell by symmetry are left out too).")
    return doc


def _check_enough_strains(strains: list[list[float]], failed_strains: list[str],
                          structure: Structure) -> None:
    """Raise unless every Voigt direction keeps MIN_STRAINS_PER_DIRECTION strains for the fit."""
    counts = [0] * 6
    for e in strains:
        counts[int(np.argmax(np.abs(e)))] += 1
    short = [f"{VOIGT_LABELS[d]} ({n})" for d, n in enumerate(counts) if n < MIN_STRAINS_PER_DIRECTION]
    if short:
        raise IncompleteResultsError(
            f"Too many strained relaxations of {structure.composition.reduced_formula} failed for the "
            f"elastic fit: {', '.join(failed_strains)}. That leaves too few strains along "
            f"{', '.join(short)}; the fit needs at least {MIN_STRAINS_PER_DIRECTION} along each of xx, yy, zz, yz, xz, xy. Fix the cause "
            "and run again (the finished cells are reused from the store).")
