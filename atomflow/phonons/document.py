"""PhononDocument: bands, DOS, harmonic thermal properties and dynamical stability of one bulk."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from pymatgen.core import Structure

from atomflow.documents.provenance import Provenance
from atomflow.phonons.analysis import PhononResult

#: Temperature (K) of the row's and the section's thermal properties.
ROW_TEMPERATURE = 300.0


class PhononDocument(BaseModel):
    """Harmonic phonons by finite displacements (phonopy). Frequencies THz (ν, not ω; imaginary shown
    negative), thermal properties per atom; an unstable structure is flagged, never silently used."""

    formula: str = Field(description="Reduced formula of the bulk.")
    structure: Structure = Field(description="Structure whose phonons these are (after the bulk relaxation), Å.")
    n_atoms_primitive: int = Field(description="Atoms in phonopy's primitive cell (3 × this = modes per q).")
    n_atoms_supercell: int = Field(description="Atoms in the displaced supercell.")
    supercell_matrix: list[list[int]] = Field(
        description="Supercell of the structure, rows: supercell vectors = M @ cell vectors (atomflow rule).")
    displacement: float = Field(description="Finite-displacement amplitude, Å.")
    n_displacements: int = Field(description="Symmetry-distinct displaced supercells computed (force calls).")
    displacement_dataset: dict[str, Any] = Field(
        description="phonopy displacement dataset (atom numbers, displacement vectors in Å) — with `forces` it "
                    "rebuilds the force constants.")
    forces: list[list[list[float]]] | None = Field(
        default=None, description="Forces on each displaced supercell, eV/Å (kept in the 'data' store).")
    gamma_frequencies: list[float] = Field(description="Frequencies at Γ, ascending, THz.")
    band_labels: list[list[str]] = Field(description="High-symmetry labels of each continuous branch of the path "
                                                     "(Setyawan–Curtarolo).")
    band_distances: list[list[float]] = Field(description="Path length of each q-point per segment, 1/Å (no 2π).")
    band_frequencies: list[list[list[float]]] = Field(description="Frequencies [segment][q][mode], THz.")
    dos_frequencies: list[float] = Field(description="Frequency grid of the DOS, THz.")
    dos: list[float] = Field(description="Total phonon DOS, states/THz per primitive cell.")
    mesh: list[int] = Field(description="q-mesh of the DOS and thermal properties (Γ-centred).")
    temperatures: list[float] = Field(description="Temperatures of the thermal properties, K.")
    free_energy: list[float] = Field(description="Harmonic (vibrational) Helmholtz free energy F(T), eV/atom, "
                                                 "zero-point energy included.")
    entropy: list[float] = Field(description="Vibrational entropy S(T), k_B/atom.")
    heat_capacity: list[float] = Field(description="Heat capacity at constant volume C_v(T), k_B/atom "
                                                   "(→ 3 at high T).")
    min_frequency: float = Field(description="Lowest frequency over the path and mesh, THz (negative: imaginary).")
    imaginary_tol: float = Field(description="A mode is imaginary when ν < −imaginary_tol, THz.")
    n_imaginary: int = Field(description="Imaginary frequencies over the path and the mesh (count of (q, mode)).")
    dynamically_stable: bool = Field(description="False if any mode is imaginary beyond imaginary_tol.")
    converged: bool = Field(description="True if the bulk relaxation converged and every force job finished.")
    flags: list[str] = Field(default_factory=list, description="'imaginary_modes', 'bulk_unconverged'.")
    notes: list[str] = Field(default_factory=list, description="What each flag found, with numbers.")
    provenance: Provenance = Field(description="Calculator, settings, code version.")

    @classmethod
    def from_result(cls, structure: Structure, result: PhononResult, *, supercell_matrix: Any,
                    displacement: float, dataset: dict[str, Any], forces: list[Any], bulk_converged: bool,
                    provenance: Provenance) -> PhononDocument:
        flags, notes = list(result.flags), list(result.notes)
        if not bulk_converged:
            flags.append("bulk_unconverged")
            notes.append("The bulk relaxation did not reach its force/stress criterion: residual forces enter "
                         "the force constants.")
        return cls(
            formula=structure.composition.reduced_formula,
            structure=structure,
            n_atoms_primitive=result.n_atoms_primitive,
            n_atoms_supercell=result.n_atoms_supercell,
            supercell_matrix=np.asarray(supercell_matrix, dtype=int).tolist(),
            displacement=displacement,
            n_displacements=len(dataset["first_atoms"]),
            displacement_dataset=dataset,
            forces=[np.asarray(f, dtype=float).tolist() for f in forces],
            gamma_frequencies=result.gamma_frequencies,
            band_labels=result.band_labels,
            band_distances=result.band_distances,
            band_frequencies=result.band_frequencies,
            dos_frequencies=result.dos_frequencies,
            dos=result.dos,
            mesh=result.mesh,
            temperatures=result.temperatures,
            free_energy=result.free_energy,
            entropy=result.entropy,
            heat_capacity=result.heat_capacity,
            min_frequency=result.min_frequency,
            imaginary_tol=result.imaginary_tol,
            n_imaginary=result.n_imaginary_path + result.n_imaginary_mesh,
            dynamically_stable=result.dynamically_stable,
            converged=bulk_converged,
            flags=flags,
            notes=notes,
            provenance=provenance,
        )

    def at_temperature(self, temperature: float) -> dict[str, float]:
        """F (eV/atom), S and C_v (k_B/atom) linearly interpolated at ``temperature`` K (inside the grid)."""
        t = np.asarray(self.temperatures)
        if not t[0] <= temperature <= t[-1]:
            raise ValueError(f"{temperature} K is outside the computed {t[0]}–{t[-1]} K.")
        return {"free_energy": float(np.interp(temperature, t, self.free_energy)),
                "entropy": float(np.interp(temperature, t, self.entropy)),
                "heat_capacity": float(np.interp(temperature, t, self.heat_capacity))}

    def phonopy(self):
        """A phonopy object with this document's force constants (for further analysis)."""
        from atomflow.phonons.analysis import force_constants

        if self.forces is None:
            raise ValueError("This document was loaded without its forces (they live in the 'data' store).")
        return force_constants(self.structure, self.supercell_matrix, self.displacement_dataset, self.forces,
                               symprec=self.provenance.settings.get("symprec", 1e-5))


def row(doc: PhononDocument) -> dict[str, Any]:
    """One table row of the report (registry hook): stability and 300 K thermal properties."""
    at = doc.at_temperature(ROW_TEMPERATURE) if doc.temperatures[0] <= ROW_TEMPERATURE <= doc.temperatures[-1] \
        else {"free_energy": None, "entropy": None, "heat_capacity": None}
    return {
        "formula": doc.formula,
        "calculator": doc.provenance.calculator.get("name"),
        "stand_in": doc.provenance.stand_in,
        "n_atoms_supercell": doc.n_atoms_supercell,
        "n_displacements": doc.n_displacements,
        "max_frequency_thz": float(np.max(np.concatenate([np.ravel(f) for f in doc.band_frequencies]))),
        "min_frequency_thz": doc.min_frequency,
        "dynamically_stable": doc.dynamically_stable,
        "free_energy_300K_eV_per_atom": at["free_energy"],
        "entropy_300K_kB_per_atom": at["entropy"],
        "heat_capacity_300K_kB_per_atom": at["heat_capacity"],
        "flags": list(doc.flags),
    }


def section(docs: list[PhononDocument]) -> str:
    """The report's phonon section (Markdown); a dynamically unstable bulk is named in bold."""
    lines = ["## Phonons (harmonic, finite displacements)", ""]
    if not docs:
        return "\n".join(lines + ["No phonon results.", ""])
    lines += ["| bulk | calculator | supercell atoms | displacements | ν_max (THz) | ν_min (THz) | stable | "
              f"F({ROW_TEMPERATURE:.0f} K) (eV/atom) | S (k_B/atom) | C_v (k_B/atom) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    unstable = []
    for doc in docs:
        r = row(doc)
        name = r["formula"] + (" (stand-in)" if r["stand_in"] else "")
        fmt = (lambda x: "—" if x is None else f"{x:.4f}")
        stable = "yes" if r["dynamically_stable"] else "**NO**"
        if not r["dynamically_stable"]:
            unstable.append(f"{name} ({r['calculator']}): lowest mode {r['min_frequency_thz']:.2f} THz")
        lines.append(f"| {name} | {r['calculator']} | {r['n_atoms_supercell']} | {r['n_displacements']} | "
                     f"{r['max_frequency_thz']:.2f} | {r['min_frequency_thz']:.3f} | {stable} | "
                     f"{fmt(r['free_energy_300K_eV_per_atom'])} | {fmt(r['entropy_300K_kB_per_atom'])} | "
                     f"{fmt(r['heat_capacity_300K_kB_per_atom'])} |")
    lines.append("")
    tol = docs[0].imaginary_tol
    lines.append(f"Imaginary frequencies are shown negative; a mode below −{tol} THz on the band path or the "
                 "q-mesh flags the bulk as dynamically unstable.")
    if unstable:
        lines += ["", "**Dynamically unstable bulk(s):** " + "; ".join(unstable)
                  + ". Their harmonic free energies are not meaningful."]
    return "\n".join(lines + [""])
