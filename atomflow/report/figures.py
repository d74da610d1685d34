"""PNG figures of the report: NEB profiles (Fig. 2E), stress–strain curves (Fig. 2F), Young's moduli."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from atomflow.reference import YOUNGS  # noqa: E402
from atomflow.report.collect import SYSTEMS, StudyResults  # noqa: E402

_STYLES = ["-", "--", ":", "-."]


def neb_profiles(study: StudyResults, path: Path) -> Path | None:
    systems = [s for s in SYSTEMS if study.barriers.get(s)]
    if not systems:
        return None
    fig, axes = plt.subplots(1, len(systems), figsize=(5.2 * len(systems), 4), squeeze=False)
    for ax, system in zip(axes[0], systems):
        for c, (calc, hops) in enumerate(sorted(study.barriers[system].items())):
            for h, (name, doc) in enumerate(sorted(hops.items())):
                colour = f"C{h % 10}"
                ax.plot(doc.spline_x, doc.spline_y, _STYLES[c % 4], color=colour, lw=1.2)
                ax.plot(doc.reaction_coordinate, doc.image_energies, "o", color=colour, ms=4,
                        label=f"{name} ({calc}): {doc.forward_barrier:.2f} eV"
                              + ("" if doc.converged else " NOT CONVERGED"))
        label, stand_in = study.labels.get(system, (system, False))
        ax.set_title(f"{system}{' (stand-in)' if stand_in else ''}", fontsize=10)
        ax.set_xlabel("reaction coordinate (Å)")
        ax.set_ylabel("E − E(initial) (eV)")
        ax.legend(fontsize=7)
    fig.suptitle("Na-vacancy CI-NEB profiles (markers: images; lines: spline)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def stress_strain(study: StudyResults, path: Path) -> Path | None:
    systems = [s for s in SYSTEMS if any(d.stress_strain_curves for d in study.elastic.get(s, {}).values())]
    if not systems:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for s_i, system in enumerate(systems):
        for c, (calc, doc) in enumerate(sorted(study.elastic[system].items())):
            for curve in doc.stress_strain_curves.values():
                strain = 100 * np.asarray(curve.strains)
                # ASE sign: tensile positive, so the uniaxial stress is plotted as it is.
                ax.plot(strain, curve.stress_gpa, _STYLES[c % 4], marker="o", ms=3, color=f"C{s_i}",
                        label=f"{system} {curve.label} ({calc})")
    ax.set_xlabel("uniaxial strain (%)")
    ax.set_ylabel("stress along the strain (GPa)")
    ax.set_title("Stress–strain, relaxed ions (slope = C11 for uniaxial strain)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def youngs_moduli(study: StudyResults, path: Path) -> Path | None:
    systems = [s for s in SYSTEMS if study.elastic.get(s)]
    if not systems:
        return None
    calcs = study.calculators
    bars = ["paper"] + [f"{calc} {avg}" for calc in calcs for avg in ("Voigt", "Hill", "Reuss")]
    width = 0.8 / len(bars)
    fig, ax = plt.subplots(figsize=(1.2 + 2.4 * len(systems), 4.2))
    x = np.arange(len(systems))
    for b, bar in enumerate(bars):
        values = []
        for system in systems:
            if bar == "paper":
                values.append(YOUNGS[system].paper if system in YOUNGS else np.nan)
                continue
            calc, avg = bar.rsplit(" ", 1)
            doc = study.elastic[system].get(calc)
            value = getattr(doc, f"youngs_modulus_{avg.lower()}", None) if doc else None
            values.append(np.nan if value is None else value)
        ax.bar(x + (b - (len(bars) - 1) / 2) * width, values, width, label=bar,
               color="k" if bar == "paper" else None, alpha=1.0 if bar == "paper" else 0.85)
    ax.set_xticks(x, [f"{s}{' (stand-in)' if study.labels.get(s, ('', False))[1] else ''}" for s in systems])
    ax.set_ylabel("Young's modulus (GPa)")
    ax.set_title("Young's moduli: paper vs atomflow (Voigt / Hill / Reuss averages)", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
