"""The "phonons" property: harmonic phonons of a bulk (:class:`PhononDocument`), table, section, band+DOS figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from atomflow.phonons.document import ROW_TEMPERATURE, PhononDocument
from atomflow.phonons.document import row as _document_row
from atomflow.properties import Property, ReportContext, common_columns, register_property


def phonon_row(doc: PhononDocument) -> dict[str, Any]:
    """The common columns, then stability and the 300 K thermal properties (units in the column names)."""
    own = {k: v for k, v in _document_row(doc).items() if k not in ("formula", "calculator", "stand_in", "flags")}
    return {**common_columns(doc), **own}


def _shortest_image(doc: PhononDocument) -> float:
    """Å: the supercell's shortest lattice translation (what force constants beyond half of it miss)."""
    import numpy as np
    from pymatgen.core import Lattice

    from atomflow.structures.supercell import min_image_distance

    return min_image_distance(Lattice(np.asarray(doc.supercell_matrix) @ doc.structure.lattice.matrix))


def unstable_bulks(ctx: ReportContext) -> list[str]:
    """'system (calculator): lowest mode −x THz' for the newest phonon document of each system and calculator
    that is dynamically unstable (the report's overview and this section name them)."""
    out = []
    for system, by_calc in ctx.groups.items():
        for calc, docs in by_calc.items():
            d = docs[0]
            if not d.dynamically_stable:
                out.append(f"{system} ({calc}): lowest mode {d.min_frequency:.2f} THz, {d.n_imaginary} "
                           "imaginary (q, mode) pairs")
    return out


def phonon_section(ctx: ReportContext) -> str:
    """Every bulk's stability and thermal properties; dynamically unstable bulks named first, in bold."""
    f = ctx.fmt
    rows = []
    for system, calc, d in ctx.items():
        r = _document_row(d)
        rows.append([system, calc, str(d.n_atoms_supercell), f(_shortest_image(d), 1), str(d.n_displacements),
                     f(r["max_frequency_thz"]),
                     f(round(d.min_frequency, 3) + 0.0, 3), "yes" if d.dynamically_stable else "**NO**",
                     f(r["free_energy_300K_eV_per_atom"], 4), f(r["entropy_300K_kB_per_atom"], 3),
                     f(r["heat_capacity_300K_kB_per_atom"], 3), ctx.status(d)])
    tol = ctx.documents[0].imaginary_tol
    parts = []
    unstable = unstable_bulks(ctx)
    if unstable:
        parts.append("**Dynamically unstable bulk(s):** " + "; ".join(unstable) + ". Their harmonic free "
                     "energies are not meaningful, and the structure is not a minimum of this calculator.")
    parts += [f"phonopy finite displacements (symmetry-distinct) in a supercell whose shortest periodic image is "
              f"given; frequencies in THz, imaginary ones negative; a mode below −{tol} THz on the band path or the "
              f"q-mesh flags the bulk. Thermal properties at {ROW_TEMPERATURE:.0f} K per atom (F includes the "
              "zero-point energy).",
              ctx.table(["system", "calculator", "supercell atoms", "shortest image (Å)", "displacements",
                         "ν_max (THz)", "ν_min (THz)",
                         "dynamically stable", f"F({ROW_TEMPERATURE:.0f} K) (eV/atom)", "S (k_B/atom)",
                         "C_v (k_B/atom)", "status"], rows)]
    if ctx.flagged_text():
        parts.append(ctx.flagged_text())
    return "\n\n".join(parts)


def phonon_figures(ctx: ReportContext, out: Path) -> list[Path]:
    """Band structure + DOS of the newest document of each system and calculator (one PNG each)."""
    from atomflow.phonons.figures import phonon_figure

    paths = []
    for system, by_calc in ctx.groups.items():
        for calc, docs in by_calc.items():
            stem = "".join(ch if ch.isalnum() else "_" for ch in f"{system}_{calc}")[:60].strip("_")
            paths.append(phonon_figure(docs[0], out / f"phonons_{stem}.png"))
    return paths


def dynamically_unstable(ctx: ReportContext) -> list[str]:
    """A bold line naming every bulk whose newest phonon document (per calculator) has imaginary modes."""
    unstable = [f"{system} ({calc}: lowest mode {docs[0].min_frequency:.2f} THz)"
                for system, by_calc in ctx.groups.items() for calc, docs in by_calc.items()
                if docs[0].dynamically_stable is False]
    if not unstable:
        return []
    return ["**Dynamically unstable bulk(s)** — imaginary phonon modes, so the structure is not a minimum of the "
            "calculator and every property computed on it is suspect: " + "; ".join(unstable) + "."]


PHONONS = register_property(Property(
    name="phonons", document=PhononDocument, row=phonon_row, title="Phonons (harmonic, finite displacements)",
    accessor="phonons", section=phonon_section, figures=phonon_figures, warnings=dynamically_unstable,
))
