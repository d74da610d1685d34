"""Chemical potentials of the removed species: pure functions of relaxed energies (eV).

Four sources (the document's ``mu_source`` says which was used):

* ``host_bulk`` — μ = energy per atom of the relaxed host itself, for an elemental host (a vacancy in fcc
  Cu: E_f = E_d − (N−1)/N·E_p); the default there.
* ``bcc_Na`` — μ = energy per atom of relaxed bcc Na (the Na-rich limit when Na metal is the
  reservoir, e.g. a Na anode in contact with the alloy).
* ``given`` — a number the user supplies (eV/atom).
* ``hull_<X>_rich`` / ``hull_<X>_poor`` — from the calculator's own convex hull
  (pymatgen :class:`PhaseDiagram` of :class:`PDEntry`'s with relaxed total energies). The host is
  stable for μ_X between two limits: at each facet (tie line in a binary) that touches the host
  composition, the chemical potentials are fixed; the largest μ_X over those facets is the X-rich
  limit, the smallest the X-poor limit (Na–Sn: Na-rich is set by the next more Na-rich phase, or Na
  metal; Na-poor by the next more Sn-rich phase). A host above the hull has no stability range: the
  chemical potentials of the facet it decomposes into are used and flagged.

For a compound whose other element has no reference phase (NaCl without Cl2: a molecule is not in
an interatomic potential's bulk comfort zone) only the X-rich limit exists:
μ_Na = E_Na(bcc), and the stability condition μ_Na + μ_Cl = E_NaCl gives μ_Cl (:func:`rich_limit_only`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field
from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition, Element

from atomflow.errors import InputError

#: Species treated as anions by the automatic Schottky rule and the "ionic host" notes.
ANION_SPECIES = frozenset({"N", "P", "O", "S", "Se", "Te", "F", "Cl", "Br", "I"})

#: Reference phases named in hints for the elements of the paper (others: "relaxed elemental X").
_EXAMPLE_PHASE = {"Na": "bcc Na", "Sn": "β-Sn"}

#: Tolerance (eV/atom) below which a phase counts as on the hull.
HULL_TOL = 1e-6


class HullPhase(BaseModel):
    """One phase entering the convex hull."""

    formula: str = Field(description="Reduced formula.")
    n_atoms: int = Field(description="Atoms in the relaxed cell.")
    energy_per_atom: float = Field(description="Relaxed total energy per atom, eV/atom.")
    formation_energy_per_atom: float = Field(description="Formation energy from the elemental references, "
                                                         "eV/atom.")
    e_above_hull: float = Field(description="Energy above the convex hull, eV/atom (0 = stable).")
    converged: bool = Field(default=True, description="False if its relaxation hit the step limit.")
    label: str | None = Field(default=None, description="Where the structure came from (file, builder).")


class ChempotLimits(BaseModel):
    """The range of μ of one element over which the host is stable, with all μ at each end."""

    element: str = Field(description="Element whose μ is ranged (the removed species).")
    mu_poor: float | None = Field(description="X-poor limit of μ_X, eV/atom; None if it cannot be computed.")
    mu_rich: float = Field(description="X-rich limit of μ_X, eV/atom.")
    mu_at_poor: dict[str, float] | None = Field(description="All chemical potentials at the X-poor limit, "
                                                            "eV/atom.")
    mu_at_rich: dict[str, float] = Field(description="All chemical potentials at the X-rich limit, eV/atom.")
    host_e_above_hull: float = Field(description="Host energy above the hull, eV/atom (0 = stable).")
    phases: list[HullPhase] = Field(default_factory=list, description="Phases of the hull.")
    notes: list[str] = Field(default_factory=list, description="How the limits were set.")


def _comp(value: str | Composition) -> Composition:
    return value if isinstance(value, Composition) else Composition(value)


def build_phase_diagram(
        entries: Sequence[tuple[str | Composition, float]]) -> tuple[PhaseDiagram, list[PDEntry]]:
    """PhaseDiagram from ``(composition, total energy in eV)`` pairs (compositions of the cells used)."""
    pd_entries = [PDEntry(_comp(c), float(e)) for c, e in entries]
    elements = {el for entry in pd_entries for el in entry.composition.elements}
    references = {e.composition.elements[0] for e in pd_entries if e.composition.is_element}
    missing = sorted(str(el) for el in elements - references)
    if missing:
        examples = ", ".join(_EXAMPLE_PHASE.get(el, f"relaxed elemental {el}") for el in missing)
        raise InputError(f"The hull needs an elemental reference phase for {', '.join(missing)}; add one "
                         f"({examples}) or use rich_limit_only() for a compound with one missing "
                         "reference.")
    return PhaseDiagram(pd_entries), pd_entries


def host_limits(entries: Sequence[tuple[str | Composition, float]], host: tuple[str | Composition, float],
                element: str, labels: Sequence[str | None] | None = None,
                converged: Sequence[bool] | None = None) -> ChempotLimits:
    """μ range of ``element`` over which ``host`` (composition, total energy eV) is stable on the hull.

    ``entries`` are the other phases (composition, total energy eV), elemental references included.
    """
    host_comp, host_energy = _comp(host[0]), float(host[1])
    el = Element(element)
    if el not in host_comp.elements:
        raise InputError(f"The host {host_comp.reduced_formula} contains no {element}; nothing to range.")
    pd, pd_entries = build_phase_diagram([*entries, (host_comp, host_energy)])
    host_entry = pd_entries[-1]
    e_hull = max(0.0, float(pd.get_e_above_hull(host_entry, allow_negative=True)))
    notes = []
    # Each facet touching the host composition is one vertex of its stability region in μ space.
    facets = pd.get_all_chempots(host_comp)
    points = [{str(k): float(v) for k, v in mus.items()} for mus in facets.values()]
    if e_hull > HULL_TOL:
        notes.append(f"The host {host_comp.reduced_formula} lies {e_hull * 1000:.1f} meV/atom above this "
                     "calculator's hull: it has no stability range; μ is that of the phases it decomposes "
                     f"into ({', '.join(facets)}).")
    names = list(facets)
    i_rich = max(range(len(points)), key=lambda i: points[i][element])
    i_poor = min(range(len(points)), key=lambda i: points[i][element])
    rich, poor = points[i_rich], points[i_poor]
    if e_hull <= HULL_TOL:
        notes.append(f"{element}-rich limit μ_{element} = {rich[element]:.4f} eV/atom (equilibrium "
                     f"{names[i_rich]}); {element}-poor limit {poor[element]:.4f} eV/atom (equilibrium "
                     f"{names[i_poor]}), from this calculator's hull.")
    labels = list(labels) if labels is not None else [None] * len(entries)
    converged = list(converged) if converged is not None else [True] * len(entries)
    phases = [
        HullPhase(formula=entry.composition.reduced_formula, n_atoms=int(entry.composition.num_atoms),
                  energy_per_atom=float(entry.energy_per_atom),
                  formation_energy_per_atom=float(pd.get_form_energy_per_atom(entry)),
                  e_above_hull=max(0.0, float(pd.get_e_above_hull(entry, allow_negative=True))),
                  converged=ok, label=label)
        for entry, label, ok in zip(pd_entries, [*labels, "host"], [*converged, True])
    ]
    return ChempotLimits(element=element, mu_poor=poor[element], mu_rich=rich[element], mu_at_poor=poor,
                         mu_at_rich=rich, host_e_above_hull=e_hull, phases=phases, notes=notes)


def rich_limit_only(host: tuple[str | Composition, float], element: str,
                    e_element_per_atom: float) -> ChempotLimits:
    """X-rich limit for a binary host whose other element has no reference phase (e.g. NaCl, no Cl2).

    μ_X = E_X(elemental reference, eV/atom); the host's stability condition a·μ_X + b·μ_Y = E_host per
    formula unit (eV) gives μ_Y. The X-poor limit needs E(Y reference) and is left None.
    """
    comp = _comp(host[0])
    if len(comp.elements) != 2:
        raise InputError(f"rich_limit_only needs a binary host, got {comp.reduced_formula}.")
    if Element(element) not in comp.elements:
        raise InputError(f"The host {comp.reduced_formula} contains no {element}.")
    reduced, n_fu = comp.get_reduced_composition_and_factor()
    other = next(str(e) for e in reduced.elements if str(e) != element)
    e_fu = float(host[1]) / n_fu
    mu_x = float(e_element_per_atom)
    mu_y = (e_fu - reduced[element] * mu_x) / reduced[other]
    note = (f"Only the {element}-rich limit: μ_{element} = E({element} reference) and "
            f"μ_{other} = (E_{reduced.reduced_formula} − {reduced[element]:g}·μ_{element})"
            f"/{reduced[other]:g} "
            f"from the stability condition. The {element}-poor limit needs μ_{other} of the {other} reference "
            f"(for Cl: the Cl2 molecule), which was not computed.")
    return ChempotLimits(element=element, mu_poor=None, mu_rich=mu_x, mu_at_poor=None,
                         mu_at_rich={element: mu_x, other: mu_y}, host_e_above_hull=0.0, notes=[note])
