"""The one supercell rule shared by every workflow (vacancies, NEB, elastic).

Rule: the smallest near-cubic supercell in which every periodic image of every atom is at least
``min_length`` Å away — i.e. the shortest nonzero lattice translation of the supercell is
≥ ``min_length`` — with at most ``max_atoms`` (and at least ``min_atoms``) atoms. The cell comes
from ``pymatgen.analysis.defects.supercells.get_sc_fromstruct`` (pymatgen's
CubicSupercellTransformation, then ASE's find_optimal_cell_shape); if that fails or breaks the
rule, a diagonal matrix n_i = ceil(min_length / w_i) (w_i the perpendicular widths) is used.
The search sees the lattice without its numerical noise (idealised to its symmetry, in its own orientation),
and the matrix found is checked on the real lattice: the same crystal gets the
same matrix whatever 1e-4 Å a relaxation left, so a hop sits in the same cell in every run.

Cost: pymatgen's cubic search is milliseconds; when it fails (max_atoms tight) its ASE fallback
tries every size up to max_atoms / n_unit (~0.4 s each), so a tight max_atoms on a tiny cell
can take seconds. Requests that no lattice can satisfy (Hermite bound) are refused at once.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from pymatgen.core import Lattice, Structure

from atomflow.errors import InputError
from atomflow.structures.validate import perpendicular_widths

_TOL = 1e-6  # Å: slack when comparing lengths


def min_image_distance(structure: Structure | Lattice) -> float:
    """The shortest nonzero lattice translation of the cell, in Å.

    This is the distance from any atom to its own nearest periodic image, which is what sets
    the interaction of a defect with its images. (The smallest perpendicular width, see
    :func:`~atomflow.structures.validate.perpendicular_widths`, is a lower bound of it and is the
    radius of the largest sphere that fits in the cell; for skewed cells it is smaller.)
    Computed exactly: all lattice points within the shortest LLL-reduced basis vector.
    """
    lattice = getattr(structure, "lattice", structure).get_lll_reduced_lattice()
    radius = float(min(lattice.abc)) + _TOL
    points = lattice.get_points_in_sphere_py(np.zeros((1, 3)), np.zeros(3), radius, zip_results=False)
    dists = np.asarray(points[1], dtype=float)
    nonzero = dists[dists > _TOL]
    return float(nonzero.min()) if nonzero.size else float(min(lattice.abc))


def supercell_matrix(
    structure: Structure,
    min_length: float = 10.0,
    min_atoms: int | None = None,
    max_atoms: int = 300,
) -> np.ndarray:
    """3×3 integer matrix M (rows: supercell vectors = M @ unit-cell vectors, det M > 0).

    Args:
        structure: the unit cell.
        min_length: smallest allowed distance (Å) between an atom and its periodic images.
        min_atoms: smallest allowed atom count of the supercell; None: no lower limit.
        max_atoms: largest allowed atom count.

    Raises:
        InputError: non-positive sizes, or no supercell meeting min_length within max_atoms
            (the message says which limit to relax).
    """
    n0 = len(structure)
    _check_sizes(min_length, min_atoms, max_atoms, n0)
    lo = max(1, min_atoms or 1)
    # Hermite bound in 3D (λ1³ ≤ √2 V): a cell whose shortest translation is L has V ≥ L³/√2.
    fewest = math.ceil(min_length**3 / (math.sqrt(2) * structure.volume) - 1e-9) * n0
    if fewest > max_atoms:
        _too_big(min_length, max_atoms, f"at least {fewest} atoms are needed (lattice-packing bound)")

    # The search runs on the lattice without its numerical noise (see _noise_free): the integer matrix is the
    # same for the same crystal, and it is checked against the real lattice.
    matrix = _from_pymatgen(_noise_free(structure), min_length, lo, max_atoms)
    if matrix is not None and not _satisfies(structure, matrix, min_length, lo):
        matrix = None
    if matrix is None:
        matrix = _from_pymatgen(structure, min_length, lo, max_atoms)
    if matrix is None:
        matrix = _diagonal(structure, min_length, lo)
    count = n0 * round(abs(np.linalg.det(matrix)))
    if count > max_atoms:
        _too_big(min_length, max_atoms, f"the smallest cell found has {count} atoms")
    return matrix


def make_supercell(
    structure: Structure,
    min_length: float = 10.0,
    min_atoms: int | None = None,
    max_atoms: int = 300,
) -> Structure:
    """The supercell of :func:`supercell_matrix` (same arguments), as a new Structure."""
    matrix = supercell_matrix(structure, min_length=min_length, min_atoms=min_atoms, max_atoms=max_atoms)
    return structure.make_supercell(matrix, in_place=False)


def _check_sizes(min_length: float, min_atoms: int | None, max_atoms: int, n0: int) -> None:
    if n0 == 0:
        raise InputError("The structure has no atoms; a supercell needs at least one site.")
    bad = not (min_length > 0) or not (max_atoms > 0) or (min_atoms is not None and not min_atoms > 0)
    if bad:
        raise InputError(
            f"supercell size must be positive: got min_length={min_length} Å, min_atoms={min_atoms}, "
            f"max_atoms={max_atoms}; e.g. min_length=10.0, max_atoms=300."
        )
    if min_atoms is not None and min_atoms > max_atoms:
        raise InputError(
            f"min_atoms={min_atoms} exceeds max_atoms={max_atoms}; lower min_atoms or raise max_atoms."
        )


def _too_big(min_length: float, max_atoms: int, why: str) -> None:
    raise InputError(
        f"No supercell with all periodic images ≥ {min_length} Å fits in max_atoms={max_atoms}: {why}. "
        "Raise max_atoms or lower min_length."
    )


def _satisfies(structure: Structure, matrix: np.ndarray, min_length: float, lo: int) -> bool:
    lattice = Lattice(matrix @ structure.lattice.matrix)
    count = len(structure) * round(abs(np.linalg.det(matrix)))
    return count >= lo and min_image_distance(lattice) >= min_length - _TOL


#: Å: lattice noise removed before the supercell search (a float32 relaxation leaves ~1e-4 Å): the lattice is
#: idealised to the symmetry found within NOISE_SYMPREC.
NOISE_SYMPREC = 1e-3


def _noise_free(structure: Structure) -> Structure:
    """The same lattice, in the same orientation, idealised to its symmetry (spglib, symprec NOISE_SYMPREC); the
    structure itself if spglib finds no cell or the change is not small.

    Why: pymatgen's cubic search rounds T = L_target · L⁻¹ entry by entry, and a symmetric lattice puts entries
    exactly on rounding ties, so relaxation noise of 1e-4 Å picked among equivalent matrices (30 noisy copies of
    NaCl's primitive cell at 8.5 Å, ≤ 30 atoms: 17 different matrices), i.e. the same hop landed in differently
    oriented small cells in two runs. Idealised, the lattice keeps only the noise of its lengths, which moves no
    tie (a common scale factor cannot). The orientation is kept (the search depends on it, and a noise-free cell
    keeps the matrix it had). Rows of the result: P^T · S · R, with spglib's standard lattice S,
    (a_s b_s c_s) = (a b c) P⁻¹ and R its rotation of the standardised cell onto the idealised one; P's
    fractions and R, when it is a signed permutation (a cell built or read in a standard setting, as here), are
    made exact — their float noise would otherwise decide the ties.
    """
    import spglib

    try:  # a disordered site has no single species (AttributeError); spglib raises on some inputs
        cell = (structure.lattice.matrix, structure.frac_coords, [site.specie.Z for site in structure])
        data = spglib.get_symmetry_dataset(cell, symprec=NOISE_SYMPREC)
    except Exception:
        data = None
    if data is None:
        return structure
    lattice = (_exact(np.asarray(data.transformation_matrix, dtype=float), 12, 1e-6).T
               @ np.asarray(data.std_lattice, dtype=float)
               @ _exact(np.asarray(data.std_rotation_matrix, dtype=float), 1, 1e-3))  # rotation noise ~ 1e-5
    if not np.allclose(lattice, structure.lattice.matrix, atol=10 * NOISE_SYMPREC):
        return structure  # not a small idealisation: search on the real lattice
    return Structure(Lattice(lattice + 0.0), structure.species, structure.frac_coords)


def _exact(matrix: np.ndarray, denominator: int, tol: float) -> np.ndarray:
    """``matrix`` with entries that are multiples of 1/denominator to within ``tol`` made exactly so; else as
    given."""
    snapped = np.round(matrix * denominator) / denominator
    return snapped if np.allclose(snapped, matrix, atol=tol) else matrix


def _from_pymatgen(structure: Structure, min_length: float, lo: int, max_atoms: int) -> np.ndarray | None:
    """pymatgen-analysis-defects' near-cubic supercell, or None if it fails or breaks the rule."""
    from pymatgen.analysis.defects.supercells import get_sc_fromstruct

    logger = logging.getLogger("pymatgen.analysis.defects.supercells")
    level = logger.level
    logger.setLevel(logging.ERROR)  # its ASE fallback logs one line per trial size
    try:
        raw = get_sc_fromstruct(structure, min_atoms=lo, max_atoms=max_atoms, min_length=min_length)
    except Exception:  # AttributeError/RuntimeError when no cell is found: use the fallback
        return None
    finally:
        logger.setLevel(level)
    if raw is None:
        return None
    matrix = np.rint(np.asarray(raw, dtype=float)).astype(int)
    if matrix.shape != (3, 3) or round(np.linalg.det(matrix)) == 0:
        return None
    if np.linalg.det(matrix) < 0:
        matrix = -matrix  # same lattice points, right-handed
    return matrix if _satisfies(structure, matrix, min_length, lo) else None


def _diagonal(structure: Structure, min_length: float, lo: int) -> np.ndarray:
    """n_i = ceil(min_length / w_i); grown along the narrowest direction until ≥ lo atoms."""
    widths = perpendicular_widths(structure)
    n = np.array([max(1, math.ceil(min_length / w - 1e-9)) for w in widths])
    while len(structure) * int(np.prod(n)) < lo:
        n[int(np.argmin(n * widths))] += 1
    return np.diag(n).astype(int)
