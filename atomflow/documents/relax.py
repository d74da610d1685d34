"""Document of one relaxation or single-point calculation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator
from pymatgen.core import Structure

from atomflow.documents.provenance import Provenance
from atomflow.seeding import SeedCheck
from atomflow.units import from_gpa, to_gpa


class RelaxDocument(BaseModel):
    """Result of a relaxation (or a static calculation when ``n_steps`` is 0).

    Give ``stress`` (eV/Å³, as the calculator returns it); ``stress_gpa`` is derived from it here, the
    document edge, for tables and display. Downstream calculations (the elastic fit) read ``stress``.
    """

    formula: str = Field(description="Reduced formula of the structure.")
    structure: Structure = Field(description="Final structure.")
    input_structure: Structure = Field(description="Structure the calculation started from.")
    n_atoms: int = Field(description="Number of atoms.")
    energy: float = Field(description="Total energy of the final structure, eV.")
    energy_per_atom: float = Field(description="Energy per atom, eV/atom.")
    max_force: float = Field(description="Largest residual force on any atom, eV/Å.")
    stress: list[float] = Field(
        description="Final stress, Voigt order (xx, yy, zz, yz, xz, xy), eV/Å³; positive = tensile "
        "(ASE sign)."
    )
    stress_gpa: list[float] = Field(
        description="The same stress in GPa (derived from ``stress``; for display and tables)."
    )
    relax_cell: bool = Field(description="True if the cell was relaxed as well as the ions.")
    fmax: float = Field(description="Force criterion of the relaxation, eV/Å.")
    n_steps: int = Field(description="Optimizer steps taken (0 for a static calculation).")
    n_calls: int = Field(description="Calculator (energy + forces) evaluations.")
    converged: bool = Field(description="False if the step limit was hit before the force criterion.")
    provenance: Provenance = Field(description="Calculator, settings, code version.")
    cache_key: str | None = Field(default=None, description="Hash of structure + calculator + settings (reuse).")
    flags: list[str] = Field(default_factory=list, description="Reasons not to trust the result (the seed "
                             "guard: another minimum than the unseeded start's; atomflow.seeding).")
    seed_check: SeedCheck | None = Field(default=None, description="ML-seeded DFT: the seed and the guard's "
                                         "numbers (atomflow.seeding); None when not seeded.")

    @model_validator(mode="before")
    @classmethod
    def _one_stress(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("stress") is not None and data.get("stress_gpa") is None:
            data = {**data, "stress_gpa": [float(x) for x in to_gpa(data["stress"])]}
        elif data.get("stress") is None and data.get("stress_gpa") is not None:
            # Documents stored before the ``stress`` field (atomflow ≤ 9404f42) carry only GPa: derive eV/Å³
            # once, here, so a reused old relaxation feeds the elastic fit exactly what the old code fed it.
            data = {**data, "stress": [float(x) for x in from_gpa(data["stress_gpa"])]}
        return data
