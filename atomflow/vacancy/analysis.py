"""Vacancy formation energies from numbers: pure functions, no calculator, no jobflow.

Convention (the paper's, and the usual one for neutral vacancies):

    E_f = E_d + Σ_i n_i μ_i − E_p                                                   (1)

E_d: total energy of the defect supercell, E_p: total energy of the perfect supercell (same cell,
same calculator), n_i > 0: number of atoms of species i removed, μ_i: chemical potential of i
(eV/atom). All energies in eV.

Schottky defect (one formula unit removed, e.g. one Na and one Cl from NaCl): the removed atoms go
back into the bulk compound, so Σ n_i μ_i = E_bulk per formula unit and

    E_S = E_d − E_p + E_bulk/f.u.                                                   (2)

which needs no elemental reference at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from atomflow.errors import InputError


def _finite(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"{name} must be a finite energy (eV), got {value}.")
    return value


def _removed_counts(removed: Mapping[str, int] | int,
                    mu: Mapping[str, float] | float) -> dict[str, tuple[int, float]]:
    """{species: (n removed, μ)} from the two ways of giving them (a number each, or dicts)."""
    if isinstance(removed, Mapping) != isinstance(mu, Mapping):
        raise InputError(
            "Give `removed` and `mu` the same way: both numbers (one species) or both dicts keyed by "
            f"species; got removed={removed!r}, mu={mu!r}."
        )
    if not isinstance(removed, Mapping):
        removed, mu = {"X": removed}, {"X": mu}
    missing = sorted(set(removed) - set(mu))
    if missing:
        raise InputError(f"No chemical potential given for removed species {', '.join(missing)}; "
                         "add it to `mu` (eV/atom).")
    counts = {}
    for species, n in removed.items():
        if int(n) != n or n <= 0:
            raise InputError(f"The number of removed {species} atoms must be a positive integer "
                             f"(atoms added are not vacancies), got {n}.")
        counts[species] = (int(n), _finite(f"mu[{species}]", mu[species]))
    if not counts:
        raise InputError("A vacancy removes at least one atom; `removed` is empty.")
    return counts


def formation_energy(e_defect: float, e_perfect: float, removed: Mapping[str, int] | int,
                     mu: Mapping[str, float] | float) -> float:
    """Vacancy formation energy, eq. (1), in eV.

    ``removed`` and ``mu`` are either numbers (n atoms of one species, μ in eV/atom) or dicts keyed by
    species, e.g. ``removed={"Na": 1, "Cl": 1}, mu={"Na": -1.3, "Cl": -1.8}``.
    """
    counts = _removed_counts(removed, mu)
    reservoir = sum(n * m for n, m in counts.values())
    return _finite("e_defect", e_defect) + reservoir - _finite("e_perfect", e_perfect)


def formation_energy_range(e_defect: float, e_perfect: float, n_removed: int,
                           mu_range: Sequence[float | None]) -> tuple[float | None, float | None]:
    """E_f at the two ends of a μ range ``(μ_poor, μ_rich)`` (eV/atom) → ``(E_f poor, E_f rich)`` in eV.

    E_f rises with μ (the removed atom goes into a richer reservoir), so the rich limit gives the
    larger value. An end given as None (not computed) stays None.
    """
    if len(mu_range) != 2:
        raise InputError(f"mu_range must be (mu_poor, mu_rich), got {mu_range!r}.")
    return tuple(None if m is None else formation_energy(e_defect, e_perfect, n_removed, m)
                 for m in mu_range)  # type: ignore[return-value]


def schottky_energy(e_defect: float, e_perfect: float, e_formula_unit: float) -> float:
    """Schottky defect energy, eq. (2), in eV: one formula unit removed and put back into the bulk.

    ``e_formula_unit`` is the bulk energy per formula unit (eV/f.u.), e.g. E_p / N_f.u. of the perfect
    supercell.
    """
    return _finite("e_defect", e_defect) - _finite("e_perfect", e_perfect) + _finite("e_formula_unit",
                                                                                    e_formula_unit)


def relax_flags(what: str, converged: bool, max_force: float, fmax: float) -> list[str]:
    """Flags for one relaxation that feeds a formation energy (empty if it is usable as is).

    An unconverged relaxation keeps its number but is flagged: the energy is an upper bound of the
    relaxed one, so E_f computed from a defect cell that did not converge is too high.
    """
    flags = []
    if not converged:
        flags.append(f"{what}: relaxation not converged (max force {max_force:.3g} eV/Å > fmax {fmax:g} "
                     "eV/Å); its energy is an upper bound and the formation energy from it is not final")
    elif max_force > fmax * (1 + 1e-6):
        flags.append(f"{what}: max force {max_force:.3g} eV/Å above fmax {fmax:g} eV/Å")
    return flags


def size_difference(e_f_small: Sequence[float], e_f_large: Sequence[float]) -> list[float]:
    """E_f(large cell) − E_f(small cell) per site, eV; a converged supercell gives ~0."""
    if len(e_f_small) != len(e_f_large):
        raise InputError(f"Size check needs the same sites in both cells, got {len(e_f_small)} and "
                         f"{len(e_f_large)}.")
    return [float(b) - float(a) for a, b in zip(e_f_small, e_f_large)]
