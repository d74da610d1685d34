"""The "vacancy" property: vacancy formation energies (:class:`VacancyDocument`), table and report section."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from atomflow.properties import Property, ReportContext, common_columns, register_property
from atomflow.vacancy.document import VacancyDocument


def vacancy_row(doc: VacancyDocument) -> dict[str, Any]:
    lo, hi = doc.e_f_range or (None, None)
    return {**common_columns(doc), "species": doc.species, "n_sites": len(doc.sites), "E_f_min_eV": doc.e_f_min,
            "mu_eV": doc.mu, "mu_source": doc.mu_source, "E_f_range_eV": (lo, hi) if doc.e_f_range else None,
            "E_schottky_eV": doc.schottky.e_schottky if doc.schottky else None, "n_atoms": doc.n_atoms}


def vacancy_section(ctx: ReportContext) -> str:
    """E_f per host, calculator and μ source; committee values over trusted documents only."""
    f = ctx.fmt
    rows = []
    for s, c, d in ctx.items():
        e_range = f"{f(d.e_f_range[0])} to {f(d.e_f_range[1])}" if d.e_f_range else "—"
        rows.append([s, c, d.species, d.mu_source, f(d.mu, 3), str(len(d.sites)), f(d.e_f_min, 3), e_range,
                     f(d.schottky.e_schottky, 3) if d.schottky else "—", str(d.n_atoms), ctx.status(d)])
    parts = ["E_f = E_d + n·μ − E_p at every symmetry-distinct site; E_f is the lowest site's, eV. In an ionic "
             "host the neutral vacancy is not the physical defect: the Schottky pair is the value to compare "
             "with experiment.",
             ctx.table(["system", "calculator", "species", "μ source", "μ (eV/atom)", "sites", "E_f (eV)",
                        "E_f range, poor → rich (eV)", "Schottky (eV)", "supercell atoms", "status"], rows)]
    committee = []
    for system, by_calc in ctx.groups.items():
        by_source: dict[str, dict[str, VacancyDocument]] = defaultdict(dict)
        for calc, docs in by_calc.items():
            for d in docs:
                if ctx.trusted(d):
                    by_source[d.mu_source].setdefault(calc, d)
        for source, by in sorted(by_source.items()):
            if len(by) > 1:
                v = [d.e_f_min for d in by.values()]
                committee.append(f"- {system}, μ from {source}: E_f {statistics.fmean(v):.2f} ± "
                                 f"{(max(v) - min(v)) / 2:.2f} eV over {', '.join(sorted(by))}")
    if committee:
        parts.append("Committee of calculators (mean ± half range; converged, unflagged results only):\n\n"
                     + "\n".join(committee))
    if ctx.flagged_text():
        parts.append(ctx.flagged_text())
    return "\n\n".join(parts)


VACANCY = register_property(Property(
    name="vacancy", document=VacancyDocument, row=vacancy_row, title="Vacancy formation energies",
    accessor="vacancy_energies", section=vacancy_section,
))
