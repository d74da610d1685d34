"""From barriers and attempt frequencies to D and σ: a pure function of numbers and one structure.

>>> doc = analyse_transport(nacl, "Na", [HopKinetics(name="0->1", site_a=0, site_b=1, forward_barrier=0.8,
...                                                  reverse_barrier=0.8, nu_star_hz=2e12)],
...                         [CarrierModel(kind="extrinsic", density_cm3=1e17)])

Steps: hops → full network by symmetry (:mod:`atomflow.transport.network`) → the vacancy's D_v tensor and the
tracer correlation f (:mod:`atomflow.transport.solver`, onsager) → per carrier model c_v(T), D* = f c_v D_v,
σ = n_sites q² c_v D_v / kT (H_R = f) over the temperature table → Arrhenius fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pymatgen.core import Structure

from atomflow.documents.provenance import Provenance
from atomflow.errors import InputError
from atomflow.transport.arrhenius import DEFAULT_TEMPERATURES, fit_arrhenius
from atomflow.transport.carriers import DILUTE_LIMIT, CarrierModel, check_temperatures, nernst_einstein
from atomflow.transport.document import (
    DEFAULT_NU_STAR_HZ,
    ArrheniusRow,
    CarrierResult,
    HopKinetics,
    HopRate,
    TransportDocument,
)
from atomflow.transport.network import HopSpec, build_network, check_structure
from atomflow.transport.solver import NetworkSolver, tracer_tensor
from atomflow.transport.units import A2_TO_CM2, A3_TO_CM3, KB_EV


def _mat(a: np.ndarray, scale: float = 1.0) -> list[list[float]]:
    return [[float(x) * scale for x in row] for row in a]


def _correlation_table(solver: NetworkSolver, all_t: np.ndarray, net, notes: list[str]) -> list:
    """f at every temperature: computed at the reference T and at the lowest, middle and highest table T
    (each VacancyMediated solution costs seconds for a large cell), linear in 1/T in between."""
    if len(solver.kept) == 1 and len(net.sitelist) == 1:  # one rate: f is a number of the lattice alone
        f = solver.correlation(float(all_t[0]))
        return [f] * len(all_t)
    table = np.sort(all_t[1:])
    nodes = sorted({float(all_t[0]), float(table[0]), float(table[-1]),
                    float(table[np.argmin(np.abs(1 / table - 0.5 * (1 / table[0] + 1 / table[-1])))])})
    exact = {t: solver.correlation(t) for t in nodes}
    if any(f is None for f in exact.values()):
        return [None] * len(all_t)
    x = np.array([1.0 / t for t in nodes])[::-1]  # ascending 1/T
    stack = np.array([exact[t] for t in nodes])[::-1]
    if len(all_t) > len(nodes):
        notes.append("tracer correlation f computed at " + ", ".join(f"{t:.0f}" for t in nodes)
                     + " K and interpolated linearly in 1/T in between")
    return [exact.get(float(t)) if float(t) in exact else
            np.array([[np.interp(1.0 / t, x, stack[:, i, j]) for j in range(3)] for i in range(3)])
            for t in all_t]


def analyse_transport(structure: Structure, species: str, hops: Sequence[HopKinetics | dict],
                      carriers: Sequence[CarrierModel | dict], *,
                      temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
                      reference_temperature: float = 300.0, charge: float = 1.0, symprec: float = 0.1,
                      label: str | None = None, stand_in: bool = False,
                      provenance: Provenance | None = None, calculator: dict[str, Any] | None = None,
                      correlation: bool = True, no_carriers: bool = False) -> TransportDocument:
    """Vacancy-mediated D and σ of ``species`` in ``structure`` for each carrier model.

    Args:
        structure: the cell the hop indices refer to (ordered; vacant structural sites removed).
        hops: the distinct hops (barriers eV, ν* Hz); equivalent hops are found by symmetry.
        carriers: the carrier models to evaluate (at least one; never implicit).
        temperatures: K, the Arrhenius table (default 250–1000 K every 50 K).
        reference_temperature: K, for the single-number results (300 K).
        charge: carrier charge in e.
        provenance / calculator: where the barriers came from (calculator dict if no provenance).
        correlation: compute the tracer correlation f (onsager VacancyMediated; seconds to minutes for
            many sites per cell); False: f not computed, D* given as its upper bound (flagged).
        no_carriers: allow an empty ``carriers`` (the caller found none applies and flags why, e.g. a
            calculator's E_f ≤ 0): the document then has D_v and the jump rates only, no σ.

    Raises:
        InputError: T ≤ 0; a carrier density above the site density; no carrier model; a structure or hop the
            solver cannot handle (named, with why).
    """
    temps = check_temperatures(temperatures)
    t_ref = float(check_temperatures([reference_temperature])[0])
    if not carriers and not no_carriers:
        raise InputError("State at least one carrier model (thermal, extrinsic or structural): the "
                         "conductivity depends on the vacancy concentration, which is never implicit.")
    hops_in = [HopKinetics.model_validate(h) for h in hops]
    models = [CarrierModel.model_validate(c) for c in carriers]
    check_structure(structure, species, label)
    n_sites = sum(1 for s in structure if s.specie.symbol == species)
    site_density = n_sites / (structure.volume * A3_TO_CM3)
    for m in models:
        m.check(site_density, species)

    flags: list[str] = []
    notes: list[str] = []
    specs = []
    for h in hops_in:
        nu = h.nu_star_hz if h.nu_star_hz is not None else DEFAULT_NU_STAR_HZ
        if h.nu_star_hz is None:
            flags.append(f"hop {h.name}: ν* = {DEFAULT_NU_STAR_HZ:.0e} Hz assumed (no attempt frequency given)")
        elif not h.nu_star_hz > 0:
            raise InputError(f"Hop {h.name}: attempt frequency must be positive (Hz), got {h.nu_star_hz}.")
        flags += [f"hop {h.name}: {f}" for f in h.flags]
        specs.append(HopSpec(name=h.name, site_a=h.site_a, site_b=h.site_b, image=h.image or (0, 0, 0),
                             forward_barrier=h.forward_barrier, reverse_barrier=h.reverse_barrier,
                             nu_star_hz=nu if h.usable else None, expected_length=h.length))
        if h.image is None:  # let resolve_hop pick the nearest image
            specs[-1].image = None
    net = build_network(structure, species, specs, symprec=symprec, label=label)
    flags += net.flags
    notes += net.notes
    solver = NetworkSolver(net)

    # the vacancy's walk and the tracer correlation at every temperature
    all_t = np.concatenate([[t_ref], temps])
    d_v, resolved = [], True
    for t in all_t:
        d, ok = solver.vacancy_diffusivity(float(t))
        resolved &= ok
        d_v.append(d)
    if not correlation and solver.correlation_reason is None:
        solver.correlation_reason = "switched off (correlation=False)"
    f_t = _correlation_table(solver, all_t, net, notes)
    if not resolved:
        flags.append("rates span so many orders of magnitude that D_v along some percolating direction is "
                     "below the floating-point resolution of the bias correction: that D is not resolved")
    reason = solver.correlation_reason
    if reason is None:
        method = "onsager VacancyMediated (Green function, dilute vacancy, tracer = isotope of the host)"
    elif net.percolation_dimension == 1 and solver.kept:
        method = "single-file limit: f = 0"
        flags.append(f"tracer correlation: {reason}")
    else:
        method = "not computed"
        flags.append(f"tracer correlation not computed: {reason}; D* given as the uncorrelated upper bound "
                     "c_v D_v (f = 1)")

    d_ref, f_ref = d_v[0], f_t[0]
    star_ref = tracer_tensor(d_ref, f_ref)  # D*/c_v, Å²/s
    tr_d = np.trace(d_ref)
    corr = None if f_ref is None else (float(np.trace(star_ref) / tr_d) if tr_d > 0 else 0.0)
    if corr is not None and net.percolation_dimension == 1:
        corr = 0.0
    d_scalar = np.array([np.trace(d) / 3.0 for d in d_v])  # Å²/s
    mig = fit_arrhenius(temps, d_scalar[1:] * A2_TO_CM2)

    results = []
    for m in models:
        c_all = m.site_fraction_at(all_t, site_density)
        rows = []
        for k, t in enumerate(all_t):
            star = None if f_t[k] is None else np.trace(tracer_tensor(d_v[k], f_t[k])) / 3.0 * c_all[k]
            rows.append(ArrheniusRow(
                temperature=float(t), site_fraction=float(c_all[k]), density_cm3=float(c_all[k] * site_density),
                tracer_diffusivity=None if star is None else float(star * A2_TO_CM2),
                charge_diffusivity=float(c_all[k] * d_scalar[k] * A2_TO_CM2),
                conductivity=nernst_einstein(c_all[k] * site_density, d_scalar[k], float(t), charge)))
        ref, table = rows[0], rows[1:]
        fit = fit_arrhenius(temps, [r.conductivity * r.temperature for r in table])
        if np.max(c_all) > DILUTE_LIMIT:
            flags.append(f"{m.name()}: c_v up to {np.max(c_all):.3g} > {DILUTE_LIMIT} — the solution is for "
                         "dilute, non-interacting vacancies; at this concentration it is an extrapolation")
        results.append(CarrierResult(
            model=m, name=m.name(), site_fraction=ref.site_fraction, density_cm3=ref.density_cm3,
            tracer_diffusivity=ref.tracer_diffusivity,
            tracer_diffusivity_upper=float(ref.site_fraction * d_scalar[0] * A2_TO_CM2),
            tracer_tensor=None if f_ref is None else _mat(star_ref, ref.site_fraction * A2_TO_CM2),
            conductivity=ref.conductivity, activation_energy=None if fit is None else fit.activation_energy,
            fit=fit, table=table))

    rates = solver.jump_rates(t_ref)
    count = {k: 0 for k in range(len(specs))}
    for c in solver.kept:
        count[c.hop] += len(c.jumps)
    hop_rates = []
    for k, (h, s) in enumerate(zip(hops_in, specs)):
        usable = s.nu_star_hz is not None
        kt = KB_EV * t_ref
        hop_rates.append(HopRate(
            name=h.name, site_a=s.site_a, site_b=s.site_b, image=s.image, length=s.length,
            forward_barrier=h.forward_barrier, reverse_barrier=h.reverse_barrier,
            nu_star_hz=s.nu_star_hz, nu_star_assumed=h.nu_star_hz is None,
            nu_star_source=h.nu_star_source or ("assumed default" if h.nu_star_hz is None else "given"),
            rate_hz=float(rates[k]) if usable else None,
            rate_reverse_hz=float(s.nu_star_hz * np.exp(-h.reverse_barrier / kt)) if usable else None,
            jumps_per_cell=count[k]))
    notes.append("D_v: long-time diffusion tensor of one vacancy on the network (onsager Interstitial); D*: "
                 "tracer, D* = f c_v D_v; D_σ = c_v D_v; σ = n_sites q² D_σ / kT (Nernst–Einstein with "
                 "H_R = D*/D_σ = f for one isolated vacancy). Scalars are orientational averages (trace/3).")
    notes.append("Rates Γ = ν* exp(−E_a/kT): harmonic TST with the static barrier; no migration entropy beyond "
                 "ν*, no vacancy pairs or vacancy–impurity association.")
    prov = provenance or Provenance(calculator=calculator or {"name": "given"},
                                    settings={}, structure_label=label, stand_in=stand_in)
    prov.settings.update({"transport_symprec": symprec, "reference_temperature": t_ref,
                          "temperatures": [float(t) for t in temps], "default_nu_star_hz": DEFAULT_NU_STAR_HZ})
    return TransportDocument(
        formula=structure.composition.reduced_formula, species=species, structure=structure, label=label,
        stand_in=stand_in, reference_temperature=t_ref, temperatures=[float(t) for t in temps], charge=charge,
        site_density_cm3=site_density, hops=hop_rates, percolation_dimension=net.percolation_dimension,
        percolating_directions=_mat(net.percolating_directions), n_components=net.n_components,
        vacancy_diffusivity=float(d_scalar[0] * A2_TO_CM2), vacancy_diffusivity_tensor=_mat(d_ref, A2_TO_CM2),
        migration_fit=mig, correlation_factor=corr,
        correlation_tensor=None if f_ref is None else _mat(f_ref), correlation_method=method,
        correlation_note=reason, haven_ratio=corr, carriers=results, flags=flags, notes=notes, provenance=prov)
