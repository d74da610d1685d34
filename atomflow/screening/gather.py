"""From stored documents to :class:`~atomflow.screening.analysis.PhaseNumbers`: one per phase and calculator.

``documents``: property name → documents, newest first (as ``Results.query`` and the report give them). A
phase is a structure label (the documents' grouping key); bcc Na (formula Na) is the reference. The newest
document of each kind is used; a bulk relaxation is one with the cell relaxed, the smallest such cell.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from atomflow.properties import calculator_of, default_system_of, flag_list
from atomflow.screening import criteria
from atomflow.screening.analysis import PhaseNumbers
from atomflow.screening.percolation import HopBarrier, percolation

#: the properties the ranking reads (registered names)
READS = ("relax", "elastic", "vacancy", "barrier", "phonons", "transport")


def applies(documents: Mapping[str, Sequence[Any]]) -> bool:
    """A ranking needs at least one phase with an elastic tensor or a hop barrier."""
    return bool(documents.get("elastic") or documents.get("barrier"))


def gather(documents: Mapping[str, Sequence[Any]]) -> list[PhaseNumbers]:
    """Every (phase, calculator) that has an elastic, vacancy or barrier document, bcc Na included."""
    by: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for name in READS:
        for doc in documents.get(name, ()):
            by[(default_system_of(doc), calculator_of(doc))][name].append(doc)
    out = []
    for (system, calc), docs in sorted(by.items()):
        if not (docs.get("elastic") or docs.get("vacancy") or docs.get("barrier")):
            continue  # relaxations only (e.g. μ references, end points of another study): not a phase here
        out.append(phase_numbers(system, calc, docs))
    return out


def phase_numbers(system: str, calc: str, docs: Mapping[str, list[Any]]) -> PhaseNumbers:
    """The numbers of one phase with one calculator from its documents (each list newest first)."""
    elastic = _first(docs.get("elastic"))
    relax = _bulk_relax(docs.get("relax") or [])
    anchor = elastic or relax or _first(docs.get("vacancy")) or _first(docs.get("barrier"))
    formula = getattr(anchor, "formula", system)
    p = PhaseNumbers(system=system, calculator=calc, formula=formula, reference=formula == "Na",
                     stand_in=bool(getattr(getattr(anchor, "provenance", None), "stand_in", False)))
    bulk = relax.structure if relax is not None else (elastic.structure if elastic is not None else None)
    if relax is None:
        p.flags.append("no bulk relaxation stored (failed or not run)")
    elif not relax.converged:
        p.flags.append("bulk relaxation NOT CONVERGED")
    _lattice(p, bulk, system)
    _elastic(p, elastic)
    p.modulus_flags = list(p.flags)  # so far: relaxation and elastic fit only
    _vacancy(p, docs.get("vacancy") or [])
    _barriers(p, docs.get("barrier") or [], bulk)
    _phonons(p, _first(docs.get("phonons")))
    _transport(p, _first(docs.get("transport")))
    p.mechanism_note = criteria.mechanism_note(formula)
    missing = [name for name in ("vacancy", "phonons", "transport") if not docs.get(name)]
    if missing:
        p.notes.append(f"not in the store: {', '.join(missing)} (not run, still running, or failed)")
    return p


def _first(docs: Sequence[Any] | None) -> Any | None:
    return docs[0] if docs else None


def _bulk_relax(relaxes: Sequence[Any]) -> Any | None:
    cells = [d for d in relaxes if getattr(d, "relax_cell", False)]
    if not cells:
        return None
    smallest = min(d.n_atoms for d in cells)
    return next(d for d in cells if d.n_atoms == smallest)  # newest of the unit cells


def _lattice(p: PhaseNumbers, bulk: Any | None, system: str) -> None:
    """Relaxed conventional a (c) and the prototype's experimental one, matched by label, else by formula and
    space group; a phase with no prototype has no experimental lattice here (said, not invented)."""
    if bulk is None:
        return
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    from atomflow.structures.prototypes import PROTOTYPES

    sga = SpacegroupAnalyzer(bulk, symprec=0.1)
    conv = sga.get_conventional_standard_structure()
    proto = next((pr for pr in PROTOTYPES.values()
                  if system == f"{pr.formula} ({pr.structure_type}, {pr.space_group})"), None)
    if proto is None:
        proto = next((pr for pr in PROTOTYPES.values() if pr.formula == p.formula
                      and pr.number == sga.get_space_group_number()), None)
    p.a_relaxed = float(conv.lattice.a)
    if proto is None:
        p.notes.append("no experimental lattice in atomflow's prototypes for this phase")
        return
    p.a_exp, p.lattice_source = proto.a, proto.source
    if proto.lattice_kind == "hexagonal":
        p.c_relaxed, p.c_exp = float(conv.lattice.c), proto.c


def _elastic(p: PhaseNumbers, doc: Any | None) -> None:
    if doc is None:
        p.flags.append("no elastic tensor stored (fit failed or not run)")
        return
    for name in ("k_voigt", "k_reuss", "g_voigt", "g_reuss"):
        setattr(p, name, getattr(doc, name))
    p.k_hill, p.g_hill = doc.k_vrh, doc.g_vrh
    p.e_voigt, p.e_reuss, p.e_hill = doc.youngs_modulus_voigt, doc.youngs_modulus_reuss, doc.youngs_modulus_hill
    p.born_stable = doc.mechanically_stable
    p.flags += [f"elastic: {f}" for f in flag_list(doc)]


def _vacancy(p: PhaseNumbers, docs: Sequence[Any]) -> None:
    """E_f of the lowest Na site (μ from bcc Na preferred, the source stated) and the Schottky pair."""
    if not docs:
        return
    doc = next((d for d in docs if d.mu_source == "bcc_Na"), docs[0])
    p.e_vacancy = doc.e_f_min
    p.mu_text = f"μ_Na = {doc.mu:.3f} eV/atom ({doc.mu_source})"
    if doc.schottky is not None:
        p.e_schottky = doc.schottky.e_schottky
        p.mu_text += "; Schottky pair needs no μ (E_S = E_d − E_p + E_bulk/f.u.)"
    p.flags += [f"vacancy: {f}" for f in flag_list(doc)]


def _barriers(p: PhaseNumbers, docs: Sequence[Any], bulk: Any | None) -> None:
    newest: dict[str, Any] = {}
    for d in docs:
        newest.setdefault(d.name, d)
    if not newest:
        if not p.reference:  # no barrier: the phase cannot be placed on the transport axis
            p.flags.append("no hop barrier stored (NEB failed, not run or still running)")
        return
    p.hop_barriers = {n: d.forward_barrier for n, d in sorted(newest.items())}
    for n, d in sorted(newest.items()):
        p.flags += [f"hop {n}: {f}" for f in flag_list(d)]
    hops = [HopBarrier(name=n, site_a=d.site_a, site_b=d.site_b, image=tuple(d.image or (0, 0, 0)),
                       forward=d.forward_barrier, reverse=d.reverse_barrier, e_initial=d.initial_energy,
                       n_atoms=d.n_atoms, length=d.hop_length)
            for n, d in newest.items() if d.site_a is not None and d.site_b is not None]
    if len(hops) < len(newest):
        p.notes.append("hops given by end points (no site indices) cannot be placed on the network")
    if bulk is None or not hops:
        p.notes.append("no percolation analysis (no relaxed bulk or no indexed hop)")
        return
    species = next(iter(newest.values())).species
    result = percolation(bulk, hops, species=species)
    p.e_perc, p.dimension, p.e_3d = result.barrier, result.dimension, result.barrier_3d
    p.notes += [f"network: {n}" for n in result.notes]
    if result.barrier is not None:
        p.notes.append(f"network: edge cost = {result.cost_kind}; path {' → '.join(result.path)}")
    p.flags += [f"network: {f}" for f in result.flags]


def _phonons(p: PhaseNumbers, doc: Any | None) -> None:
    if doc is None:
        return
    p.dynamically_stable, p.min_frequency = doc.dynamically_stable, doc.min_frequency
    if not doc.dynamically_stable:
        p.flags.append(f"DYNAMICALLY UNSTABLE (lowest mode {doc.min_frequency:.2f} THz)")
    p.flags += [f"phonons: {f}" for f in flag_list(doc) if f != "imaginary_modes"]


def _transport(p: PhaseNumbers, doc: Any | None) -> None:
    """σ at 300 K of the thermal carriers (else the first model); its caveats beside it, not as row flags:
    an assumed ν* is the stated route of the screening (see workflows/interphases.py)."""
    if doc is None or abs(doc.reference_temperature - 300.0) > 1e-6 or not doc.carriers:
        return
    carrier = next((c for c in doc.carriers if c.model.kind == "thermal"), doc.carriers[0])
    p.sigma_300k = carrier.conductivity
    assumed = any(h.nu_star_assumed for h in doc.hops)
    bits = [carrier.name] + (["ν* assumed"] if assumed else [])
    bits += [f for f in flag_list(doc) if "assumed" not in f]
    p.sigma_note = "; ".join(bits)
