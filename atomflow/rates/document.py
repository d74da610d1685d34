"""AttemptFrequencyDocument: Vineyard ν* of one NEB hop, with the saddle's order verified."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymatgen.core import Structure

from atomflow.documents.provenance import Provenance


class AttemptFrequencyDocument(BaseModel):
    """Harmonic-TST attempt frequency of one vacancy hop (Vineyard). ν* is None, and the document flagged,
    unless the minimum has no imaginary mode and the (refined) saddle exactly one."""

    name: str = Field(description="Hop label, copied from the MigrationDocument.")
    formula: str = Field(description="Reduced formula of the host crystal.")
    species: str = Field(description="Element of the moving atom.")
    site_a: int | None = Field(default=None, description="Starting site index in the workflow's cell (copied).")
    site_b: int | None = Field(default=None, description="Destination site index in that cell (copied).")
    image: tuple[int, int, int] | None = Field(default=None, description="Lattice translation of site B (copied).")
    supercell_site_a: int | None = Field(default=None, description="Site A's index in the supercell (copied).")
    supercell_site_b: int | None = Field(default=None, description="Site B's index in the supercell (copied).")
    moving_index: int = Field(description="Index of the moving atom in the defect cell.")

    nu_star_hz: float | None = Field(description="Vineyard attempt frequency ν* = Πν_min / Π'ν_saddle, Hz; "
                                                 "None when the hop is flagged (no rate).")
    barrier_paper_settings_eV: float = Field(
        description="Forward barrier of the CI-NEB at the paper's settings (MigrationDocument.forward_barrier), eV.")
    barrier_first_order_eV: float | None = Field(
        description="E(verified first-order saddle) − E(tight minimum), eV; None if no first-order saddle.")
    saddle_imaginary_thz: float | None = Field(
        default=None, description="The saddle's unstable mode, THz (negative = imaginary).")
    n_imaginary_min: int = Field(description="Imaginary modes at the minimum (must be 0).")
    n_imaginary_saddle: int = Field(description="Imaginary modes at the final saddle (must be 1).")
    n_imaginary_climbing_image: int | None = Field(
        default=None, description="Imaginary modes at the climbing image itself, before any refinement "
                                  "(2 or more: a higher-order point of the band).")
    climbing_image_curvature: float | None = Field(
        default=None, description="Curvature of the energy along the band's tangent at the climbing image, eV/Å² "
        "(negative at a saddle; positive: the climbing image is an intermediate minimum of the path)")
    intermediate_minimum_eV: float | None = Field(
        default=None, description="Energy of that intermediate minimum above the initial state, eV (None if the "
        "climbing image was a maximum along its band); the saddle then comes from a band from the initial state to it")
    n_refinements: int = Field(default=0, description="Symmetry-breaking kicks + dimer runs needed for order 1.")
    saddle_shift: float | None = Field(
        default=None, description="RMS minimum-image displacement of the refined saddle from the climbing image, Å.")
    frequencies_min_thz: list[float] = Field(description="Modes at the minimum, THz, ascending.")
    frequencies_saddle_thz: list[float] = Field(description="Modes at the saddle, THz, ascending.")
    hessian: str = Field(description="'local' (atoms within hessian_cutoff of the moving atom), 'full' (every "
                                     "coordinate displaced) or 'symmetric' (full, symmetry-distinct displacements).")
    hessian_cutoff: float | None = Field(default=None, description="Radius of the local Hessian, Å.")
    n_hessian_atoms: int = Field(description="Atoms displaced for each Hessian.")
    n_atoms: int = Field(description="Atoms in the defect cell.")
    displacement: float = Field(description="Finite-difference displacement, Å.")
    differences: str = Field(default="central", description="The Hessians' finite differences: 'central' (± each "
                                                            "displacement) or 'forward' (+ only).")
    fmax: float = Field(description="Force criterion of the tight minimum and the saddle, eV/Å.")
    max_force_min: float | None = Field(default=None, description="Residual force at the minimum used, eV/Å.")
    max_force_saddle: float | None = Field(default=None, description="Residual force at the saddle used, eV/Å.")
    imaginary_tol: float = Field(description="A mode is imaginary when ν < −imaginary_tol, THz.")
    hessian_noise_thz: float | None = Field(
        default=None, description="√(eigenvalue noise) of the Hessians, THz: modes softer than this are not "
        "resolved (estimated from the antisymmetric part of the raw finite-difference Hessian; None for the "
        "'symmetric' kind, whose symmetry expansion hides the noise from that estimate).")
    nu_star_uncertainty_factor: float | None = Field(
        default=None, description="ν* is known to within this factor (1σ) given that noise; None: no rate, or a "
        "mode below the noise (then a note says so).")
    n_force_calls: int = Field(description="Calculator evaluations: refinements + Hessians.")
    converged: bool = Field(description="True if ν* was computed (no flag stopping it).")
    flags: list[str] = Field(default_factory=list, description="See atomflow.rates.vineyard.FLAG_*.")
    notes: list[str] = Field(default_factory=list, description="What each flag found, with numbers.")
    minimum_structure: Structure | None = Field(
        default=None, description="The tight minimum whose Hessian was taken (kept in the 'data' store).")
    saddle_structure: Structure | None = Field(
        default=None, description="The refined saddle whose Hessian was taken, or where the refinement stopped "
                                  "(kept in the 'data' store).")
    provenance: Provenance = Field(description="Calculator, settings, code version.")
    cache_key: str | None = Field(default=None, description="Reuse key (structure + calculator + settings).")

    @property
    def has_rate(self) -> bool:
        return self.nu_star_hz is not None


def row(doc: AttemptFrequencyDocument) -> dict[str, Any]:
    """One table row of the report (registry hook)."""
    return {
        "formula": doc.formula,
        "hop": doc.name,
        "n_atoms": doc.n_atoms,
        "calculator": doc.provenance.calculator.get("name"),
        "stand_in": doc.provenance.stand_in,
        "nu_star_THz": None if doc.nu_star_hz is None else doc.nu_star_hz / 1e12,
        "nu_star_uncertainty_factor": doc.nu_star_uncertainty_factor,
        "barrier_paper_settings_eV": doc.barrier_paper_settings_eV,
        "barrier_first_order_eV": doc.barrier_first_order_eV,
        "n_imaginary_min": doc.n_imaginary_min,
        "n_imaginary_saddle": doc.n_imaginary_saddle,
        "n_imaginary_climbing_image": doc.n_imaginary_climbing_image,
        "hessian": doc.hessian,
        "n_force_calls": doc.n_force_calls,
        "flags": list(doc.flags),
    }


def section(docs: list[AttemptFrequencyDocument]) -> str:
    """The report's attempt-frequency section (Markdown): ν*, both barriers, the saddle's order."""
    lines = ["## Attempt frequencies (harmonic TST, Vineyard)", ""]
    if not docs:
        return "\n".join(lines + ["No attempt-frequency results.", ""])
    lines += ["| system | hop | calculator | ν* (THz) | E_a paper settings (eV) | E_a first-order saddle (eV) | "
              "imag. modes min / CI / saddle | Hessian | force calls | flags |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for doc in docs:
        r = row(doc)
        nu = "no rate" if r["nu_star_THz"] is None else f"{r['nu_star_THz']:.2f}"
        eb = "—" if r["barrier_first_order_eV"] is None else f"{r['barrier_first_order_eV']:.3f}"
        ci = "—" if r["n_imaginary_climbing_image"] is None else str(r["n_imaginary_climbing_image"])
        name = r["formula"] + (" (stand-in)" if r["stand_in"] else "")
        lines.append(f"| {name} | {r['hop']} | {r['calculator']} | {nu} | {r['barrier_paper_settings_eV']:.3f} | "
                     f"{eb} | {r['n_imaginary_min']} / {ci} / {r['n_imaginary_saddle']} | {r['hessian']} | "
                     f"{r['n_force_calls']} | {', '.join(r['flags']) or '—'} |")
    lines += ["", "ν* = Πν_min / Π'ν_saddle (Vineyard 1957) at Γ of the defect cell; the minimum must have no "
              "imaginary mode and the saddle exactly one, else the hop gets no rate. The climbing image is refined "
              "by the dimer method to the force criterion; when it was a higher-order stationary point (CI column "
              "> 1) the first-order barrier differs from the paper-settings one."]
    notes = [f"- {d.name} ({d.formula}): " + " ".join(d.notes) for d in docs if d.notes]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines + [""])
