"""The ranking: a pure function of numbers (moduli in GPa, energies in eV, σ in S/cm), no calculator, no store.

>>> rows = rank([PhaseNumbers(system="NaF", calculator="emt", formula="NaF", g_hill=30.0, k_hill=45.0,
...                           e_perc=0.7, dimension=3),
...              PhaseNumbers(system="bcc Na", calculator="emt", formula="Na", g_hill=3.0, reference=True)])

Per phase and calculator: the Monroe–Newman ratio G_phase/G_Na (Hill averages, both from the SAME calculator;
criterion ≥ :data:`~atomflow.screening.criteria.MONROE_NEWMAN_RATIO`), Pugh's ratio B/G (Hill). Order: the
unflagged phases ranked — those meeting the Monroe–Newman criterion first, then by the rate-limiting barrier of
the percolating network (lower first; a phase that does not percolate last) —, then the flagged phases,
unranked, in the same order. No weighted score: the criteria are shown side by side, not traded against each
other.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from atomflow.screening.criteria import MONROE_NEWMAN_RATIO


@dataclass
class PhaseNumbers:
    """What the store says about one phase with one calculator (None: not computed / not stored)."""

    system: str
    calculator: str
    formula: str
    reference: bool = False  # bcc Na: G_Na for this calculator
    stand_in: bool = False
    a_relaxed: float | None = None  # Å, conventional cell
    c_relaxed: float | None = None
    a_exp: float | None = None  # Å, with its source
    c_exp: float | None = None
    lattice_source: str | None = None
    k_voigt: float | None = None  # GPa
    k_reuss: float | None = None
    k_hill: float | None = None
    g_voigt: float | None = None
    g_reuss: float | None = None
    g_hill: float | None = None
    e_voigt: float | None = None
    e_reuss: float | None = None
    e_hill: float | None = None
    born_stable: bool | None = None
    e_vacancy: float | None = None  # eV, lowest Na site, μ stated in ``mu_text``
    e_schottky: float | None = None  # eV, ionic hosts
    mu_text: str | None = None
    hop_barriers: dict[str, float] = field(default_factory=dict)  # hop name → forward barrier, eV
    e_perc: float | None = None  # eV, rate-limiting barrier of the percolating network
    dimension: int | None = None  # 0–3, of the network cut at e_perc
    e_3d: float | None = None  # eV, threshold for 3-D percolation
    dynamically_stable: bool | None = None
    min_frequency: float | None = None  # THz
    sigma_300k: float | None = None  # S/cm
    sigma_note: str | None = None
    mechanism_note: str | None = None
    flags: list[str] = field(default_factory=list)
    #: the flags that concern the shear modulus (bulk relaxation, elastic fit): what G_Na inherits
    modulus_flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class RankedRow:
    """One row of the ranking table: the numbers plus the derived ratios and the place (None: flagged/ref.)."""

    numbers: PhaseNumbers
    g_na: float | None  # GPa, bcc Na with the same calculator
    g_ratio: float | None  # G_phase / G_Na (Hill)
    g_ratio_bounds: tuple[float, float] | None  # min, max of Reuss/Reuss and Voigt/Voigt
    meets_monroe_newman: bool | None
    pugh: float | None  # B/G (Hill)
    rank: int | None
    flags: list[str]
    g_na_flagged: bool = False  # G_Na (same calculator) from a flagged bcc Na tensor: g_ratio is not physical

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def lattice_error(relaxed: float | None, experimental: float | None) -> float | None:
    """(relaxed − experimental) / experimental, %."""
    if relaxed is None or experimental is None:
        return None
    return 100.0 * (relaxed - experimental) / experimental


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b for positive b (else None: a ratio to a zero or negative modulus means nothing)."""
    if a is None or b is None or not b > 0 or not math.isfinite(a):
        return None
    return a / b


def g_na_by_calculator(phases: list[PhaseNumbers]) -> dict[str, PhaseNumbers]:
    """The reference (bcc Na) numbers per calculator; the first given wins (callers pass newest first)."""
    out: dict[str, PhaseNumbers] = {}
    for p in phases:
        if p.reference and p.g_hill is not None:
            out.setdefault(p.calculator, p)
    return out


def rank(phases: list[PhaseNumbers]) -> list[RankedRow]:
    """The ranking table (see the module docstring); bcc Na rows come first, as references, unranked."""
    refs = g_na_by_calculator(phases)
    rows = []
    for p in phases:
        ref = refs.get(p.calculator)
        flags = list(p.flags)
        g_na = ref.g_hill if ref else None
        g_na_flagged = bool(ref is not None and ref.modulus_flags and not p.reference)
        if ref is None and not p.reference:
            flags.append(f"no bcc Na elastic tensor with {p.calculator}: G/G_Na not defined")
        elif g_na_flagged:
            flags.append("G_Na from a flagged bcc Na elastic tensor (see its row)")
        g_ratio = ratio(p.g_hill, g_na)
        bounds = None
        if ref is not None and None not in (p.g_reuss, p.g_voigt, ref.g_reuss, ref.g_voigt):
            pair = (ratio(p.g_reuss, ref.g_reuss), ratio(p.g_voigt, ref.g_voigt))
            bounds = (min(pair), max(pair)) if None not in pair else None
        meets = None if g_ratio is None else g_ratio >= MONROE_NEWMAN_RATIO
        rows.append(RankedRow(numbers=p, g_na=g_na, g_ratio=g_ratio, g_ratio_bounds=bounds,
                              meets_monroe_newman=meets, pugh=ratio(p.k_hill, p.g_hill), rank=None, flags=flags,
                              g_na_flagged=g_na_flagged))
    refs_rows = [r for r in rows if r.numbers.reference]
    ranked = sorted((r for r in rows if not r.numbers.reference and not r.flagged), key=_order)
    flagged = sorted((r for r in rows if not r.numbers.reference and r.flagged), key=_order)
    for place, r in enumerate(ranked, start=1):
        r.rank = place
    return refs_rows + ranked + flagged


def _order(r: RankedRow) -> tuple:
    e = r.numbers.e_perc
    return (0 if r.meets_monroe_newman else 1, math.inf if e is None else e, r.numbers.system,
            r.numbers.calculator)


@dataclass
class Spread:
    """One phase over a committee of calculators: mean and (min, max) of a quantity, unflagged rows only."""

    mean: float
    low: float
    high: float
    n: int


#: Row attributes computed with G_Na: a flag on the calculator's bcc Na tensor disqualifies them, not the rest.
G_NA_DEPENDENT = frozenset({"g_ratio", "meets_monroe_newman"})


def committee(rows: list[RankedRow], attribute: str) -> dict[str, Spread]:
    """system → spread of ``attribute`` (of the row, else of its numbers) over calculators, unflagged rows
    with two or more calculators only.

    A quantity that does not use G_Na (E_perc, E_f, σ, …) counts the phase's own flags only: a calculator whose
    bcc Na tensor is flagged (e.g. unstable) loses its G/G_Na, not its barriers."""
    values: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        flags = r.flags if attribute in G_NA_DEPENDENT else r.numbers.flags
        if flags or r.numbers.reference:
            continue
        v = getattr(r, attribute, None) if hasattr(r, attribute) else getattr(r.numbers, attribute, None)
        if v is not None and math.isfinite(v):
            values[r.numbers.system].append(float(v))
    return {s: Spread(statistics.fmean(v), min(v), max(v), len(v)) for s, v in values.items() if len(v) > 1}
