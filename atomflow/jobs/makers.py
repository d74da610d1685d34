"""Relax and static jobs: the run step shared by every workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import JobConfig, Maker, job
from pymatgen.core import Structure

from atomflow.calculators import CalculatorSpec, check_structure
from atomflow.documents import Provenance, RelaxDocument
from atomflow.jobs.ase_run import RunResult, relax
from atomflow.reuse import cache_key, reuse_or_compute
from atomflow.settings import get_settings
from atomflow.units import to_gpa


def relax_document(result: RunResult, input_structure: Structure, spec: CalculatorSpec, *, relax_cell: bool,
                   fmax: float, settings: dict[str, Any], label: str | None = None,
                   stand_in: bool = False) -> RelaxDocument:
    """Build the document from a run; stress converted to GPa here, the document edge."""
    structure = result.structure
    return RelaxDocument(
        formula=structure.composition.reduced_formula,
        structure=structure,
        input_structure=input_structure,
        n_atoms=len(structure),
        energy=result.energy,
        energy_per_atom=result.energy / len(structure),
        max_force=result.max_force,
        stress_gpa=[float(x) for x in to_gpa(result.stress)],
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

    Defaults are the paper's: forces below 0.01 eV/Å; the step limit is large enough for that.
    """

    name: str = "relax"
    calculator: CalculatorSpec | str | None = None  # None: settings.default_calculator
    relax_cell: bool = True
    relax_ions: bool = True
    fmax: float = 0.01
    max_steps: int = 1000
    optimizer: str = "BFGS"
    label: str | None = None
    stand_in: bool = False
    extra_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> CalculatorSpec:
        return CalculatorSpec.parse(self.calculator or get_settings().default_calculator)

    @job(config=JobConfig(expose_store=True))
    def make(self, structure: Structure) -> RelaxDocument:
        spec = self.spec
        check_structure(spec, structure)
        settings = {"relax_cell": self.relax_cell, "relax_ions": self.relax_ions, "fmax": self.fmax,
                    "max_steps": self.max_steps, "optimizer": self.optimizer, **self.extra_settings}

        def compute() -> RelaxDocument:
            result = relax(structure, spec, relax_cell=self.relax_cell, fmax=self.fmax,
                           max_steps=self.max_steps, optimizer=self.optimizer, relax_ions=self.relax_ions)
            return relax_document(result, structure, spec, relax_cell=self.relax_cell, fmax=self.fmax,
                                  settings=settings, label=self.label, stand_in=self.stand_in)

        # label/stand_in are part of the key: they are printed next to the number.
        key = cache_key("relax", structure, spec, settings, label=self.label, stand_in=self.stand_in)
        return reuse_or_compute(key, compute)


@dataclass
class StaticMaker(RelaxMaker):
    """Single point: energy, forces and stress of the structure as given."""

    name: str = "static"
    relax_cell: bool = False
    relax_ions: bool = False
    max_steps: int = 0
