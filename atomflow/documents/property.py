"""The "relax" property: every relaxation and static calculation in the store (:class:`RelaxDocument`)."""

from __future__ import annotations

from typing import Any

from atomflow.documents.relax import RelaxDocument
from atomflow.properties import Property, ReportContext, common_columns, register_property

#: Unconverged relaxations listed by name in the report before the rest are only counted.
MAX_LISTED = 30


def relax_row(doc: RelaxDocument) -> dict[str, Any]:
    lat = doc.structure.lattice
    return {**common_columns(doc), "energy_per_atom_eV": doc.energy_per_atom, "a_A": lat.a, "b_A": lat.b,
            "c_A": lat.c, "max_stress_GPa": max(map(abs, doc.stress_gpa)), "relax_cell": doc.relax_cell}


def relax_section(ctx: ReportContext) -> str:
    """Counts per system and calculator; the newest cell relaxation of each phase with its lattice."""
    counts, cells = [], []
    for system, by_calc in ctx.groups.items():
        for calc, docs in by_calc.items():
            statics = sum(d.n_steps == 0 for d in docs)
            counts.append([system, calc, str(len(docs)), str(statics), str(sum(not d.converged for d in docs))])
            newest: dict[str, RelaxDocument] = {}
            for d in docs:  # newest first
                if d.relax_cell:
                    newest.setdefault(d.formula, d)
            for formula, d in sorted(newest.items()):
                lat = d.structure.lattice
                cells.append([system, calc, formula, ctx.fmt(d.energy_per_atom, 4),
                              " / ".join(ctx.fmt(x, 3) for x in (lat.a, lat.b, lat.c)),
                              ctx.fmt(max(map(abs, d.stress_gpa)), 3), ctx.fmt(d.max_force, 3), ctx.status(d)])
    parts = [ctx.table(["system", "calculator", "calculations", "of which static", "not converged"], counts)]
    if cells:
        parts.append("Cell relaxations (newest per phase):\n\n" + ctx.table(
            ["system", "calculator", "formula", "E (eV/atom)", "a / b / c (Å)", "max |σ| (GPa)",
             "max force (eV/Å)", "status"], cells))
    bad = [f"- {s}, {c}: {d.formula} ({d.n_atoms} atoms, {'cell + ions' if d.relax_cell else 'ions'}), "
           f"max force {d.max_force:.3f} eV/Å after {d.n_steps} steps (fmax {d.fmax})"
           for s, c, d in ctx.flagged]
    if bad:
        more = f"\n- … and {len(bad) - MAX_LISTED} more (`atomflow query relax`)" if len(bad) > MAX_LISTED else ""
        parts.append("Not converged (their energies enter no summary):\n\n" + "\n".join(bad[:MAX_LISTED]) + more)
    return "\n\n".join(parts)


RELAX = register_property(Property(
    name="relax", document=RelaxDocument, row=relax_row, title="Relaxations and static calculations",
    accessor="relaxations", section=relax_section,
))
