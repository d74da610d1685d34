"""Relax and static jobs: the run step shared by every workflow."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from jobflow import Flow, Job, JobConfig, Maker, Response, job
from pymatgen.core import Structure

from atomflow import validation as check
from atomflow.calculators import CalculatorSpec, check_structure, uses_ase_optimizers
from atomflow.documents import Provenance, RelaxDocument
from atomflow.jobs.ase_run import RunResult, relax, to_atoms
from atomflow.reuse import cache_key, reuse_key_hook, reuse_or_compute
from atomflow.run_settings import PAPER_FMAX, RELAX_MAX_STEPS, RELAX_OPTIMIZER, RelaxSettings
from atomflow.seed_hessian import HESSIAN_OPTIMIZERS, curvature_settings, relaxation_hessian
from atomflow.seeding import (AUTO, check_seed_structure, guard_flags, keep_start_symmetry, resolve_seed,
                              seed_key)
from atomflow.settings import get_settings


def relax_document(result: RunResult, input_structure: Structure, spec: CalculatorSpec, *, relax_cell: bool,
                   fmax: float, settings: dict[str, Any], label: str | None = None,
                   stand_in: bool = False) -> RelaxDocument:
    """Build the document from a run; the stress goes in as eV/Å³ (the document adds its GPa form)."""
    structure = result.structure
    return RelaxDocument(
        formula=structure.composition.reduced_formula,
        structure=structure,
        input_structure=input_structure,
        n_atoms=len(structure),
        energy=result.energy,
        energy_per_atom=result.energy / len(structure),
        max_force=result.max_force,
        stress=[float(x) for x in result.stress],
        relax_cell=relax_cell,
        fmax=fmax,
        n_steps=result.n_steps,
        n_calls=result.n_calls,
        converged=result.converged,
        provenance=Provenance.from_spec(spec, settings, structure_label=label, stand_in=stand_in),
    )


@dataclass
class RelaxMaker(Maker):
    """Relax ions (and optionally the cell) with any calculator; output a :class:`RelaxDocument`.

    Defaults are the paper's (:mod:`atomflow.run_settings`): forces below ``PAPER_FMAX`` = 0.01 eV/Å; the
    step limit is large enough for that. The run settings are the flat fields (``fmax=…``, ``max_steps=…``);
    :attr:`run_settings` is their typed form, used alike as run arguments, provenance and reuse key, and
    :meth:`from_settings` builds a Maker from a :class:`~atomflow.run_settings.RelaxSettings`. A calculator
    given as a string is parsed once, here.

    ``seed``: the ML potential that relaxes first when the calculator is DFT (:mod:`atomflow.seeding`):
    ``"auto"`` (default) = SevenNet-0 for VASP / GPAW and nothing for other calculators; a calculator spec
    (``"chgnet"``); None = DFT from the given structure. :func:`relax_step` builds a seeded relaxation as
    three jobs (seed relax → DFT single point of the start → DFT relax from the seed's geometry, guarded);
    :meth:`make` called directly on a seeded Maker becomes those three jobs when it runs. A single point
    (nothing relaxes) is never seeded.
    """

    name: str = "relax"
    calculator: CalculatorSpec | str | None = None  # None: settings.default_calculator, read at run time
    relax_cell: bool = True
    relax_ions: bool = True
    fmax: float = PAPER_FMAX
    max_steps: int = RELAX_MAX_STEPS
    optimizer: str = RELAX_OPTIMIZER
    label: str | None = None
    stand_in: bool = False
    extra_settings: dict[str, Any] = field(default_factory=dict)
    seed: CalculatorSpec | str | None = AUTO

    def __post_init__(self) -> None:
        check.maker_fields(self)
        check.instance("extra_settings", self.extra_settings, dict, "a dict of extra provenance entries")
        if self.calculator is not None:
            self.calculator = CalculatorSpec.parse(self.calculator)
        if self.seed is not None and not (isinstance(self.seed, str) and self.seed.strip().lower() == AUTO):
            self.seed = CalculatorSpec.parse(self.seed)
        self.run_settings  # bad settings fail now, not when the job runs (atomflow.validation messages)
        if self.calculator is not None:
            self.seed_spec  # a seed for a non-DFT calculator, or a DFT seed: refused now

    @property
    def relaxes(self) -> bool:
        """Whether anything moves (a single point is never seeded)."""
        return (self.relax_ions or self.relax_cell) and self.max_steps > 0

    @property
    def seed_spec(self) -> CalculatorSpec | None:
        """The seed calculator of this Maker's relaxation (None: unseeded; atomflow.seeding.resolve_seed)."""
        if not self.relaxes:
            return None
        return resolve_seed(self.seed, self.spec)

    @classmethod
    def from_settings(cls, settings: RelaxSettings, **kwargs: Any) -> RelaxMaker:
        """A Maker running ``settings``; ``kwargs`` are the other fields (calculator, label, …)."""
        return cls(**settings.key_dict(), **kwargs)

    @property
    def run_settings(self) -> RelaxSettings:
        return RelaxSettings(relax_cell=self.relax_cell, relax_ions=self.relax_ions, fmax=self.fmax,
                             max_steps=self.max_steps, optimizer=self.optimizer)

    @property
    def spec(self) -> CalculatorSpec:
        if isinstance(self.calculator, CalculatorSpec):
            return self.calculator
        return CalculatorSpec.parse(self.calculator or get_settings().default_calculator)

    def reuse_key(self, structure: Structure, seeded: dict[str, Any] | None = None) -> str:
        """The key :meth:`make`'s result is stored under (label, stand_in: printed next to the number).

        Seeded (``seeded`` given, see :meth:`make`): the unseeded start's key plus the seed, so a seeded
        result is found again however the seed's geometry came out, and never stands for an unseeded one.
        """
        settings = {**self.run_settings.key_dict(), **self.extra_settings}
        if seeded is None:
            return cache_key("relax", structure, self.spec, settings, label=self.label,
                             stand_in=self.stand_in)
        return cache_key("relax", seeded["start"], self.spec, settings, label=self.label,
                         stand_in=self.stand_in, seed=self._seed_key())

    def _seed_key(self) -> dict[str, Any]:
        seed = CalculatorSpec.parse(self.seed)
        key = seed_key(seed, self.run_settings.key_dict())
        if self._seed_curvature:
            key["curvature"] = curvature_settings()
        return key

    @property
    def _seed_curvature(self) -> bool:
        """Whether the seed's Hessian starts the DFT optimizer (atomflow.seed_hessian): ions in a fixed cell,
        a quasi-Newton optimizer, a backend that runs ASE's optimizers (not VASP)."""
        return (self.relax_ions and not self.relax_cell and self.optimizer in HESSIAN_OPTIMIZERS
                and uses_ase_optimizers(self.spec))

    @job(config=JobConfig(expose_store=True))
    def make(self, structure: Structure, seeded: dict[str, Any] | None = None,
             unless_at: Structure | None = None) -> RelaxDocument | None:
        """Relax ``structure``. ``seeded`` (built by :func:`relax_step`): ``structure`` is the seed's relaxed
        geometry and ``seeded`` holds the unseeded ``start``, the guard's single point of it (``start_doc``;
        None when it was skipped) and the seed's ``seed_energy``; the result then carries the guard
        (:func:`atomflow.seeding.guard_flags`). ``unless_at`` (the guard's single point): when ``structure``
        is at that geometry — the seed moved nothing, e.g. a strained rock-salt cell, whose atoms sit on
        inversion centres — nothing is computed and the output is None: the seeded DFT relaxation then
        starts at the start itself, and its own first energy is the guard's reference."""
        if unless_at is not None and same_geometry(structure, unless_at):
            return None
        spec = self.spec
        check_structure(spec, structure)
        if seeded is None and self.seed_spec is not None:
            # asked for directly on a seeded Maker: the same three jobs relax_step builds, now
            return Response(replace=relax_step(self, structure, name=self.name))
        run = self.run_settings
        settings = {**run.key_dict(), **self.extra_settings}  # provenance and reuse key
        symmetrised = False
        if seeded is not None:
            settings = {**settings, "seed": self._seed_key()}
            # the seed's float32 noise must not cost DFT its symmetry (k-points): atomflow.seeding
            structure, symmetrised = keep_start_symmetry(structure, seeded["start"])

        def compute() -> RelaxDocument:
            kwargs, curvature_calls = run.run_kwargs(), None
            if seeded is not None and self._seed_curvature:
                kwargs["initial_hessian"], curvature_calls = relaxation_hessian(
                    to_atoms(structure), CalculatorSpec.parse(self.seed))
            result = relax(structure, spec, **kwargs)
            doc = relax_document(result, structure, spec, relax_cell=run.relax_cell, fmax=run.fmax,
                                 settings=settings, label=self.label, stand_in=self.stand_in)
            if seeded is not None:
                start = seeded["start"]
                guard = guard_flags(start.cart_coords, start.lattice.matrix, doc.structure.cart_coords,
                                    doc.structure.lattice.matrix, _start_energy(seeded, result), doc.energy,
                                    seed=CalculatorSpec.parse(self.seed).label,
                                    seed_energy=seeded.get("seed_energy"), curvature_calls=curvature_calls,
                                    symmetrised=symmetrised)
                doc.seed_check = guard
                doc.flags = [*doc.flags, *guard.flags]
            return doc

        return reuse_or_compute(self.reuse_key(structure, seeded), compute)


def same_geometry(a: Structure, b: Structure, tol: float = 1e-8) -> bool:
    """Whether two structures are the same atoms at the same positions in the same cell (Å)."""
    return (len(a) == len(b) and [x.species_string for x in a] == [x.species_string for x in b]
            and np.allclose(a.lattice.matrix, b.lattice.matrix, atol=tol, rtol=0)
            and np.allclose(a.cart_coords, b.cart_coords, atol=tol, rtol=0))


def _start_energy(seeded: dict[str, Any], result: RunResult) -> float:
    """The guard's reference: the DFT energy of the unseeded start — its single point, or, when that was
    skipped (the seed moved nothing: this run started at the start), this run's first energy."""
    doc = seeded.get("start_doc")
    if doc is not None:
        return float(doc["energy"] if isinstance(doc, dict) else doc.energy)
    if "start_energy" in seeded:  # graphs built before the single point could be skipped
        return float(seeded["start_energy"])
    return float(result.energies[0] if result.energies else result.energy)


@reuse_key_hook(RelaxMaker.make)
def _relax_submission_key(maker: RelaxMaker, structure: Structure, seeded: dict[str, Any] | None = None,
                          unless_at: Structure | None = None) -> str | None:
    # calculator None is read from the settings of the machine the job runs on: not known at submission
    if maker.calculator is None:
        return None
    if unless_at is not None:
        return None  # the guard's single point: skipped or not by the seed's result, known only at run time
    if seeded is None and maker.seed_spec is not None:
        return None  # becomes the seeded jobs when it runs; they are keyed themselves
    return maker.reuse_key(structure, seeded)


@dataclass
class StaticMaker(RelaxMaker):
    """Single point: energy, forces and stress of the structure as given."""

    name: str = "static"
    relax_cell: bool = False
    relax_ions: bool = False
    max_steps: int = 0


def relax_step(maker: RelaxMaker, structure: Structure, *, name: str | None = None) -> Job | Flow:
    """``maker.make(structure)``, or, when the Maker is seeded, the three jobs of a seeded relaxation.

    Seeded (:attr:`RelaxMaker.seed_spec`; :mod:`atomflow.seeding`): (1) the seed relaxes ``structure`` (an
    ordinary RelaxMaker job with the seed calculator and the same run settings), (2) a DFT single point of
    ``structure`` (StaticMaker; skipped, output None, when (1) moved nothing), (3) DFT relaxes from (1)'s
    geometry with the Maker's own settings — from the seed's Hessian too where the optimizer takes one
    (:mod:`atomflow.seed_hessian`) — and checks the result against (2) and ``structure``. Returns a Flow
    whose output is (3)'s RelaxDocument; the seed's elements are checked here, before any job. Unseeded: the Maker's job, unchanged. ``name`` names the
    job (or the DFT job, and the others after it).
    """
    seed = maker.seed_spec if maker.calculator is not None else None
    if seed is None:
        step = maker.make(structure)
        if name is not None:
            step.name = name
        return step
    name = name or maker.name
    if isinstance(structure, Structure):
        check_seed_structure(seed, structure)
    ml = replace(maker, calculator=seed, seed=None, name=f"{name} [seed {seed.label}]").make(structure)
    start = StaticMaker(name=f"{name} [unseeded start, guard]", calculator=maker.spec, label=maker.label,
                        stand_in=maker.stand_in).make(structure, unless_at=ml.output.structure)
    dft = replace(maker, seed=seed).make(ml.output.structure, seeded={
        "start": structure, "start_doc": start.output, "seed_energy": ml.output.energy})
    dft.name = name
    return Flow([ml, start, dft], output=dft.output, name=name)


def step_uuid(step: Job | Flow) -> str:
    """The uuid of the job whose output a relax step returns (the DFT job of a seeded step)."""
    return step.jobs[-1].uuid if isinstance(step, Flow) else step.uuid
