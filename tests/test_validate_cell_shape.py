"""Geometry checks have bounded cost: a skewed or nearly singular cell is judged before any long search."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from atomflow.errors import StructureError
from atomflow.structures.validate import validate_structure

A = 5.64  # Å, rock-salt NaCl (experiment, paper.md)


def _nacl(matrix) -> Structure:
    cart = np.array([[0, 0, 0], [A / 2, 0, 0]])
    return Structure(Lattice(matrix), ["Na", "Cl"], cart, coords_are_cartesian=True)


def test_a_skewed_description_of_a_sound_lattice_passes_like_the_plain_one():
    plain = np.diag([A, A, A])
    # c' = c + 10^4 (a + b): the same lattice; searching its images naively needs ~10^11 of them
    skewed = plain.copy()
    skewed[2] = plain[2] + 1e4 * (plain[0] + plain[1])
    for matrix in (plain, skewed):
        validate_structure(_nacl(matrix), require_periodic=False)


def test_a_skewed_description_still_finds_overlapping_atoms():
    skewed = np.diag([A, A, A])
    skewed[2] += 1e4 * (skewed[0] + skewed[1])
    s = Structure(Lattice(skewed), ["Na", "Cl"], [[0, 0, 0], [0.3, 0, 0]], coords_are_cartesian=True)
    with pytest.raises(StructureError, match=r"Atoms overlap: site [01] \((Na|Cl)\) and site [01] \((Na|Cl)\) are 0.300 Å"):
        validate_structure(s, require_periodic=False)


def test_a_nearly_singular_cell_is_refused_by_name():
    matrix = [[100, 0, 0], [0, 100, 0], [100, 100, 0.01]]  # volume 100 Å³: above the zero-volume floor
    with pytest.raises(StructureError, match=r"nearly singular: its shortest lattice vector .* is 0.01 Å"):
        validate_structure(Structure(Lattice(matrix), ["Na"], [[0, 0, 0]]), require_periodic=False)


def test_more_atoms_than_fit_in_the_volume_is_refused_before_a_neighbour_search():
    s = Structure(Lattice.cubic(2.0), ["Na"] * 100, np.random.default_rng(0).random((100, 3)))
    with pytest.raises(StructureError, match=r"100 atoms in 8 Å³ .* denser than closest-packed"):
        validate_structure(s)
