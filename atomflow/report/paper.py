"""The comparison with the seed paper: one report section, written when the paper's systems are in the store.

Everything study-specific lives here and in :mod:`atomflow.reference` (the paper's numbers and their sources) and
:mod:`atomflow.report.collect` (which document belongs to which of the paper's systems): tables of every number
beside the paper's, the Young's-moduli figure, and the assessment paragraph. Committee values and every sentence
of the assessment use only :func:`~atomflow.properties.trusted` results; the others are named with their flags.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from atomflow.properties import ReportContext, flag_list, trusted
from atomflow.reference import BARRIERS, ELASTIC_CONSTANTS, MLIP_CONTEXT, VACANCY, YOUNGS
from atomflow.report.collect import SYSTEMS, StudyResults

STAND_IN_NOTE = "stand-in structure, not the paper's compound"
TITLE = "Comparison with the paper: the Na–Sn / NaCl interphase study"

status = ReportContext.status
table = ReportContext.table


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def spread(values: list[float], digits: int = 2) -> str:
    """One value, or mean ± half the range over a committee of calculators."""
    if not values:
        return "—"
    if len(values) == 1:
        return fmt(values[0], digits)
    half_range = (max(values) - min(values)) / 2
    return f"{statistics.fmean(values):.{digits}f} ± {half_range:.{digits}f}"


def deviation(value: float | None, paper: float | None, relative: bool) -> str:
    if value is None or paper is None:
        return "—"
    if relative:
        return f"{100 * (value - paper) / paper:+.0f} %"
    return f"{value - paper:+.2f} eV"


def structure_text(study: StudyResults, system: str) -> str:
    label, stand_in = study.labels.get(system, (system, False))
    if stand_in and "stand-in" not in label:
        return f"{label} ({STAND_IN_NOTE})"
    return label


def per_calc(docs: dict[str, Any], render) -> str:
    return "<br>".join(f"{calc}: {render(doc)} ({status(doc)})" for calc, doc in sorted(docs.items()))


def applies(study: StudyResults) -> bool:
    """True when the store holds an elastic, vacancy or barrier result of one of the paper's systems."""
    return any(system in SYSTEMS for part in (study.elastic, study.vacancy, study.barriers) for system in part)


# --- Young's moduli ----------------------------------------------------------------------------------

def youngs_table(study: StudyResults) -> str:
    rows = []
    for system, ref in YOUNGS.items():
        docs = study.elastic.get(system, {})
        if not docs:
            rows.append([ref.quantity, fmt(ref.paper, 1), _ref(ref), "missing: the elastic flow has not run "
                         "for this system in the store", "—", "—"])
            continue
        voigt = [d.youngs_modulus_voigt for d in docs.values() if d.youngs_modulus_voigt is not None and trusted(d)]
        rows.append([
            ref.quantity + (" †" if study.labels.get(system, ("", False))[1] else ""),
            fmt(ref.paper, 1), _ref(ref),
            per_calc(docs, lambda d: f"E_V {fmt(d.youngs_modulus_voigt, 1)} / E_H {fmt(d.youngs_modulus_hill, 1)}"
                     f" / E_R {fmt(d.youngs_modulus_reuss, 1)}"),
            spread(voigt, 1),
            deviation(statistics.fmean(voigt) if voigt else None, ref.paper, relative=True),
        ])
    return table(["quantity (GPa)", "paper", "experiment / MP", "atomflow (Voigt / Hill / Reuss)",
                  "atomflow E_Voigt", "deviation (E_Voigt vs paper)"], rows)


def elastic_constants_table(study: StudyResults) -> str:
    rows = []
    for system, docs in study.elastic.items():
        ref = ELASTIC_CONSTANTS.get(system)
        for calc, doc in sorted(docs.items()):
            c = doc.elastic_tensor_gpa
            rows.append([structure_text(study, system), calc, fmt(c[0][0], 1), fmt(c[0][1], 1), fmt(c[3][3], 1),
                         "/".join(fmt(v, 1) for v in ref[0]) + f" ({ref[1]})" if ref else "—",
                         fmt(doc.k_vrh, 1), fmt(doc.g_vrh, 1), fmt(doc.zener_anisotropy, 2), status(doc)])
    return table(["structure", "calculator", "C11", "C12", "C44", "reference C11/C12/C44", "K_VRH", "G_VRH",
                  "Zener A", "status"], rows)


# --- barriers ----------------------------------------------------------------------------------------

def barrier_table(study: StudyResults) -> str:
    rows = []
    nacl = study.barriers.get("NaCl", {})
    ref = BARRIERS["NaCl"]
    best = {c: min(h.values(), key=lambda d: d.forward_barrier) for c, h in nacl.items() if h}
    values = [d.forward_barrier for d in best.values() if trusted(d)]
    rows.append([ref.quantity, fmt(ref.paper), _ref(ref),
                 per_calc(best, lambda d: f"{d.forward_barrier:.3f} eV ({d.name}, {d.hop_length:.2f} Å)")
                 if nacl else "missing: no NaCl migration result in the store",
                 spread(values, 3) if values else "—",
                 deviation(statistics.fmean(values) if values else None, ref.paper, relative=False)])
    sn_label, sn_stand_in = study.labels.get("Na7Sn12", ("Na7Sn12", False))
    have_sn = bool(study.barriers.get("Na7Sn12"))
    for key, ref in BARRIERS.items():
        if not key.startswith("Na7Sn12"):
            continue
        hop = key.split(" ", 1)[1]
        found = {c: h[hop] for c, h in study.barriers.get("Na7Sn12", {}).items() if hop in h and not sn_stand_in}
        if found:
            vals = [d.forward_barrier for d in found.values() if trusted(d)]
            rows.append([ref.quantity, fmt(ref.paper), "—", per_calc(found, lambda d: f"{d.forward_barrier:.3f} eV"),
                         spread(vals, 3), deviation(statistics.fmean(vals) if vals else None, ref.paper,
                                                    relative=False)])
        else:
            if not have_sn:
                reason = "missing: no Na7Sn12 migration result in the store"
            elif sn_stand_in:
                reason = ("missing: only a stand-in structure is available, and it has no numbering of the "
                          "paper's Na chains; its own hops are listed below")
            else:
                reason = "missing: set PAPER_PATHS in workflows/paper.py (site indices of the paper's path)"
            rows.append([ref.quantity, fmt(ref.paper), "—", reason, "—", "—"])
    return table(["quantity (eV)", "paper", "experiment", "atomflow (per calculator)", "atomflow",
                  "deviation vs paper"], rows)


# --- vacancies ---------------------------------------------------------------------------------------

def vacancy_table(study: StudyResults) -> str:
    rows = []
    sn = study.vacancy.get("Na7Sn12", {})
    ref = VACANCY["Na7Sn12"]
    bcc = {c: v["bcc_Na"] for c, v in sn.items() if "bcc_Na" in v}
    hull = {c: v[k] for c, v in sn.items() for k in v if k.startswith("hull")}
    vals = [d.e_f_min for d in bcc.values() if trusted(d)]
    label = ref.quantity + (" †" if study.labels.get("Na7Sn12", ("", False))[1] else "")
    rows.append([label, fmt(ref.paper), "—",
                 per_calc(bcc, lambda d: f"{d.e_f_min:.2f} eV (lowest of {len(d.sites)} sites, μ_Na = bcc Na)")
                 if bcc else "missing: no Na7Sn12 vacancy result in the store",
                 spread(vals) if vals else "—",
                 deviation(statistics.fmean(vals) if vals else None, ref.paper, relative=False)])
    if hull:
        rows.append(["… with μ_Na over the calculator's own Na–Sn hull", fmt(ref.paper), "—",
                     per_calc(hull, lambda d: f"E_f {fmt(d.e_f_range[0] if d.e_f_range else None)} to "
                              f"{fmt(d.e_f_range[1] if d.e_f_range else None)} eV (Na-poor → Na-rich)"), "—", "—"])
    nacl = study.vacancy.get("NaCl", {})
    ref = VACANCY["NaCl"]
    sch = {c: v["bcc_Na"] for c, v in nacl.items() if "bcc_Na" in v and v["bcc_Na"].schottky}
    vals = [d.schottky.e_schottky for d in sch.values() if trusted(d) and d.schottky.converged]
    neutral = {c: v["bcc_Na"] for c, v in nacl.items() if "bcc_Na" in v}
    rows.append(["NaCl neutral V_Na (μ_Na = bcc Na; not the physical defect in an ionic crystal)", "—", "—",
                 per_calc(neutral, lambda d: f"{d.e_f_min:.2f} eV") if neutral else
                 "missing: no NaCl vacancy result with μ_Na from bcc Na in the store", "—", "—"])
    rows.append([ref.quantity, "—", _ref(ref),
                 per_calc(sch, lambda d: f"{d.schottky.e_schottky:.2f} eV") if sch else
                 "missing: no NaCl Schottky result with μ_Na from bcc Na in the store", spread(vals),
                 "—"])
    return table(["quantity", "paper", "experiment", "atomflow (per calculator)", "atomflow", "deviation vs paper"],
                 rows)


def _ref(ref) -> str:
    return f"{ref.reference} ({ref.reference_source})" if ref.reference is not None else "—"


# --- the paragraph -----------------------------------------------------------------------------------

#: How close counts as agreement: relative for moduli, absolute (eV) for barriers and defect energies.
AGREE_MODULUS, AGREE_BARRIER, AGREE_DEFECT = 0.15, 0.1, 0.3


def assessment(study: StudyResults) -> str:
    """Where the calculators agree with the paper and where they are soft, from trusted results only.

    A flagged, unconverged or mechanically unstable result never enters a sentence of agreement or softness;
    it is named, with its flags, in a list of its own.
    """
    agree, soft, other, untrusted = [], [], [], []

    def judge(doc: Any, text: str, diff: float, tolerance: float) -> None:
        if not trusted(doc):
            untrusted.append(f"{text}: {'; '.join(flag_list(doc))}")
        else:
            (agree if abs(diff) <= tolerance else soft if diff < 0 else other).append(text)

    for system, ref in YOUNGS.items():
        for calc, d in sorted(study.elastic.get(system, {}).items()):
            if d.youngs_modulus_voigt is None or ref.paper is None:
                continue
            rel = (d.youngs_modulus_voigt - ref.paper) / ref.paper
            judge(d, f"E({system}{', stand-in' if d.provenance.stand_in else ''}) {d.youngs_modulus_voigt:.1f} vs "
                     f"{ref.paper} GPa with {calc} ({100 * rel:+.0f} %)", rel, AGREE_MODULUS)
    for calc, hops in sorted(study.barriers.get("NaCl", {}).items()):
        if hops:
            d = min(hops.values(), key=lambda x: x.forward_barrier)
            judge(d, f"NaCl barrier {d.forward_barrier:.2f} vs {BARRIERS['NaCl'].paper} eV (PBE) and 0.80–0.85 eV "
                     f"(exp.) with {calc}", d.forward_barrier - BARRIERS["NaCl"].paper, AGREE_BARRIER)
    for calc, v in sorted(study.vacancy.get("NaCl", {}).items()):
        d = v.get("bcc_Na")
        if d and d.schottky:
            ref = VACANCY["NaCl"].reference
            judge(d, f"NaCl Schottky pair {d.schottky.e_schottky:.2f} vs {ref} eV (exp.) with {calc}",
                  d.schottky.e_schottky - ref, AGREE_DEFECT)
    lines = []
    if agree:
        lines.append(f"**Agrees with the paper / experiment** (within {100 * AGREE_MODULUS:.0f} % for moduli, "
                     f"{AGREE_BARRIER} eV for barriers, {AGREE_DEFECT} eV for defect energies): "
                     + "; ".join(agree) + ".")
    if soft:
        lines.append("**Softer than the reference**: " + "; ".join(soft) + ".")
    if other:
        lines.append("**Stiffer / higher than the reference**: " + "; ".join(other) + ".")
    if untrusted:
        lines.append("**Not compared** (flagged, unconverged or unstable: no conclusion is drawn from these):\n\n"
                     + "\n".join(f"- {t}" for t in untrusted))
    if not (agree or soft or other):
        lines.append("No converged, unflagged result of the paper's quantities is in the store yet.")
    lines.append("Na7Sn12 values marked † are computed on a stand-in phase whenever COD 4314129 could not be "
                 "reached; they show the method and the potential's behaviour for a Na–Sn alloy, not the paper's "
                 "compound, so their deviations are not a test of the potential.")
    lines.append("What to expect: " + MLIP_CONTEXT)
    return "\n\n".join(lines)


# --- the figure ----------------------------------------------------------------------------------------

def youngs_figure(study: StudyResults, path: Path) -> Path | None:
    """Young's moduli of the paper's systems: the paper's bar beside every calculator's three averages."""
    from atomflow.report.figures import pyplot, save

    import numpy as np

    systems = [s for s in SYSTEMS if study.elastic.get(s)]
    if not systems:
        return None
    plt = pyplot()
    calcs = sorted({c for s in systems for c in study.elastic[s]})
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
            value = getattr(doc, f"youngs_modulus_{avg.lower()}", None) if doc and trusted(doc) else None
            values.append(np.nan if value is None else value)  # flagged tensors are not drawn
        ax.bar(x + (b - (len(bars) - 1) / 2) * width, values, width, label=bar,
               color="k" if bar == "paper" else None, alpha=1.0 if bar == "paper" else 0.85)
    ax.set_xticks(x, [f"{s}{' (stand-in)' if study.labels.get(s, ('', False))[1] else ''}" for s in systems])
    ax.set_ylabel("Young's modulus (GPa)")
    ax.set_title("Young's moduli: paper vs atomflow (Voigt / Hill / Reuss; trusted tensors only)", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    return save(fig, path)


# --- the section ---------------------------------------------------------------------------------------

def section(study: StudyResults, out: Path) -> str:
    """The whole comparison with the paper as one Markdown section (``##`` headings inside are ``###``)."""
    youngs = youngs_figure(study, out / "youngs_moduli.png")
    caption = "Young's moduli, paper vs atomflow (Voigt / Hill / Reuss)"
    figure = f"![{caption}]({youngs.name})\n\n*{caption}*" if youngs else f"*{caption}: no data in the store.*"
    structures = "\n".join(f"- {system}: {structure_text(study, system)}" for system in study.labels)
    return f"""## {TITLE}

Paper values: VASP/PBE (see ../shared/reference/paper.md). A committee of calculators shows mean ± half range over
its converged, unflagged, stable results; flagged results are listed with their flags, never averaged in.

Structures:
{structures}

† = computed on a stand-in structure, not the paper's compound.

### Young's moduli

The paper does not say which average it used; its Na value (10.9 GPa) matches a Voigt-type average, so the
deviation column compares E_Voigt. All three averages are listed.

{youngs_table(study)}

{figure}

### Elastic constants (GPa, relaxed ions, stress–strain fit)

{elastic_constants_table(study)}

The stress–strain curves (the paper's Fig. 2F) are in the elastic-tensor section.

### Na-vacancy migration barriers (CI-NEB, 5 images, k = 5 eV/Å², fmax 0.01 eV/Å)

{barrier_table(study)}

Every computed hop and the energy profiles (the paper's Fig. 2E) are in the migration-barrier section.

### Na-vacancy formation energy, E_f = E_d + n·μ − E_p

A neutral Na vacancy in NaCl computed with an ML potential is not the physical (charged) defect; the Schottky pair
(one Na and one Cl removed, μ_NaCl = bulk energy per formula unit) is, and is the value to compare with experiment.

{vacancy_table(study)}

### Where the calculators agree with the paper and where they are soft

{assessment(study)}
"""
