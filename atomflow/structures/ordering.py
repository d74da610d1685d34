"""Ordering sites of occupancy 0.5 in a supercell (the Na7Sn12 recipe of the paper).

The bulk Na7Sn12 cell has one Na site with occupancy 0.5. The paper doubled the cell (1×2×1,
152 atoms) and made that site "fully Na in one half and fully vacant in the other". Here: each
0.5-occupied site of the parent cell has ``m`` images along the doubled axis (``m`` = 2 for a
1×2×1 supercell); the default fills the images in the lower half (fractional coordinate < 0.5
along that axis) and leaves the upper-half images vacant. ``all_orderings=True`` enumerates every
way to fill half of the candidate images and keeps the symmetry-distinct ones.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure

from atomflow.errors import InputError, StructureError
from atomflow.structures.cifio import read_cif
from atomflow.structures.validate import validate_structure

#: Occupancies within this of 0.5 (or 1) count as half (or fully) occupied.
OCCUPANCY_TOL = 0.01


@dataclass(frozen=True)
class _Candidate:
    """One image of a half-occupied parent site in the supercell."""

    element: str
    label: str
    frac: tuple[float, float, float]  # fractional coordinates in the supercell
    lower: bool  # in the lower half along the doubled axis


def order_half_occupied(
    structure_or_cif: Structure | str | Path,
    supercell: tuple[int, int, int] = (1, 2, 1),
    axis: int | str | None = None,
    all_orderings: bool = False,
    max_orderings: int = 200,
) -> Structure | list[Structure]:
    """Ordered supercell(s) of a structure whose disordered sites all have occupancy 0.5.

    Args:
        structure_or_cif: a pymatgen Structure (with disordered sites), a CIF path or CIF text.
        supercell: diagonal multipliers (na, nb, nc); the axis that splits filled/vacant must
            have an even multiplier (the paper: (1, 2, 1)).
        axis: 0/1/2 or "a"/"b"/"c". None: the one axis with multiplier 2.
        all_orderings: False → the default ordering (a Structure). True → a list of the
            symmetry-distinct orderings (StructureMatcher), default first, then in the order of
            ``itertools.combinations`` over the candidate images; orderings with overlapping atoms
            are dropped.
        max_orderings: refuse (InputError) when there are more ways than this to fill half of the
            candidate images.

    Returns:
        Ordered Structure(s), sorted by species; site property ``half_occupied`` marks the filled
        images of half-occupied sites, site labels keep the CIF labels. A structure with no
        half-occupied site gives the plain supercell.

    Raises:
        StructureError: an occupancy other than 0.5 or 1, mixed-species disorder, an unreadable CIF,
            or overlapping atoms in the default ordering.
        InputError: a bad supercell/axis, or too many orderings.
    """
    parent = structure_or_cif if isinstance(structure_or_cif, Structure) else read_cif(structure_or_cif)
    mult = _check_supercell(supercell)
    ax = _pick_axis(mult, axis)
    full, candidates = _expand(parent, mult, ax)
    lattice = Lattice(parent.lattice.matrix * np.array(mult)[:, None])
    default = tuple(i for i, c in enumerate(candidates) if c.lower)
    if not all_orderings:
        ordered = _build(lattice, full, candidates, default)
        return validate_structure(ordered, require_periodic=False)

    n_fill = len(candidates) // 2
    count = math.comb(len(candidates), n_fill)
    if count > max_orderings:
        raise InputError(
            f"There are {count} ways to fill {n_fill} of the {len(candidates)} candidate images, more "
            f"than max_orderings={max_orderings}; raise max_orderings, use a smaller supercell, or take "
            "the default ordering (all_orderings=False)."
        )
    combos = [default] + [c for c in itertools.combinations(range(len(candidates)), n_fill) if c != default]
    return _distinct_orderings(lattice, full, candidates, combos)


def _check_supercell(supercell) -> tuple[int, int, int]:
    try:
        mult = tuple(int(m) for m in supercell)
        ok = len(mult) == 3 and all(m == n for m, n in zip(mult, supercell))
    except (TypeError, ValueError):
        ok = False
    if not ok or any(m <= 0 for m in mult):
        raise InputError(
            f"supercell must be three positive integers (diagonal multipliers), got {supercell!r}; "
            "e.g. (1, 2, 1)."
        )
    return mult  # type: ignore[return-value]


def _pick_axis(mult: tuple[int, int, int], axis: int | str | None) -> int:
    if axis is None:
        doubled = [i for i, m in enumerate(mult) if m == 2]
        if len(doubled) == 1:
            return doubled[0]
        if not doubled:
            raise InputError(
                f"supercell {mult} has no axis with multiplier 2, so half-occupied sites cannot be split "
                "into a filled half and a vacant half; use e.g. (1, 2, 1), or pass axis= for an axis "
                "with an even multiplier."
            )
        raise InputError(
            f"supercell {mult} has several axes with multiplier 2; pass axis= (0/1/2 or 'a'/'b'/'c') "
            "to say which one separates the filled half from the vacant half."
        )
    ax = {"a": 0, "b": 1, "c": 2}.get(axis, axis) if isinstance(axis, str) else axis
    if ax not in (0, 1, 2):
        raise InputError(f"axis must be 0, 1, 2 or 'a', 'b', 'c', got {axis!r}.")
    if mult[ax] % 2:
        raise InputError(
            f"The multiplier along axis {'abc'[ax]} is {mult[ax]} (odd), so its images cannot be split "
            "into two equal halves; double that axis (e.g. (1, 2, 1) for b) or choose another axis."
        )
    return ax


def _expand(parent: Structure, mult: tuple[int, int, int], ax: int):
    """Fully occupied supercell sites ``(element, frac, label)`` and the half-occupied candidates."""
    full: list[tuple[str, np.ndarray, str]] = []
    candidates: list[_Candidate] = []
    shifts = np.array(list(itertools.product(*(range(m) for m in mult))), dtype=float)
    for index, site in enumerate(parent):
        element, occupancy = _classify(index, site)
        frac0 = np.mod(site.frac_coords, 1.0)
        frac0[frac0 >= 1.0] = 0.0  # np.mod(-1e-17, 1) is 1.0
        for shift in shifts:
            frac = (frac0 + shift) / np.array(mult)
            if occupancy == 1.0:
                full.append((element, frac, site.label))
            else:
                lower = bool(shift[ax] < mult[ax] / 2)
                candidates.append(_Candidate(element, site.label, tuple(frac), lower))
    return full, candidates


def _classify(index: int, site) -> tuple[str, float]:
    """(element, 1.0 or 0.5) of a parent site, or a StructureError naming what to do."""
    where = f"site {index} ({site.label}, frac {np.round(site.frac_coords, 4).tolist()})"
    if len(site.species) != 1:
        occ = ", ".join(f"{sp}:{amt:g}" for sp, amt in site.species.items())
        raise StructureError(
            f"{where} has mixed-species (substitutional) disorder ({occ}); order_half_occupied only "
            "orders single-species sites of occupancy 0.5. Use an enumeration tool (e.g. pymatgen's "
            "OrderDisorderedStructureTransformation or enumlib) or edit the CIF."
        )
    (species, occupancy), = site.species.items()
    element = getattr(species, "symbol", str(species))
    if abs(occupancy - 1.0) <= OCCUPANCY_TOL:
        return element, 1.0
    if abs(occupancy - 0.5) <= OCCUPANCY_TOL:
        return element, 0.5
    raise StructureError(
        f"{where} has occupancy {occupancy:g} ({element}); order_half_occupied only handles occupancy 0.5 "
        "(filled in one half of the supercell, vacant in the other) or 1. For other occupancies use an "
        "enumeration tool (e.g. pymatgen's OrderDisorderedStructureTransformation) or edit the CIF."
    )


def _build(lattice: Lattice, full, candidates: list[_Candidate], filled: tuple[int, ...]) -> Structure:
    """The ordered supercell with the candidate images ``filled`` occupied, sorted by species."""
    chosen = [candidates[i] for i in filled]
    species = [e for e, _, _ in full] + [c.element for c in chosen]
    coords = [f for _, f, _ in full] + [c.frac for c in chosen]
    labels = [lbl for _, _, lbl in full] + [c.label for c in chosen]
    flags = [False] * len(full) + [True] * len(chosen)
    structure = Structure(
        lattice, species, coords, labels=labels, site_properties={"half_occupied": flags}
    )
    return structure.get_sorted_structure()


def _fingerprint(structure: Structure) -> np.ndarray:
    """Sorted interatomic distances (Å): equal for equivalent orderings (a cheap pre-filter)."""
    dist = structure.distance_matrix
    return np.sort(dist[np.triu_indices(len(structure), 1)])


def _distinct_orderings(lattice, full, candidates, combos) -> list[Structure]:
    """Symmetry-distinct ordered structures from ``combos``, first-seen order (default first)."""
    matcher = StructureMatcher(ltol=0.05, stol=0.05, angle_tol=1.0, primitive_cell=False, scale=False)
    kept: list[tuple[np.ndarray, Structure]] = []
    for combo in combos:
        structure = _build(lattice, full, candidates, combo)
        try:
            validate_structure(structure, require_periodic=False)
        except StructureError:
            if combo == combos[0]:
                raise
            continue  # physically impossible (overlapping images): not an ordering
        fp = _fingerprint(structure)
        # Same lattice for all: skip pymatgen's Niggli step (its cache compares 152-atom cells slowly).
        if any(
            len(f) == len(fp)
            and np.allclose(f, fp, atol=1e-3)
            and matcher.fit(s, structure, skip_structure_reduction=True)
            for f, s in kept
        ):
            continue
        kept.append((fp, structure))
    return [s for _, s in kept]
