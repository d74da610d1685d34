"""Ordering of occupancy-0.5 sites (the paper's Na7Sn12 recipe) on CIFs the tests write themselves."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from atomflow.errors import InputError, StructureError
from atomflow.structures import order_half_occupied, read_cif, validate_structure
from atomflow.structures.synthetic import synthetic_p2n_cif


@pytest.fixture(scope="module")
def p2n_cif(tmp_path_factory) -> str:
    """Path of the synthetic Na7Sn12-like P2/n CIF (Na28Sn48, one Na site at occupancy 0.5)."""
    path = tmp_path_factory.mktemp("cif") / "synthetic_P2n.cif"
    path.write_text(synthetic_p2n_cif(seed=0))
    return str(path)


@pytest.fixture(scope="module")
def ordered(p2n_cif) -> Structure:
    return order_half_occupied(p2n_cif)


def _write(tmp_path, text: str, name: str = "x.cif") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_synthetic_cif_is_p2n_with_min_separation(p2n_cif):
    parent = read_cif(p2n_cif)
    ordered_part = Structure.from_sites([s for s in parent if s.is_ordered])
    assert SpacegroupAnalyzer(ordered_part, symprec=1e-3).get_space_group_number() == 13
    dist = parent.distance_matrix[np.triu_indices(len(parent), 1)]
    assert dist.min() >= 2.0 - 1e-6  # half-occupied positions included


def test_parse_keeps_half_occupied_site(p2n_cif):
    parent = read_cif(p2n_cif)
    assert parent.composition.formula == "Na28 Sn48"
    half = [s for s in parent if not s.is_ordered]
    assert len(half) == 4
    assert all(dict(s.species.as_dict()) == {"Na": 0.5} for s in half)


def test_default_ordering_is_the_papers_152_atom_cell(p2n_cif, ordered):
    parent = read_cif(p2n_cif)
    assert len(ordered) == 152
    assert ordered.composition["Na"] == 56 and ordered.composition["Sn"] == 96
    assert ordered.is_ordered
    np.testing.assert_allclose(ordered.lattice.abc, np.multiply(parent.lattice.abc, (1, 2, 1)))
    filled = np.array([s.frac_coords for s in ordered if s.properties["half_occupied"]])
    assert len(filled) == 4  # 4 positions × 0.5 per cell × 2 cells
    assert np.all(np.mod(filled[:, 1], 1.0) < 0.5)  # lower half along b filled, upper half vacant
    validate_structure(ordered, expected_formula="Na56Sn96")


def test_default_ordering_is_deterministic(p2n_cif, ordered):
    again = order_half_occupied(p2n_cif)
    assert [s.species_string for s in again] == [s.species_string for s in ordered]
    np.testing.assert_array_equal(again.frac_coords, ordered.frac_coords)


def test_structure_input_and_explicit_axis_give_the_same_cell(p2n_cif, ordered):
    by_structure = order_half_occupied(read_cif(p2n_cif), supercell=(1, 2, 1), axis="b")
    np.testing.assert_array_equal(by_structure.frac_coords, ordered.frac_coords)


def _orbit_count(parent: Structure) -> int:
    """Symmetry-distinct ways to fill 4 of the 8 candidate images (Burnside over spglib operations)."""
    marked = Structure(parent.lattice, ["K" if not s.is_ordered else s.specie.symbol for s in parent],
                       parent.frac_coords)
    marked.make_supercell([1, 2, 1])
    ops = SpacegroupAnalyzer(marked, symprec=1e-3).get_symmetry_operations()
    cand = marked.frac_coords[[i for i, s in enumerate(marked) if s.specie.symbol == "K"]]
    perms = []
    for op in ops:
        images = op.operate_multi(cand)
        perms.append([int(np.argmin(np.abs((cand - x + 0.5) % 1 - 0.5).sum(1))) for x in images])
    subsets = itertools.combinations(range(len(cand)), len(cand) // 2)
    return len({min(tuple(sorted(p[i] for i in c)) for p in perms) for c in subsets})


def test_all_orderings_are_distinct_default_first(p2n_cif, ordered):
    orderings = order_half_occupied(p2n_cif, all_orderings=True)
    assert len(orderings) >= 1
    np.testing.assert_array_equal(orderings[0].frac_coords, ordered.frac_coords)
    assert all(len(s) == 152 and s.composition.formula == "Na56 Sn96" for s in orderings)
    # Distinct means one per orbit of the parent cell's symmetry acting on the candidate images.
    assert len(orderings) == _orbit_count(read_cif(p2n_cif))


def test_too_many_orderings_is_refused(p2n_cif):
    with pytest.raises(InputError, match="70 ways.*max_orderings=10"):
        order_half_occupied(p2n_cif, all_orderings=True, max_orderings=10)


def test_occupancy_other_than_half_names_it(tmp_path):
    path = _write(tmp_path, synthetic_p2n_cif(seed=0, half_occupancy=0.33))
    with pytest.raises(StructureError, match=r"Na8.*occupancy 0\.33"):
        order_half_occupied(path)


@pytest.mark.parametrize("supercell", [(1, 1, 1), (3, 1, 1)])
def test_supercell_without_a_doubled_axis_is_refused(p2n_cif, supercell):
    with pytest.raises(InputError, match="no axis with multiplier 2"):
        order_half_occupied(p2n_cif, supercell=supercell)


@pytest.mark.parametrize("kwargs", [dict(supercell=(1, 0, 2)), dict(supercell=(2, 2, 1)),
                                    dict(supercell=(2, 3, 1), axis="b"), dict(axis=5)])
def test_bad_supercell_or_axis_is_refused(p2n_cif, kwargs):
    with pytest.raises(InputError):
        order_half_occupied(p2n_cif, **kwargs)


MIXED_CIF = """data_mixed
_symmetry_space_group_name_H-M 'P 1'
_cell_length_a 5.0
_cell_length_b 5.0
_cell_length_c 5.0
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
loop_
_symmetry_equiv_pos_as_xyz
'x, y, z'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
Na1 Na 0.0 0.0 0.0 0.5
K1 K 0.0 0.0 0.0 0.5
Cl1 Cl 0.5 0.5 0.5 1.0
"""


def test_mixed_species_disorder_is_refused(tmp_path):
    with pytest.raises(StructureError, match="mixed-species"):
        order_half_occupied(_write(tmp_path, MIXED_CIF))


def test_malformed_cif_gives_one_clear_error(tmp_path):
    path = _write(tmp_path, "data_broken\n_cell_length_a five\nloop_\n_atom_site_label\nNa1\n")
    with pytest.raises(StructureError, match="could not be parsed"):
        order_half_occupied(path)


def test_cif_without_disorder_gives_the_plain_supercell(tmp_path):
    text = MIXED_CIF.replace("Na1 Na 0.0 0.0 0.0 0.5\nK1 K 0.0 0.0 0.0 0.5", "Na1 Na 0.0 0.0 0.0 1.0")
    result = order_half_occupied(_write(tmp_path, text))
    assert len(result) == 4 and result.composition.formula == "Na2 Cl2"
