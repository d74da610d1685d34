"""Builders, stand-in CIFs, Na7Sn12 offline/cached, validation errors and the supercell rule."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from atomflow.errors import InputError, StructureError
from atomflow.structures import (
    LabelledStructure,
    bcc_na,
    cod,
    load_structure,
    make_supercell,
    min_image_distance,
    na7sn12,
    na_sn_phases,
    read_cif,
    rocksalt_nacl,
    supercell_matrix,
    validate_structure,
)
from atomflow.structures.synthetic import synthetic_p2n_cif

REPO_STRUCTURES = Path(__file__).resolve().parents[1] / "structures"


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty structures_dir and a COD download that always fails; returns the folder."""
    monkeypatch.setenv("ATOMFLOW_STRUCTURES_DIR", str(tmp_path))

    def no_network(cod_id, timeout):
        raise cod.CODUnavailableError("no network in tests")

    monkeypatch.setattr(cod, "fetch_cod_cif", no_network)
    return tmp_path


# ---- builders -------------------------------------------------------------------------------------

def test_rocksalt_nacl():
    conv = rocksalt_nacl()
    assert len(conv) == 8 and conv.composition.formula == "Na4 Cl4"
    assert conv.get_space_group_info()[1] == 225
    prim = rocksalt_nacl(conventional=False)
    assert len(prim) == 2 and prim.volume == pytest.approx(conv.volume / 4)


def test_bcc_na():
    conv = bcc_na()
    assert len(conv) == 2 and conv.composition.formula == "Na2"
    assert conv.get_space_group_info()[1] == 229
    assert len(bcc_na(conventional=False)) == 1


@pytest.mark.parametrize("builder", [rocksalt_nacl, bcc_na])
def test_builders_refuse_non_positive_lattice_constant(builder):
    with pytest.raises(InputError, match="positive"):
        builder(a=0.0)


# ---- Na7Sn12 ----------------------------------------------------------------------------------------

def test_na7sn12_offline_returns_labelled_stand_in_quickly(offline):
    start = time.perf_counter()
    cell = na7sn12()
    assert time.perf_counter() - start < 15
    assert cell.stand_in is True
    assert "stand-in" in cell.label and "NaSn" in cell.label
    assert len(cell.structure) == 32 and cell.structure.composition.reduced_formula == "NaSn"
    assert "no network in tests" in cell.note


def test_na7sn12_cod_source_offline_raises(offline):
    with pytest.raises(InputError, match="could not be downloaded"):
        na7sn12(source="cod")


def test_na7sn12_bad_arguments(offline):
    with pytest.raises(InputError, match="source"):
        na7sn12(source="internet")
    with pytest.raises(InputError, match="ordering_index"):
        na7sn12(ordering_index=-1)


def test_na7sn12_uses_cached_cif(offline):
    (offline / "Na7Sn12_COD4314129.cif").write_text(synthetic_p2n_cif(seed=0))
    cell = na7sn12()
    assert cell.stand_in is False
    assert len(cell.structure) == 152
    assert cell.structure.composition.formula == "Na56 Sn96"
    assert "4314129" in cell.label


def test_na7sn12_downloads_then_caches(monkeypatch, tmp_path):
    monkeypatch.setenv("ATOMFLOW_STRUCTURES_DIR", str(tmp_path))
    calls = []

    def fake_fetch(cod_id, timeout):
        calls.append((cod_id, timeout))
        return synthetic_p2n_cif(seed=0)

    monkeypatch.setattr(cod, "fetch_cod_cif", fake_fetch)
    first = na7sn12()
    second = na7sn12()
    assert len(calls) == 1 and calls[0][0] == 4314129
    assert (tmp_path / "Na7Sn12_COD4314129.cif").read_text().startswith("# Downloaded from")
    assert not first.stand_in and len(first.structure) == 152
    np.testing.assert_array_equal(first.structure.frac_coords, second.structure.frac_coords)


def test_fetch_gives_up_after_the_timeout(monkeypatch):
    import requests

    monkeypatch.setattr(requests, "get", lambda *a, **k: time.sleep(5))
    start = time.perf_counter()
    with pytest.raises(cod.CODUnavailableError, match="did not answer"):
        cod.fetch_cod_cif(4314129, timeout=0.2)
    assert time.perf_counter() - start < 3


def test_labelled_structure_round_trip():
    item = LabelledStructure(bcc_na(), "Na (bcc)", "built", stand_in=False, note="n")
    back = LabelledStructure.from_dict(item.as_dict())
    assert back.label == item.label and back.structure == item.structure
    with pytest.raises(AttributeError):
        item.label = "other"  # frozen


# ---- stand-in CIFs ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "path", sorted(p for p in REPO_STRUCTURES.glob("*.cif") if "_COD" not in p.name), ids=lambda p: p.name
)
def test_every_cif_in_structures_loads_and_validates(path):
    structure = load_structure(path)
    assert structure.is_ordered and len(structure) > 0


def test_load_structure_by_short_name():
    assert load_structure("NaSn").composition.formula == "Na16 Sn16"
    assert load_structure("Na15Sn4").composition.reduced_formula == "Na15Sn4"
    assert load_structure("Sn").composition.formula == "Sn2"
    with pytest.raises(InputError, match="No structure file"):
        load_structure("Na99Sn1")


def test_na_sn_phases_are_labelled():
    phases = na_sn_phases()
    assert len(phases) == 7
    by_label = {p.label: p for p in phases}
    assert by_label["Na (bcc)"].stand_in is False
    assert all(p.stand_in for p in phases if p.label != "Na (bcc)")
    assert {p.structure.composition.reduced_formula for p in phases} >= {"Na", "Sn", "NaSn", "Na15Sn4"}


# ---- validation -----------------------------------------------------------------------------------------

def test_malformed_cif_text_is_one_structure_error():
    with pytest.raises(StructureError, match="could not be parsed"):
        read_cif("this is not\na CIF file\n")


def test_overlapping_atoms_name_the_distance():
    s = Structure(Lattice.cubic(5.0), ["Na", "Cl"], [[0, 0, 0], [0.06, 0, 0]])
    with pytest.raises(StructureError, match=r"site 0 \(Na\).*site 1 \(Cl\).*0\.300 Å"):
        validate_structure(s)


def test_slab_with_vacuum_is_refused_for_bulk():
    nacl = rocksalt_nacl()
    slab = Structure(Lattice.tetragonal(5.64, 5.64 + 15.0), nacl.species,
                     nacl.cart_coords, coords_are_cartesian=True)
    with pytest.raises(StructureError, match="vacuum along c.*3D-periodic"):
        validate_structure(slab)
    validate_structure(slab, require_periodic=False)


def test_composition_mismatch_says_expected_and_got():
    with pytest.raises(StructureError, match="expected Na56Sn96, got Na4Cl4"):
        validate_structure(rocksalt_nacl(), expected_formula="Na56Sn96")
    validate_structure(rocksalt_nacl(), expected_formula="NaCl")  # a reduced formula: any multiple


def test_partial_occupancy_is_refused():
    s = Structure(Lattice.cubic(4.0), [{"Na": 0.5}], [[0, 0, 0]])
    with pytest.raises(StructureError, match="partially occupied"):
        validate_structure(s)


def test_nan_coordinates_and_zero_volume_are_refused():
    nan = Structure(Lattice.cubic(5.0), ["Na", "Na"], [[0, 0, 0], [np.nan, 0.5, 0.5]])
    with pytest.raises(StructureError, match="non-finite"):
        validate_structure(nan)
    flat = Structure(Lattice([[5, 0, 0], [5, 0, 0], [0, 0, 5]]), ["Na"], [[0, 0, 0]])
    with pytest.raises(StructureError, match="volume"):
        validate_structure(flat)


# ---- supercell rule --------------------------------------------------------------------------------------

def _assert_images_at_least(sc: Structure, min_length: float):
    centers, neighbors, _, _ = sc.get_neighbor_list(min_length - 1e-6, exclude_self=True)
    assert not np.any(centers == neighbors), "an atom sees its own periodic image within min_length"
    assert min_image_distance(sc) >= min_length - 1e-6


@pytest.mark.parametrize("conventional", [True, False])
def test_supercell_rule_for_nacl(conventional):
    unit = rocksalt_nacl(conventional=conventional)
    matrix = supercell_matrix(unit, min_length=10.0, max_atoms=300)
    assert matrix.dtype.kind == "i" and matrix.shape == (3, 3) and np.linalg.det(matrix) > 0
    sc = make_supercell(unit, min_length=10.0, max_atoms=300)
    assert len(sc) <= 300
    assert len(sc) == len(unit) * round(np.linalg.det(matrix))
    _assert_images_at_least(sc, 10.0)


def test_min_image_distance_is_the_shortest_translation():
    assert min_image_distance(rocksalt_nacl()) == pytest.approx(5.64)
    assert min_image_distance(rocksalt_nacl(conventional=False)) == pytest.approx(5.64 / np.sqrt(2))


@pytest.mark.parametrize("kwargs", [dict(min_length=0.0), dict(min_length=-1.0), dict(max_atoms=0)])
def test_supercell_sizes_must_be_positive(kwargs):
    with pytest.raises(InputError, match="supercell size must be positive"):
        supercell_matrix(rocksalt_nacl(), **kwargs)


def test_supercell_too_large_names_what_to_relax():
    with pytest.raises(InputError, match="Raise max_atoms or lower min_length"):
        supercell_matrix(rocksalt_nacl(), min_length=30.0, max_atoms=300)


def test_supercell_choice_does_not_follow_relaxation_noise():
    """Four copies of the NaCl primitive cell with 1e-4 Å noise on the lattice (what a float32 potential's
    relaxation leaves) get one and the same supercell matrix: two runs of a study put a hop into the same cell.
    Without the noise removal 30 such copies got 17 different (equivalent) matrices at 8.5 Å, these 4 got 4;
    idealising the lengths only (the orientation still noisy) left 10 of 30."""
    from ase.build import bulk
    from pymatgen.io.ase import AseAtomsAdaptor

    clean = AseAtomsAdaptor.get_structure(bulk("NaCl", "rocksalt", a=5.69))
    rng = np.random.default_rng(0)
    chosen = set()
    for _ in range(4):
        noisy = Structure(Lattice(clean.lattice.matrix + rng.normal(scale=1e-4, size=(3, 3))), clean.species,
                          clean.frac_coords)
        chosen.add(tuple(supercell_matrix(noisy, min_length=8.5, max_atoms=30).ravel()))
    assert len(chosen) == 1


def test_supercell_of_a_disordered_cell_is_still_found():
    """The noise removal needs one species per site; a disordered cell (ordered later, or sized before ordering)
    gets its supercell from the real lattice as before (the first version raised AttributeError here)."""
    disordered = Structure(Lattice.cubic(4.0), [{"Na": 0.5, "K": 0.5}], [[0, 0, 0]])
    assert supercell_matrix(disordered, min_length=8.0).tolist() == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
