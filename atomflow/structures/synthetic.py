"""A made-up Na7Sn12-like CIF for tests and offline demos (NOT the real compound).

The real Na7Sn12 positions (COD 4314129) are not available offline, so tests of the ordering code
use this stand-in with the same features: space group P2/n (No. 13, unique axis c, setting
P 1 1 2/n), the published cell (a 13.375, b 9.329, c 17.976 Å, γ 90.15°), 12 general Sn sites
(48 Sn), 6 general Na sites + one 2-fold special Na site (26 Na) fully occupied, and one general
Na site with occupancy 0.5 (4 × 0.5 = 2 Na) → Na28Sn48 per cell. Positions are random (seeded),
every pair of distinct positions (half-occupied ones included) at least ``min_separation`` Å apart.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Lattice

#: Published Na7Sn12 cell (Fässler & Hoffmann, Inorg. Chem. 42, 5474 (2003)): Å and degrees.
NA7SN12_CELL = {"a": 13.375, "b": 9.329, "c": 17.976, "alpha": 90.0, "beta": 90.0, "gamma": 90.15}

#: Symmetry operations of P 1 1 2/n (No. 13, unique axis c, Hall symbol -P 2ab): identity, the
#: 2-fold axis along c through (1/4, 1/4, z), the inversion at the origin, the n-glide ⊥ c.
P112N_OPERATIONS = ("x, y, z", "-x+1/2, -y+1/2, z", "-x, -y, -z", "x+1/2, y+1/2, -z")


def _apply_ops(frac: np.ndarray) -> np.ndarray:
    """The 4 images of one fractional position under P 1 1 2/n, wrapped into [0, 1)."""
    x, y, z = frac
    images = np.array([[x, y, z], [0.5 - x, 0.5 - y, z], [-x, -y, -z], [x + 0.5, y + 0.5, -z]])
    return np.mod(images, 1.0)


def _unique(images: np.ndarray, lattice: Lattice, tol: float = 1e-3) -> np.ndarray:
    keep: list[np.ndarray] = []
    for im in images:
        if not keep or lattice.get_all_distances(np.array(keep), im[None, :]).min() > tol:
            keep.append(im)
    return np.array(keep)


def synthetic_p2n_sites(
    seed: int = 0, min_separation: float = 2.0, max_tries: int = 20000
) -> list[tuple[str, str, np.ndarray, float]]:
    """Asymmetric-unit sites ``(label, element, frac xyz, occupancy)`` of the made-up Na28Sn48 cell.

    Args:
        seed: seed of the random position search (same seed → same sites).
        min_separation: smallest distance in Å between any two distinct positions after symmetry.
        max_tries: random trials before giving up (RuntimeError).
    """
    lattice = Lattice.from_parameters(**NA7SN12_CELL)
    rng = np.random.default_rng(seed)
    placed = np.zeros((0, 3))
    sites: list[tuple[str, str, np.ndarray, float]] = []
    # (label, element, occupancy, special): the 2-fold site sits on the axis (1/4, 1/4, z).
    plan = [("Na7", "Na", 1.0, True)]
    plan += [(f"Na{i}", "Na", 1.0, False) for i in range(1, 7)]
    plan += [("Na8", "Na", 0.5, False)]
    plan += [(f"Sn{i}", "Sn", 1.0, False) for i in range(1, 13)]
    for label, element, occupancy, special in plan:
        for _ in range(max_tries):
            frac = rng.random(3)
            if special:
                frac[:2] = 0.25
            orbit = _unique(_apply_ops(frac), lattice)
            if len(orbit) != (2 if special else 4):
                continue
            own = lattice.get_all_distances(orbit, orbit)[np.triu_indices(len(orbit), 1)]
            if own.min() < min_separation:
                continue
            if len(placed) and lattice.get_all_distances(orbit, placed).min() < min_separation:
                continue
            placed = np.vstack([placed, orbit])
            sites.append((label, element, frac, occupancy))
            break
        else:
            raise RuntimeError(f"could not place {label} after {max_tries} tries; lower min_separation")
    return sites


def synthetic_p2n_cif(seed: int = 0, half_occupancy: float = 0.5, min_separation: float = 2.0) -> str:
    """CIF text of the made-up Na7Sn12-like P2/n cell (see module docstring).

    Args:
        seed: seed of the random position search.
        half_occupancy: occupancy written for the disordered Na8 site (0.5 in the real recipe;
            tests pass e.g. 0.33 to check the error).
        min_separation: smallest distance in Å between distinct positions.
    """
    sites = synthetic_p2n_sites(seed=seed, min_separation=min_separation)
    cell = NA7SN12_CELL
    lines = [
        "# Synthetic Na7Sn12-like cell for tests (random positions, seed %d): NOT the real compound." % seed,
        "data_synthetic_Na7Sn12_like",
        "_symmetry_space_group_name_H-M 'P 1 1 2/n'",
        "_symmetry_Int_Tables_number 13",
        *(f"_cell_length_{k} {cell[k]}" for k in "abc"),
        *(f"_cell_angle_{k} {cell[k]}" for k in ("alpha", "beta", "gamma")),
        "loop_",
        "_symmetry_equiv_pos_as_xyz",
        *(f"'{op}'" for op in P112N_OPERATIONS),
        "loop_",
        "_atom_site_label",
        "_atom_site_type_symbol",
        "_atom_site_fract_x",
        "_atom_site_fract_y",
        "_atom_site_fract_z",
        "_atom_site_occupancy",
    ]
    for label, element, frac, occupancy in sites:
        occ = half_occupancy if occupancy < 1 else 1.0
        lines.append(f"{label} {element} {frac[0]:.6f} {frac[1]:.6f} {frac[2]:.6f} {occ:g}")
    return "\n".join(lines) + "\n"
