"""The ranking section of the report (Markdown) and its figure, from the stored documents of any store.

Computed at report time, not stored by a job: the ranking crosses phases and calculators (G_Na comes from the bcc
Na flow of the same calculator; a committee spans several runs), so a job at the end of one flow would see one
calculator and go stale when a phase is rerun or added; from the stored documents it is always current and works
for any store (also one filled by `atomflow run elastic --structure …`). It recomputes no physics: the only
cost is the hop-network analysis (pymatgen-analysis-diffusion), seconds per phase.
"""

from __future__ import annotations

from pathlib import Path

from atomflow.properties import StudyContext
from atomflow.screening import criteria
from atomflow.screening.analysis import RankedRow, committee, lattice_error, rank
from atomflow.screening.gather import READS, applies, gather

_DIM = {0: "none", 1: "1-D", 2: "2-D", 3: "3-D"}


def ranked_rows(study: StudyContext) -> list[RankedRow]:
    """The rows, computed once per report (the section and the figure share them)."""
    if "ranking" not in study.cache:
        documents = {name: study.documents(name) for name in READS}
        study.cache["ranking"] = rank(gather(documents)) if applies(documents) else []
    return study.cache["ranking"]


def _f(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _e(x: float | None) -> str:
    return "—" if x is None else f"{x:.2e}"


def _phase(r: RankedRow) -> str:
    return r.numbers.system + (" †" if r.numbers.stand_in else "")


def ranking_table(rows: list[RankedRow]) -> str:
    from atomflow.properties import ReportContext

    body = []
    for r in rows:
        p = r.numbers
        place = "ref." if p.reference else (str(r.rank) if r.rank is not None else "flagged")
        bounds = f" ({_f(r.g_ratio_bounds[0])}–{_f(r.g_ratio_bounds[1])})" if r.g_ratio_bounds else ""
        ratio = "1 (reference)" if p.reference else f"{_f(r.g_ratio)}{bounds}"
        meets = "—" if p.reference or r.meets_monroe_newman is None else ("yes" if r.meets_monroe_newman
                                                                           else "no")
        perc = "—" if p.e_perc is None else f"{p.e_perc:.3f} ({_DIM.get(p.dimension, '?')})"
        if p.e_perc is not None and p.mechanism_note and p.formula == "Na3SbS4":
            perc += " ‡"
        e_f = _f(p.e_vacancy, 3) + (f" / S {p.e_schottky:.3f}" if p.e_schottky is not None else "")
        sigma = _e(p.sigma_300k) + (f" ({p.sigma_note})" if p.sigma_300k is not None and p.sigma_note else "")
        phon = "—" if p.dynamically_stable is None else ("stable" if p.dynamically_stable else "**UNSTABLE**")
        status = "; ".join(f"**{f}**" for f in r.flags) or "unflagged"
        body.append([place, _phase(r), p.calculator, _f(p.g_hill, 1), ratio, meets, _f(r.pugh),
                     perc, _f(p.e_3d, 3), e_f, sigma, phon, status])
    return ReportContext.table(
        ["rank", "phase", "calculator", "G_Hill (GPa)", "G/G_Na Hill (Reuss, Voigt range)",
         f"≥ {criteria.MONROE_NEWMAN_RATIO:g}", "B/G", "E_perc (eV) (dim.)", "E_3D (eV)",
         "E_f Na vac. / Schottky (eV)", "σ(300 K) (S/cm)", "phonons", "status"], body)


def detail_table(rows: list[RankedRow]) -> str:
    from atomflow.properties import ReportContext

    body = []
    for r in rows:
        p = r.numbers
        lat = "—" if p.a_relaxed is None else f"a {p.a_relaxed:.3f}"
        if p.a_exp is not None:
            lat += f" vs {p.a_exp:.4g} ({lattice_error(p.a_relaxed, p.a_exp):+.1f} %)"
        if p.c_relaxed is not None:
            lat += f"; c {p.c_relaxed:.3f}" + (f" vs {p.c_exp:.4g} ({lattice_error(p.c_relaxed, p.c_exp):+.1f} %)"
                                              if p.c_exp is not None else "")
        vrh = [" / ".join(_f(x, 1) for x in trio) for trio in ((p.k_voigt, p.k_reuss, p.k_hill),
                                                                  (p.g_voigt, p.g_reuss, p.g_hill),
                                                                  (p.e_voigt, p.e_reuss, p.e_hill))]
        born = "—" if p.born_stable is None else ("yes" if p.born_stable else "**NO**")
        hops = ", ".join(f"{n} {b:.3f}" for n, b in p.hop_barriers.items()) or "—"
        body.append([_phase(r), p.calculator, lat, p.lattice_source or "no experimental lattice known here",
                     *vrh, born, hops, p.mu_text or "—"])
    return ReportContext.table(
        ["phase", "calculator", "relaxed vs exp. lattice (Å)", "exp. lattice source", "K V/R/H (GPa)",
         "G V/R/H (GPa)", "E V/R/H (GPa)", "Born stable", "hop barriers, forward (eV)", "chemical potentials"],
        body)


def ranking_section(study: StudyContext) -> str:
    """'' when the store holds no elastic tensor and no barrier (nothing to rank)."""
    rows = ranked_rows(study)
    if not rows:
        return ""
    refs = [r for r in rows if r.numbers.reference]
    g_na = "; ".join(f"{r.numbers.calculator}: {_f(r.numbers.g_hill)} GPa"
                     + (" (**flagged elastic tensor**)" if r.numbers.modulus_flags else "") for r in refs)
    parts = [
        "Per phase and calculator, from the stored documents (nothing recomputed but the hop-network graph). "
        f"Monroe–Newman: G_phase/G_Na ≥ {criteria.MONROE_NEWMAN_RATIO:g} suppresses dendrites "
        f"({criteria.MONROE_NEWMAN_SOURCE}); both shear moduli Hill averages from the SAME calculator, the "
        "range of the Reuss/Reuss and Voigt/Voigt ratios beside. G_Na of bcc Na: "
        + (g_na or "**no bcc Na elastic tensor in this store**")
        + f"; literature: {criteria.NA_SHEAR_MODULUS}. Pugh's ratio B/G (Hill) > {criteria.PUGH_RATIO:g} is "
        f"'ductile' ({criteria.PUGH_SOURCE}). E_perc: the rate-limiting barrier of the percolating Na-vacancy "
        "hop network (largest edge cost on the cheapest path from a site to its periodic image, "
        "pymatgen-analysis-diffusion MigrationGraph.get_path; edge cost = hop saddle above the lowest vacancy "
        "site), its dimension (Larsen, pymatgen) and the threshold for 3-D percolation. E_f: the lowest-site "
        "Na-vacancy formation energy, μ as stated per phase below; S: the Schottky pair (ionic binaries). "
        "σ(300 K): the transport document's thermal carriers where one is stored.",
        "Order: unflagged phases ranked — meeting Monroe–Newman first, then by E_perc (lower first) — then "
        "flagged phases, unranked; no weighted score. ‡: the barrier is not the conduction mechanism (below). "
        "† = a stand-in structure.",
        ranking_table(rows),
        detail_table(rows),
    ]
    spread = []
    ratios, percs = committee(rows, "g_ratio"), committee(rows, "e_perc")
    for system in sorted(set(ratios) | set(percs)):
        bits = [f"G/G_Na {s.mean:.2f} [{s.low:.2f}, {s.high:.2f}]" for s in [ratios.get(system)] if s]
        bits += [f"E_perc {s.mean:.3f} [{s.low:.3f}, {s.high:.3f}] eV" for s in [percs.get(system)] if s]
        n = max(s.n for s in (ratios.get(system), percs.get(system)) if s)
        spread.append(f"- {system}: " + "; ".join(bits) + f" over {n} calculators")
    if spread:
        parts.append("Committee of calculators (mean [min, max]; rows without flags of their own, and for G/G_Na also "
                     "an unflagged bcc Na tensor of that calculator):\n\n" + "\n".join(spread))
    parts.append(_beside(rows))
    flagged = [r for r in rows if r.flags]
    if flagged:
        parts.append("Flagged (not ranked, shown above with their flags):\n\n"
                     + "\n".join(f"- {_phase(r)}, {r.numbers.calculator}: {'; '.join(r.flags)}" for r in flagged))
    return "\n\n".join(parts)


def _beside(rows: list[RankedRow]) -> str:
    """Per phase: mechanism caveats, measured reference values with sources (or 'none known'), network notes."""
    lines = []
    for system in dict.fromkeys(r.numbers.system for r in rows):
        mine = [r for r in rows if r.numbers.system == system]
        p = mine[0].numbers
        refs = criteria.references(p.formula)
        ref_text = ("; ".join(f"{q} {v} ({src})" for q, v, src in refs) if refs
                    else "no measured reference value known here")
        line = f"- {system}: measured: {ref_text}."
        if p.mechanism_note:
            line += f" Vacancy-hop barrier: {p.mechanism_note}."
        notes = list(dict.fromkeys(n for r in mine for n in r.numbers.notes))
        if notes:
            line += " " + "; ".join(notes) + "."
        lines.append(line)
    return "Beside the numbers (per phase):\n\n" + "\n".join(lines)


def ranking_figures(study: StudyContext, out: Path) -> list[Path]:
    from atomflow.screening.figures import ranking_figure

    path = ranking_figure(ranked_rows(study), out / "ranking.png")
    return [path] if path is not None else []
