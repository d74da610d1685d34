"""The report's tables and text: every number beside the paper's, with calculator, structure and status."""

from __future__ import annotations

import statistics
from typing import Any, Iterable

from atomflow.reference import BARRIERS, ELASTIC_CONSTANTS, MLIP_CONTEXT, VACANCY, YOUNGS
from atomflow.report.collect import StudyResults

STAND_IN_NOTE = "stand-in structure, not the paper's compound"


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def trusted(doc: Any) -> bool:
    """Only converged, unflagged, stable results enter a committee value; the others show with their flags."""
    return (getattr(doc, "converged", True) is not False and getattr(doc, "mechanically_stable", True) is not False
            and not (getattr(doc, "flags", None) or []))


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


def status(doc: Any) -> str:
    parts = []
    if getattr(doc, "converged", True) is False:
        parts.append("**NOT CONVERGED**")
    if getattr(doc, "mechanically_stable", True) is False:
        parts.append("**MECHANICALLY UNSTABLE**")
    parts += [f"flag: {f}" for f in getattr(doc, "flags", []) or []]
    return "; ".join(parts) or "converged"


def structure_text(study: StudyResults, system: str) -> str:
    label, stand_in = study.labels.get(system, (system, False))
    if stand_in and "stand-in" not in label:
        return f"{label} ({STAND_IN_NOTE})"
    return label


def table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def per_calc(docs: dict[str, Any], render) -> str:
    return "<br>".join(f"{calc}: {render(doc)} ({status(doc)})" for calc, doc in sorted(docs.items()))


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


def hop_table(study: StudyResults) -> str:
    rows = []
    for system, by_calc in study.barriers.items():
        for calc, hops in sorted(by_calc.items()):
            for name, d in sorted(hops.items()):
                rows.append([structure_text(study, system), calc, name, fmt(d.hop_length), fmt(d.forward_barrier, 3),
                             fmt(d.reverse_barrier, 3), fmt(d.delta_e, 3), str(d.n_force_calls), status(d)])
    return table(["structure", "calculator", "hop", "length (Å)", "forward (eV)", "reverse (eV)", "ΔE (eV)",
                  "force calls", "status"], rows)


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
    vals = [d.schottky.e_schottky for d in sch.values() if d.schottky.converged]
    rows.append(["NaCl neutral V_Na (μ_Na = bcc Na; not the physical defect in an ionic crystal)", "—", "—",
                 per_calc({c: v["bcc_Na"] for c, v in nacl.items() if "bcc_Na" in v},
                          lambda d: f"{d.e_f_min:.2f} eV") if nacl else "missing", "—", "—"])
    rows.append([ref.quantity, "—", _ref(ref),
                 per_calc(sch, lambda d: f"{d.schottky.e_schottky:.2f} eV") if sch else "missing", spread(vals),
                 "—"])
    return table(["quantity", "paper", "experiment", "atomflow (per calculator)", "atomflow", "deviation vs paper"],
                 rows)


def _ref(ref) -> str:
    return f"{ref.reference} ({ref.reference_source})" if ref.reference is not None else "—"


# --- the paragraph -----------------------------------------------------------------------------------

def assessment(study: StudyResults) -> str:
    """Where the ML potential agrees with the paper and where it is soft, from the numbers in the tables."""
    agree, soft, other = [], [], []
    for system, ref in YOUNGS.items():
        for calc, d in sorted(study.elastic.get(system, {}).items()):
            if d.youngs_modulus_voigt is None or ref.paper is None:
                continue
            rel = (d.youngs_modulus_voigt - ref.paper) / ref.paper
            text = f"E({system}{', stand-in' if d.provenance.stand_in else ''}) {d.youngs_modulus_voigt:.1f} vs " \
                   f"{ref.paper} GPa with {calc} ({100 * rel:+.0f} %)"
            (agree if abs(rel) <= 0.15 else soft if rel < 0 else other).append(text)
    for calc, hops in sorted(study.barriers.get("NaCl", {}).items()):
        if hops:
            d = min(hops.values(), key=lambda x: x.forward_barrier)
            diff = d.forward_barrier - BARRIERS["NaCl"].paper
            text = (f"NaCl barrier {d.forward_barrier:.2f} vs {BARRIERS['NaCl'].paper} eV (PBE) and 0.80–0.85 eV "
                    f"(exp.) with {calc}")
            (agree if abs(diff) <= 0.1 else soft if diff < 0 else other).append(text)
    for calc, v in sorted(study.vacancy.get("NaCl", {}).items()):
        d = v.get("bcc_Na")
        if d and d.schottky:
            diff = d.schottky.e_schottky - 2.1
            text = f"NaCl Schottky pair {d.schottky.e_schottky:.2f} vs 2.1 eV (exp.) with {calc}"
            (agree if abs(diff) <= 0.3 else soft if diff < 0 else other).append(text)
    lines = []
    if agree:
        lines.append("**Agrees with the paper / experiment** (within 15 % for moduli, 0.1 eV for barriers, 0.3 eV "
                     "for defect energies): " + "; ".join(agree) + ".")
    if soft:
        lines.append("**Softer than the reference**: " + "; ".join(soft) + ".")
    if other:
        lines.append("**Stiffer / higher than the reference**: " + "; ".join(other) + ".")
    lines.append("Na7Sn12 values marked † are computed on a stand-in phase whenever COD 4314129 could not be "
                 "reached; they show the method and the potential's behaviour for a Na–Sn alloy, not the paper's "
                 "compound, so their deviations are not a test of the potential.")
    lines.append("What to expect: " + MLIP_CONTEXT)
    return "\n\n".join(lines)
