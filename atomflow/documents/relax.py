"""Document of one relaxation or single-point calculation."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pymatgen.core import Structure

from atomflow.documents.provenance import Provenance


class RelaxDocument(BaseModel):
    """Result of a relaxation (or a static calculation when ``n_steps`` is 0)."""

    formula: str = Field(description="Reduced formula of the structure.")
    structure: Structure = Field(description="Final structure.")
    input_structure: Structure = Field(description="Structure the calculation started from.")
    n_atoms: int = Field(description="Number of atoms.")
    energy: float = Field(description="Total energy of the final structure, eV.")
    energy_per_atom: float = Field(description="Energy per atom, eV/atom.")
    max_force: float = Field(description="Largest residual force on any atom, eV/Å.")
    stress_gpa: list[float] = Field(
        description="Final stress, Voigt order (xx, yy, zz, yz, xz, xy), GPa; positive = tensile (ASE sign)."
    )
    relax_cell: bool = Field(description="True if the cell was relaxed as well as the ions.")
    fmax: float = Field(description="Force criterion of the relaxation, eV/Å.")
    n_steps: int = Field(description="Optimizer steps taken (0 for a static calculation).")
    n_calls: int = Field(description="Calculator (energy + forces) evaluations.")
    converged: bool = Field(description="False if the step limit was hit before the force criterion.")
    provenance: Provenance = Field(description="Calculator, settings, code version.")
    cache_key: str | None = Field(default=None, description="Hash of structure + calculator + settings (reuse).")
