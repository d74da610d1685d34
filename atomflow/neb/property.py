"""The "barrier" property: CI-NEB vacancy-hop barriers (:class:`MigrationDocument`), table, section, figure."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from atomflow.neb.document import MigrationDocument
from atomflow.properties import Property, ReportContext, common_columns, register_property


def barrier_row(doc: MigrationDocument) -> dict[str, Any]:
    return {**common_columns(doc), "hop": doc.name, "hop_length_A": doc.hop_length,
            "forward_barrier_eV": doc.forward_barrier, "reverse_barrier_eV": doc.reverse_barrier,
            "delta_e_eV": doc.delta_e, "n_force_calls": doc.n_force_calls}


def barrier_section(ctx: ReportContext) -> str:
    """Every computed hop; per system the lowest trusted barrier and committee values of trusted hops."""
    f = ctx.fmt
    rows = [[s, c, d.name, f(d.hop_length), f(d.forward_barrier, 3), f(d.reverse_barrier, 3), f(d.delta_e, 3),
             str(d.n_images), str(d.n_force_calls), ctx.status(d)] for s, c, d in ctx.items()]
    parts = [ctx.table(["system", "calculator", "hop", "length (Å)", "forward (eV)", "reverse (eV)", "ΔE (eV)",
                        "images", "force calls", "status"], rows)]
    summary = []
    for system, by_calc in ctx.groups.items():
        hops: dict[str, dict[str, MigrationDocument]] = defaultdict(dict)  # hop → calculator → newest trusted
        for calc, docs in by_calc.items():
            for d in docs:
                if ctx.trusted(d):
                    hops[d.name].setdefault(calc, d)
        if not hops:
            summary.append(f"- {system}: no converged, unflagged hop.")
            continue
        low = min((d for by in hops.values() for d in by.values()), key=lambda d: d.forward_barrier)
        line = (f"- {system}: lowest barrier {low.forward_barrier:.3f} eV (hop {low.name}, "
                f"{ctx.calculator_of(low)})")
        committees = [f"{hop} {statistics.fmean(v):.3f} ± {(max(v) - min(v)) / 2:.3f} eV"
                      for hop, by in sorted(hops.items()) if len(by) > 1
                      for v in [[d.forward_barrier for d in by.values()]]]
        if committees:
            line += "; committee (mean ± half range): " + ", ".join(committees)
        summary.append(line)
    parts.append("Converged, unflagged hops only:\n\n" + "\n".join(summary))
    if ctx.flagged_text():
        parts.append(ctx.flagged_text())
    return "\n\n".join(parts)


def barrier_figures(ctx: ReportContext, out: Path) -> list[Path]:
    """Energy profiles of every hop, one panel per system, images marked (as the paper's Fig. 2E)."""
    from atomflow.report.figures import STYLES, pyplot, save

    if not ctx.documents:
        return []
    plt = pyplot()
    systems = ctx.systems
    fig, axes = plt.subplots(1, len(systems), figsize=(5.2 * len(systems), 4), squeeze=False)
    for ax, system in zip(axes[0], systems):
        for c, (calc, docs) in enumerate(ctx.groups[system].items()):
            for h, doc in enumerate(sorted(docs, key=lambda d: d.name)):
                colour = f"C{h % 10}"
                ax.plot(doc.spline_x, doc.spline_y, STYLES[c % 4], color=colour, lw=1.2)
                ax.plot(doc.reaction_coordinate, doc.image_energies, "o", color=colour, ms=4,
                        label=f"{doc.name} ({calc}): {doc.forward_barrier:.2f} eV"
                              + ("" if ctx.trusted(doc) else " FLAGGED"))
        ax.set_title(f"{system}{' (stand-in)' if ctx.stand_in(system) else ''}", fontsize=10)
        ax.set_xlabel("reaction coordinate (Å)")
        ax.set_ylabel("E − E(initial) (eV)")
        ax.legend(fontsize=7)
    fig.suptitle("Vacancy CI-NEB profiles (markers: images; lines: spline)", fontsize=10)
    return [save(fig, out / "neb_profiles.png")]


BARRIER = register_property(Property(
    name="barrier", document=MigrationDocument, row=barrier_row, title="Migration barriers (CI-NEB)",
    accessor="barriers", section=barrier_section, figures=barrier_figures,
))
