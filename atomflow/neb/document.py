"""Document of one vacancy hop's CI-NEB barrier."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymatgen.core import Structure

from atomflow.documents.provenance import Provenance


class MigrationDocument(BaseModel):
    """Barrier of one vacancy hop: energy profile, barriers, convergence and quality flags.

    Energies are eV, lengths Å, forces eV/Å, spring constants eV/Å². ``image_structures`` holds the
    converged band and is stored in the additional ``data`` store, not in the main document.
    """

    model_config = {"arbitrary_types_allowed": True}

    name: str = Field(description="Hop label, e.g. '3->1\\''.")
    formula: str = Field(description="Reduced formula of the host crystal (e.g. NaCl), for queries.")
    cell_formula: str | None = Field(default=None, description="Formula of the cell with the vacancy, e.g. Na31Cl32.")
    species: str = Field(description="Element of the moving atom.")
    site_a: int | None = Field(
        default=None,
        description="Starting site index in the cell given to the workflow (None: end points given).")
    site_b: int | None = Field(
        default=None, description="Destination (vacant) site index in that cell (None: end points given).")
    image: tuple[int, int, int] | None = Field(
        default=None,
        description="Lattice translation of site B (cell vectors; ≠ 0: the paper's primed site).")
    supercell_site_a: int | None = Field(default=None, description="Site A's index in the supercell.")
    supercell_site_b: int | None = Field(
        default=None, description="Site B's index in the supercell (the removed site).")
    moving_index: int = Field(description="Index of the moving atom in the end points and images.")
    n_atoms: int = Field(description="Atoms in each image (supercell minus the vacancy).")

    hop_length: float = Field(description="Ideal hop length |B + image − A| in the unrelaxed cell, Å.")
    relaxed_hop_length: float | None = Field(
        default=None, description="Moving atom's minimum-image distance between the relaxed end points, Å.")

    forward_barrier: float = Field(description="E_max − E_initial, eV (E_max: highest image).")
    reverse_barrier: float = Field(description="E_max − E_final, eV.")
    delta_e: float = Field(description="E_final − E_initial, eV (= forward − reverse).")
    image_energies: list[float] = Field(
        description="Energy of every image relative to the initial end point, eV.")
    image_energies_absolute: list[float] = Field(description="Total energy of every image, eV.")
    reaction_coordinate: list[float] = Field(
        description="Cumulative minimum-image path length of each image (all atoms), Å.")
    highest_image_index: int = Field(description="Index of the highest image (0 = initial end point).")
    climbing_image_index: int | None = Field(
        description="Index of the climbing image; None without climbing.")
    spline_x: list[float] = Field(description="Reaction coordinate of the interpolated profile, Å.")
    spline_y: list[float] = Field(
        description="Interpolated energy relative to the initial end point, eV "
                    "(PCHIP; never above the highest image).")

    n_images: int = Field(description="Intermediate images (end points excluded).")
    spring_constant: float = Field(description="NEB spring constant, eV/Å².")
    fmax: float = Field(description="Force criterion on every image, eV/Å.")
    climb: bool = Field(description="True if the highest image climbed (CI-NEB).")
    max_force_final: float = Field(description="Largest NEB force on any image at the end, eV/Å.")
    image_max_forces: list[float] = Field(
        description="Largest NEB force on each intermediate image at the end, eV/Å.")
    converged: bool = Field(description="True if every image force fell below fmax within max_steps.")
    n_steps: int = Field(description="NEB optimizer steps (both stages).")
    n_force_calls: int = Field(description="Calculator evaluations during the NEB (all images).")
    neb_wall_time: float = Field(description="Wall time of the NEB run, s.")
    stages: list[dict[str, Any]] = Field(
        default_factory=list, description="Per stage: climb, fmax (eV/Å), steps, force_calls, converged.")

    initial_energy: float = Field(description="Total energy of the relaxed initial end point, eV.")
    final_energy: float = Field(description="Total energy of the relaxed final end point, eV.")
    initial_converged: bool = Field(description="Initial end-point relaxation reached its fmax.")
    final_converged: bool = Field(description="Final end-point relaxation reached its fmax.")
    endpoint_rms_displacement: float | None = Field(
        default=None, description="RMS minimum-image displacement between the relaxed end points, Å.")

    flags: list[str] = Field(
        default_factory=list, description="Quality flags (see atomflow.neb.analysis.FLAG_*).")
    notes: list[str] = Field(default_factory=list, description="What each flag found, with numbers.")
    image_structures: list[Structure] | None = Field(
        default=None, description="Converged band, end points included (kept in the 'data' store).")
    provenance: Provenance = Field(description="Calculator, settings, code version.")

    @property
    def barrier(self) -> float:
        """The forward barrier, eV."""
        return self.forward_barrier
