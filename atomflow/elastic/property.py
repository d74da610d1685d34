"""The "elastic" property: elastic tensors and moduli (:class:`ElasticDocument`), its table, section and figure."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from atomflow.elastic.document import ElasticDocument
from atomflow.properties import Property, ReportContext, common_columns, register_property


def elastic_row(doc: ElasticDocument) -> dict[str, Any]:
    c = doc.elastic_tensor_gpa
    return {**common_columns(doc), "C11_GPa": c[0][0], "C12_GPa": c[0][1], "C44_GPa": c[3][3],
            "K_VRH_GPa": doc.k_vrh, "G_VRH_GPa": doc.g_vrh, "E_voigt_GPa": doc.youngs_modulus_voigt,
            "E_reuss_GPa": doc.youngs_modulus_reuss, "E_hill_GPa": doc.youngs_modulus_hill,
            "mechanically_stable": doc.mechanically_stable}


def elastic_section(ctx: ReportContext) -> str:
    """Every tensor's main constants and moduli; a committee line per system over its trusted tensors only."""
    f = ctx.fmt
    rows = []
    for system, calc, d in ctx.items():
        c = d.elastic_tensor_gpa
        rows.append([system, calc, d.crystal_system or "—", "relaxed" if d.relax_ions else "clamped", f(c[0][0], 1), f(c[0][1], 1), f(c[3][3], 1),
                     f(d.k_vrh, 1), f(d.g_vrh, 1),
                     f"{f(d.youngs_modulus_voigt, 1)} / {f(d.youngs_modulus_hill, 1)} / "
                     f"{f(d.youngs_modulus_reuss, 1)}", f(d.fit_residual_gpa, 3), ctx.status(d)])
    parts = ["Stress–strain fits; constants and moduli in GPa, Voigt order; E averages from K and G.",
             ctx.table(["system", "calculator", "crystal system", "ions", "C11", "C12", "C44", "K_VRH", "G_VRH",
                        "E Voigt / Hill / Reuss", "fit residual", "status"], rows)]
    committee = []
    for system, by_calc in ctx.groups.items():
        newest = {calc: docs[0] for calc, docs in by_calc.items()}
        good = {calc: d for calc, d in newest.items() if ctx.trusted(d) and d.youngs_modulus_hill is not None}
        if len(good) > 1:
            values = [d.youngs_modulus_hill for d in good.values()]
            committee.append(f"- {system}: E_Hill {statistics.fmean(values):.1f} ± "
                             f"{(max(values) - min(values)) / 2:.1f} GPa (mean ± half range over "
                             f"{', '.join(sorted(good))})")
    if committee:
        parts.append("Committee of calculators (converged, unflagged, stable tensors only):\n\n"
                     + "\n".join(committee))
    if ctx.flagged_text():
        parts.append(ctx.flagged_text())
    return "\n\n".join(parts)


def elastic_figures(ctx: ReportContext, out: Path) -> list[Path]:
    """Stress–strain curves of every tensor that has them (the paper's Fig. 2F shows the one along x)."""
    from atomflow.report.figures import STYLES, pyplot, save

    curves = [(s, c, d) for s, c, d in ctx.items() if d.stress_strain_curves]
    if not curves:
        return []
    import numpy as np

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    colours = {s: f"C{i % 10}" for i, s in enumerate(ctx.systems)}
    calcs = ctx.calculators
    for system, calc, doc in curves:
        for curve in doc.stress_strain_curves.values():
            # ASE sign: tensile positive, so the uniaxial stress is plotted as it is.
            ax.plot(100 * np.asarray(curve.strains), curve.stress_gpa, STYLES[calcs.index(calc) % 4], marker="o",
                    ms=3, color=colours[system], label=f"{system} {curve.label} ({calc})"
                    + ("" if ctx.trusted(doc) else " FLAGGED"))
    ax.set_xlabel("uniaxial strain (%)")
    ax.set_ylabel("stress along the strain (GPa)")
    ax.set_title("Stress–strain (slope = C_jj for uniaxial strain)", fontsize=10)
    ax.legend(fontsize=7)
    return [save(fig, out / "stress_strain.png")]


ELASTIC = register_property(Property(
    name="elastic", document=ElasticDocument, row=elastic_row, title="Elastic tensors", accessor="elastic",
    section=elastic_section, figures=elastic_figures,
))
