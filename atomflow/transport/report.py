"""Report hooks of the transport property: ``row(doc)`` for tables and queries, ``section(docs)`` (Markdown).

The reference values below are those of ../shared/reference/transport.md, each shown with its source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from atomflow.properties import calculator_of
from atomflow.transport.document import TransportDocument
from atomflow.transport.figures import PAPER_SIGMA_S_CM
from atomflow.transport.units import E_CHARGE, KB_EV

DREYFUS_NOWICK = "Dreyfus & Nowick, J. Appl. Phys. 33, 473 (1962)"
#: isolated cation-vacancy jump rate in NaCl: ν₀ exp(−ε_m/kT) per neighbour, ν₀ = 10^(14.1 ± 0.3) s⁻¹,
#: ε_m = 0.80 ± 0.02 eV (the total is 12 ν₀ exp(−ε_m/kT)); ν₀ contains exp(S_m/k)
NACL_NU0_HZ, NACL_EM_EV = 10 ** 14.1, 0.80
#: Schottky pair formation enthalpy of NaCl, eV (same source)
NACL_HS_EV = 2.12
#: Na tracer diffusion in NaCl, D = D0 exp(−Q/kT), cm²/s: (D0, Q eV, source, where it applies)
NACL_TRACER = [
    (33.2, 1.98, "Bénière et al. (1969), intrinsic", "intrinsic"),
    (3.2, 1.78, "Downing & Friauf (1970), 590–690 °C", "intrinsic"),
    (1.59e-3, 1.24, "Bénière et al. (1969), extrinsic", "extrinsic"),
]
ETZEL_MAURER = "Etzel & Maurer, J. Chem. Phys. 18, 1003 (1950)"
#: K at which intrinsic tracer D is compared (inside Downing & Friauf's 863–963 K) and extrinsic D
T_INTRINSIC, T_EXTRINSIC = 900.0, 600.0
PAPER_SOURCE = "paper (seed 001, line 256): Na–Sn interphase, impedance, room temperature"


def _e(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}e}"


def _f(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _system(doc: TransportDocument) -> str:
    name = doc.label or doc.formula
    return name + (" (stand-in)" if doc.stand_in and "stand-in" not in name else "")


def row(doc: TransportDocument) -> dict[str, Any]:
    """One flat record per document (registry hook): the 300 K numbers of every carrier model."""
    out: dict[str, Any] = {
        "formula": doc.formula, "label": doc.label, "stand_in": doc.stand_in, "species": doc.species,
        "calculator": doc.provenance.calculator.get("name"),
        "nu_star_THz": {h.name: None if h.nu_star_hz is None else h.nu_star_hz / 1e12 for h in doc.hops},
        "nu_star_assumed": any(h.nu_star_assumed for h in doc.hops),
        "barriers_eV": {h.name: h.forward_barrier for h in doc.hops},
        "E_migration_eff_eV": None if doc.migration_fit is None else doc.migration_fit.activation_energy,
        "D_vacancy_cm2_s": doc.vacancy_diffusivity, "correlation_factor": doc.correlation_factor,
        "haven_ratio": doc.haven_ratio, "percolation_dimension": doc.percolation_dimension,
        "T_K": doc.reference_temperature, "flags": list(doc.flags),
    }
    out["carriers"] = {c.name: {"site_fraction": c.site_fraction, "density_cm3": c.density_cm3,
                                "D_tracer_cm2_s": c.tracer_diffusivity, "sigma_S_cm": c.conductivity,
                                "E_a_eff_eV": c.activation_energy, "source": c.model.source}
                       for c in doc.carriers}
    return out


def _at(doc: TransportDocument, carrier, temperature: float) -> tuple[float | None, float]:
    """(D*, σ) of a carrier model at a table temperature (nearest row)."""
    r = min(carrier.table, key=lambda r: abs(r.temperature - temperature))
    return r.tracer_diffusivity, r.conductivity


def _nacl_lines(doc: TransportDocument) -> list[str]:
    lines = [f"**{_system(doc)} against experiment** (../shared/reference/transport.md)", ""]
    rows = []
    for h in doc.hops:
        if h.nu_star_hz is None:
            continue
        for t in (300.0, T_INTRINSIC):
            comp = h.nu_star_hz * np.exp(-h.forward_barrier / (KB_EV * t))
            exp_rate = NACL_NU0_HZ * np.exp(-NACL_EM_EV / (KB_EV * t))
            rows.append((f"vacancy jump rate, one neighbour, hop {h.name}, {t:.0f} K (s⁻¹)", _e(comp),
                         _e(exp_rate), f"{DREYFUS_NOWICK}: ν₀ exp(−ε_m/kT), ν₀ = 10^14.1 s⁻¹, ε_m = 0.80 eV"))
        entropy = ("ν* assumed, not computed: no S_m estimate" if h.nu_star_assumed else
                   f"ν₀/ν* = {NACL_NU0_HZ / h.nu_star_hz:.3g} ⇒ S_m/k ≈ {np.log(NACL_NU0_HZ / h.nu_star_hz):.1f} "
                   "if ε_m were equal")
        rows.append((f"prefactor of hop {h.name} (Hz)", _e(h.nu_star_hz) + (" (assumed)" if h.nu_star_assumed
                                                                           else " (harmonic ν*)"),
                     _e(NACL_NU0_HZ), f"{DREYFUS_NOWICK}; {entropy}"))
        rows.append((f"migration barrier of hop {h.name} (eV)", _f(h.forward_barrier, 3), "0.80 ± 0.02",
                     DREYFUS_NOWICK))
    for c in doc.carriers:
        kind = "intrinsic" if c.model.kind == "thermal" else "extrinsic"
        t = T_INTRINSIC if kind == "intrinsic" else T_EXTRINSIC
        d_star, sigma = _at(doc, c, t)
        for d0, q, src, regime in NACL_TRACER:
            if regime == kind:
                rows.append((f"Na tracer D*, {c.name}, {t:.0f} K (cm²/s)", _e(d_star),
                             _e(d0 * np.exp(-q / (KB_EV * t))), f"{src}: {d0:g} exp(−{q} eV/kT)"))
        if kind == "intrinsic":
            rows.append((f"E_a,eff of σT, {c.name} (eV)", _f(c.activation_energy),
                         "1.78–2.04 (tracer); h_m + h_S/2 ≈ 1.86",
                         "Downing & Friauf; Bénière; Rothman; Dreyfus & Nowick"))
        elif c.model.density_cm3 is not None and abs(c.model.density_cm3 - 1e17) / 1e17 < 0.01:
            rows.append((f"σ(300 K), {c.name} (S/cm)", _e(c.conductivity), "~1e-14",
                         f"estimate from the Dreyfus–Nowick rate at {ETZEL_MAURER}'s 1e17 cm⁻³"))
    lines.append(_table(["quantity", "computed", "experiment", "source"], rows))
    lines += ["", "The experimental jump-rate prefactor ν₀ contains exp(S_m/k) (migration entropy), so it is not "
                  "a harmonic ν*: a computed ν* below ν₀ at an equal barrier is expected. Vacancy pairs (30–45 % "
                  "near the melting point, Rothman et al.) and vacancy–impurity association are not modelled.", ""]
    return lines


def _status(doc: TransportDocument, trusted: Callable[[Any], bool]) -> str:
    return "unflagged" if trusted(doc) else f"**flagged** ({len(doc.flags)}: see the network table)"


def _paper_lines(docs: Sequence[TransportDocument], trusted: Callable[[Any], bool]) -> list[str]:
    lines = [f"**What the computed barriers imply for the paper's σ ≈ 0.22 mS/cm at room temperature** "
             f"({PAPER_SOURCE})", ""]
    rows, summary = [], []
    for doc in docs:
        kt = KB_EV * doc.reference_temperature
        d_v = doc.vacancy_diffusivity  # cm²/s
        e_m = None if doc.migration_fit is None else doc.migration_fit.activation_energy
        if d_v > 0:
            n_needed = PAPER_SIGMA_S_CM * kt * E_CHARGE / ((doc.charge * E_CHARGE) ** 2 * d_v)
            frac = n_needed / doc.site_density_cm3
            need = f"{n_needed:.1e} cm⁻³ ({'impossible: ' if frac > 1 else ''}{frac:.1e} of the sites)"
        else:
            n_needed, frac, need = None, None, "none suffices (no percolating network)"
        for c in doc.carriers:
            if c.conductivity > 0:
                ratio = PAPER_SIGMA_S_CM / c.conductivity
                e_needed = None if e_m is None else e_m - kt * np.log(ratio)
                ratio_txt = f"{ratio:.1e}"
            else:
                ratio, ratio_txt, e_needed = None, "∞ (σ = 0)", None
            if e_needed is None:
                e_txt = "—"
            elif e_needed <= 0:
                e_txt = f"none: even a zero barrier falls short (computed {e_m:.2f} eV)"
            else:
                e_txt = f"{e_needed:.2f} eV (computed {e_m:.2f})"
            rows.append((_system(doc), c.name, _e(c.conductivity), ratio_txt, need, e_txt, _status(doc, trusted)))
            if trusted(doc) and ratio is not None:
                low = "below" if ratio > 1 else "above"
                summary.append(f"- {_system(doc)}, {c.name}: σ(300 K) = {c.conductivity:.1e} S/cm, "
                               f"{max(ratio, 1 / ratio):.0e} times {low} the paper's value"
                               + (f"; the barrier would have to be {e_needed:.2f} eV instead of {e_m:.2f} eV"
                                  if e_needed is not None and e_needed > 0 and ratio > 1 else ""))
        if trusted(doc) and n_needed is not None:
            summary.append(f"- {_system(doc)}: at its computed D_v({doc.reference_temperature:.0f} K) = {d_v:.1e} "
                           f"cm²/s the paper's value needs {n_needed:.1e} vacancies per cm³ ("
                           + ("more than there are Na sites: impossible" if frac > 1 else
                              f"{frac:.1e} of the Na sites") + ")")
        elif not trusted(doc):
            summary.append(f"- {_system(doc)}: not summarised — its transport document is flagged "
                           f"({'; '.join(doc.flags[:2])}{' …' if len(doc.flags) > 2 else ''}); the table above "
                           "shows its numbers with that status")
    lines.append(_table(["system", "carriers", "σ(300 K) computed (S/cm)", "paper / computed",
                         "vacancy density needed at the computed D_v", "effective migration barrier needed at "
                         "these carriers", "status"], rows))
    if summary:
        lines += ["", "From the unflagged documents only:", "", *summary]
    lines += ["", "Na–Sn alloys are metallic: an impedance \"ionic conductivity\" of the composite layer may "
                  "include electronic paths and grain boundaries, and bulk NaCl vacancy conduction at 300 K is "
                  "about ten orders of magnitude below it (transport.md, estimate). For the paper's value to be "
                  "bulk vacancy conduction, the carrier density or the barrier would have to be as in the last "
                  "two columns; agreement is not forced.", ""]
    return lines


def _table(header, rows) -> str:
    from atomflow.properties import ReportContext

    return ReportContext.table(header, rows)


def section(docs: Sequence[TransportDocument], figure: str | None = None, *, heading: bool = True,
            trusted: Callable[[Any], bool] | None = None) -> str:
    """The report's transport section (Markdown); ``figure``: relative path of the Arrhenius PNG, if written;
    ``heading``: start with the section's own ``##`` line (the registry's report writes its own);
    ``trusted``: which documents a summarising sentence may cite (default: unflagged ones)."""
    trusted = trusted or (lambda d: not d.flags)
    lines = ["## Ionic transport: from barriers to D and σ", ""] if heading else []
    docs = list(docs)
    if not docs:
        return "\n".join(lines + ["No transport results.", ""])
    hop_rows, net_rows, car_rows = [], [], []
    for doc in docs:
        s = _system(doc)
        for h in doc.hops:
            nu = "no rate" if h.nu_star_hz is None else (f"{h.nu_star_hz / 1e12:.2f}"
                                                         + (" (assumed)" if h.nu_star_assumed else ""))
            hop_rows.append((s, h.name, _f(h.length), _f(h.forward_barrier, 3), nu, _e(h.rate_hz),
                             str(h.jumps_per_cell)))
        net_rows.append((s, calculator_of(doc), str(doc.percolation_dimension),
                         _f(None if doc.migration_fit is None else doc.migration_fit.activation_energy, 3),
                         _e(doc.vacancy_diffusivity), _f(doc.correlation_factor, 4), doc.correlation_method,
                         _f(doc.haven_ratio, 4), "; ".join(doc.flags) or "—"))
        for c in doc.carriers:
            d_star = _e(c.tracer_diffusivity) if c.tracer_diffusivity is not None else \
                f"≤ {_e(c.tracer_diffusivity_upper)} (f not computed)"
            own = [f for f in doc.flags if f.startswith(c.name)]
            car_rows.append((s, c.name, c.model.source or "—", _e(c.site_fraction), _e(c.density_cm3), d_star,
                             _e(c.conductivity), _f(c.activation_energy),
                             "; ".join(own) if own else _status(doc, trusted)))
    t_ref = docs[0].reference_temperature
    lines += [f"Jump rates Γ = ν* exp(−E_a/kT) at {t_ref:.0f} K (vacancy jump B → A; hops equivalent by symmetry "
              "share the rate):", "",
              _table(["system", "hop", "length (Å)", "E_a (eV)", "ν* (THz)", f"Γ({t_ref:.0f} K) (s⁻¹)",
                      "jumps / primitive cell"], hop_rows), "",
              "Network (vacancy walk: onsager Interstitial; tracer correlation: onsager VacancyMediated):", "",
              _table(["system", "calculator", "percolation dim.", "E_m,eff (eV)", f"D_v({t_ref:.0f} K) (cm²/s)",
                      "f", "f from", "Haven ratio", "flags"], net_rows), "",
              f"Carriers, stated, and the results at {t_ref:.0f} K (D* = f c_v D_v; σ by Nernst–Einstein, "
              "σ = n q² D*/(kT H_R) with H_R = f); E_a,eff from ln(σT) over 250–1000 K:", "",
              _table(["system", "carriers", "source", "c_v", "n_v (cm⁻³)", f"D*({t_ref:.0f} K) (cm²/s)",
                      f"σ({t_ref:.0f} K) (S/cm)", "E_a,eff (eV)", "status"], car_rows), ""]
    if figure:
        lines += [f"![Arrhenius plot of σ]({figure})", ""]
    for doc in docs:
        if doc.formula == "NaCl":
            lines += _nacl_lines(doc)
    lines += _paper_lines(docs, trusted)
    notes = sorted({n for d in docs for n in d.notes})
    if notes:
        lines += ["Notes:", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines + [""])

