"""Relax and static jobs: the run step shared by every workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import JobConfig, Maker, job
from pymatgen.core import Structure

from atomflow import validation as check
from atomflow.calculators import CalculatorSpec, check_structure
from atomflow.documents import Provenance, RelaxDocument
from atomflow.jobs.ase_run import RunResult, relax
from atomflow.reuse import cache_key, reuse_key_hook, reuse_or_compute
from atomflow.run_settings import PAPER_FMAX, RELAX_MAX_STEPS, RELAX_OPTIMIZER, RelaxSettings
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

    def __post_init__(self) -> None:
        check.maker_fields(self)
        check.instance("extra_settings", self.extra_settings, dict, "a dict of extra provenance entries")
        if self.calculator is not None:
            self.calculator = CalculatorSpec.parse(self.calculator)
        self.run_settings  # bad settings fail now, not when the job runs (atomflow.validation messages)

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

    def reuse_key(self, structure: Structure) -> str:
        """The key :meth:`make`'s result is stored under (label, stand_in: printed next to the number)."""
        settings = {**self.run_settings.key_dict(), **self.extra_settings}
        return cache_key("relax", structure, self.spec, settings, label=self.label, stand_in=self.stand_in)

    @job(config=JobConfig(expose_store=True))
    def make(self, structure: Structure) -> RelaxDocument:
        spec = self.spec
        check_structure(spec, structure)
        run = self.run_settings
        settings = {**run.key_dict(), **self.extra_settings}  # provenance and reuse key

        def compute() -> RelaxDocument:
            result = relax(structure, spec, **run.run_kwargs())
            return relax_document(result, structure, spec, relax_cell=run.relax_cell, fmax=run.fmax,
                                  settings=settings, label=self.label, stand_in=self.stand_in)

        return reuse_or_compute(self.reuse_key(structure), compute)


@reuse_key_hook(RelaxMaker.make)
def _relax_submission_key(maker: RelaxMaker, structure: Structure) -> str | None:
    # calculator None is read from the settings of the machine the job runs on: not known at submission
    return maker.reuse_key(structure) if maker.calculator is not None else None


@dataclass
class StaticMaker(RelaxMaker):
    """Single point: energy, forces and stress of the structure as given."""

    name: str = "static"
    relax_cell: bool = False
    relax_ions: bool = False
    max_steps: int = 0
