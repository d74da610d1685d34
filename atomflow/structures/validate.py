"""Checks every structure passes before a workflow uses it.

One function, :func:`validate_structure`, raising :class:`~atomflow.errors.StructureError` with one
message that names the problem and the fix. Checks, in order: finite lattice/coordinates and a
non-zero volume; no partial occupancies; the expected composition; no two atoms too close; no
vacuum gap (slab or molecule) when a 3D-periodic bulk crystal is required. Lengths in Å.
"""

from __future__ import annotations

import numpy as np
from ase.data import atomic_numbers, covalent_radii
from pymatgen.core import Composition, Structure

from atomflow.errors import InputError, StructureError

#: Absolute floor of the close-contact threshold, in Å (below this no pair is physical).
MIN_DISTANCE_FLOOR = 0.5
#: Fraction of the sum of covalent radii (ase.data.covalent_radii) below which a pair overlaps.
COVALENT_FRACTION = 0.5
#: An empty slab thicker than this (Å) along a lattice direction marks a slab or molecule.
MAX_VACUUM_GAP = 6.0


def validate_structure(
    structure: Structure,
    expected_formula: str | None = None,
    min_distance: float | None = None,
    require_periodic: bool = True,
) -> Structure:
    """Raise StructureError if ``structure`` cannot be used as a bulk input; return it unchanged.

    Args:
        structure: the pymatgen Structure to check.
        expected_formula: e.g. ``"NaCl"`` or ``"Na56Sn96"``. A reduced formula (``"NaCl"``,
            ``"Na7Sn12"``) only fixes the ratio (any multiple passes); a non-reduced one
            (``"Na4Cl4"``, ``"Na56Sn96"``) fixes the exact atom counts.
        min_distance: smallest allowed interatomic distance in Å for every pair. None: per pair
            ``max(0.5 Å, 0.5 × (r_cov,i + r_cov,j))`` with ASE's covalent radii.
        require_periodic: True for bulk workflows: refuse a cell with a vacuum gap of more than
            6 Å along any lattice direction (a slab or molecule in a box).
    """
    if not isinstance(structure, Structure):
        raise InputError(
            f"validate_structure needs a pymatgen Structure, got {type(structure).__name__}; "
            "convert ASE Atoms with pymatgen.io.ase.AseAtomsAdaptor.get_structure(atoms)."
        )
    _check_finite(structure)
    _check_ordered(structure)
    if expected_formula is not None:
        _check_composition(structure, expected_formula)
    _check_distances(structure, min_distance)
    if require_periodic:
        _check_no_vacuum(structure)
    return structure


def _check_finite(structure: Structure) -> None:
    if len(structure) == 0:
        raise StructureError("The structure has no atoms; build or read a structure with at least one site.")
    matrix = structure.lattice.matrix
    if not np.all(np.isfinite(matrix)):
        raise StructureError(
            f"The lattice has non-finite entries (NaN/inf): {matrix.tolist()}; fix the cell."
        )
    coords = structure.frac_coords
    bad = np.flatnonzero(~np.all(np.isfinite(coords), axis=1))
    if bad.size:
        i = int(bad[0])
        raise StructureError(
            f"Site {i} ({structure[i].species_string}) has non-finite coordinates {coords[i].tolist()}; "
            "fix the positions in the input."
        )
    volume = abs(float(np.linalg.det(matrix)))
    if volume < 1e-6:
        raise StructureError(
            f"The cell volume is {volume:.3g} Å³ (lattice vectors are zero or linearly dependent); "
            "give three independent lattice vectors."
        )
    _check_cell_shape(structure, volume)


def _check_cell_shape(structure: Structure, volume: float) -> None:
    """Cheap tests that bound the cost of the neighbour search that follows.

    A nearly singular cell makes a neighbour search visit millions of periodic images (minutes, in C code
    that Ctrl-C cannot stop). Its LLL-reduced basis (polynomial time) shows what it really is: either an
    ordinary lattice in a skewed description (the search then runs on the reduced cell, a few images), or
    a lattice vector shorter than any interatomic distance, which no crystal has.
    """
    shortest = float(min(structure.lattice.get_lll_reduced_lattice().abc))
    if shortest < MIN_DISTANCE_FLOOR:
        raise StructureError(
            f"The cell is nearly singular: its shortest lattice vector (after LLL reduction) is {shortest:.3g} Å, "
            f"below {MIN_DISTANCE_FLOOR} Å, so every atom sits that close to its own periodic image; check the "
            "lattice vectors (in Å, not nm or bohr) and their order."
        )
    per_atom = volume / len(structure)
    densest = MIN_DISTANCE_FLOOR**3 / np.sqrt(2)  # closest packing of spheres of that diameter
    if per_atom < densest:
        raise StructureError(
            f"The cell holds {len(structure)} atoms in {volume:.3g} Å³ ({per_atom:.3g} Å³ per atom), denser than "
            f"closest-packed spheres {MIN_DISTANCE_FLOOR} Å apart: atoms must overlap; check the cell volume "
            "(units Å) and for duplicated sites."
        )


def _check_ordered(structure: Structure) -> None:
    for i, site in enumerate(structure):
        if not site.is_ordered:
            occ = ", ".join(f"{sp}:{amt:g}" for sp, amt in site.species.items())
            raise StructureError(
                f"Site {i} ({site.label}, frac {np.round(site.frac_coords, 4).tolist()}) is partially "
                f"occupied ({occ}); calculators need an ordered structure. Order it first, e.g. with "
                "atomflow.structures.order_half_occupied for occupancy-0.5 sites."
            )


def _check_composition(structure: Structure, expected_formula: str) -> None:
    try:
        expected = Composition(expected_formula)
    except Exception as exc:  # pymatgen raises several types for a bad formula
        raise InputError(f"expected_formula {expected_formula!r} is not a chemical formula: {exc}") from exc
    got = structure.composition
    reduced_given = expected.reduced_composition.almost_equals(expected)
    same_ratio = got.reduced_composition.almost_equals(expected.reduced_composition)
    if same_ratio and (reduced_given or got.almost_equals(expected)):
        return
    raise StructureError(
        f"Composition mismatch: expected {expected.formula.replace(' ', '')}"
        f"{' (any multiple)' if reduced_given else ''}, got {got.formula.replace(' ', '')}; "
        "check that the right structure (and supercell) was passed."
    )


def _pair_thresholds(structure: Structure, min_distance: float | None) -> tuple[np.ndarray, float]:
    """Per-element covalent radii (Å) and the largest pair threshold, for the close-contact check."""
    radii = np.array([covalent_radii[atomic_numbers.get(site.specie.symbol, 0)] for site in structure])
    if min_distance is not None:
        return radii, float(min_distance)
    return radii, max(MIN_DISTANCE_FLOOR, COVALENT_FRACTION * 2 * float(radii.max()))


def _check_distances(structure: Structure, min_distance: float | None) -> None:
    if min_distance is not None and min_distance <= 0:
        raise InputError(f"min_distance must be positive (Å), got {min_distance}.")
    radii, r_max = _pair_thresholds(structure, min_distance)
    # the same distances on the LLL-reduced cell: few periodic images to visit (see _check_cell_shape)
    # (pymatgen keeps the site order, so indices below are the input's)
    centers, neighbors, images, dists = structure.get_reduced_structure("LLL").get_neighbor_list(r_max)
    if len(dists) == 0:
        return
    if min_distance is not None:
        limits = np.full(len(dists), float(min_distance))
    else:
        limits = np.maximum(MIN_DISTANCE_FLOOR, COVALENT_FRACTION * (radii[centers] + radii[neighbors]))
    too_close = np.flatnonzero(dists < limits)
    if too_close.size == 0:
        return
    k = too_close[np.argmin(dists[too_close])]
    i, j, d = int(centers[k]), int(neighbors[k]), float(dists[k])
    what = "its own periodic image" if i == j else f"site {j} ({structure[j].species_string})"
    raise StructureError(
        f"Atoms overlap: site {i} ({structure[i].species_string}) and {what} are {d:.3f} Å apart, "
        f"below the {limits[k]:.3f} Å limit; check the coordinates, the cell, or duplicated sites "
        "(or pass min_distance if this contact is intended)."
    )


def perpendicular_widths(structure: Structure) -> np.ndarray:
    """Distances (Å) between opposite faces of the cell, one per lattice direction: V / |a_j × a_k|."""
    m = structure.lattice.matrix
    volume = abs(float(np.linalg.det(m)))
    return np.array([volume / np.linalg.norm(np.cross(m[(i + 1) % 3], m[(i + 2) % 3])) for i in range(3)])


def _check_no_vacuum(structure: Structure) -> None:
    widths = perpendicular_widths(structure)
    frac = np.mod(structure.frac_coords, 1.0)
    for axis, name in enumerate("abc"):
        x = np.sort(frac[:, axis])
        gaps = np.diff(np.concatenate([x, [x[0] + 1.0]]))  # includes the gap across the periodic boundary
        gap = float(gaps.max()) * widths[axis]
        if gap > MAX_VACUUM_GAP:
            raise StructureError(
                f"The structure looks like a slab/molecule with vacuum along {name}: an empty layer of "
                f"{gap:.1f} Å (> {MAX_VACUUM_GAP} Å) between atoms; bulk workflows need a 3D-periodic "
                "crystal. Remove the vacuum, or pass require_periodic=False for a slab."
            )
