"""Prototype structures of the interphase screening: space group, formula, stated lattice, provenance."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from atomflow.errors import InputError
from atomflow.structures import validate_structure
from atomflow.structures.prototypes import PROTOTYPES, interphase_prototypes, prototype

PROVENANCE = Path(__file__).resolve().parents[1] / "structures" / "PROVENANCE.md"

#: formula → (ITA space-group number, conventional-cell atoms) from the structure type
EXPECTED = {"Na": (229, 2), "NaCl": (225, 8), "NaF": (225, 8), "NaBr": (225, 8), "NaI": (225, 8),
            "Na2O": (225, 12), "Na2S": (225, 12), "Na3N": (221, 4), "Na3Sb": (194, 8), "Na3SbS4": (217, 16)}


def test_the_study_has_every_phase_of_the_issue():
    assert set(PROTOTYPES) == set(EXPECTED)


@pytest.mark.parametrize("formula", sorted(EXPECTED))
def test_each_prototype_has_its_space_group_formula_and_stated_lattice(formula):
    proto, phase = PROTOTYPES[formula], prototype(formula)
    s = phase.structure
    number, n_atoms = EXPECTED[formula]
    sga = SpacegroupAnalyzer(s, symprec=1e-3)
    assert sga.get_space_group_number() == number == proto.number
    assert s.composition.reduced_formula == formula and len(s) == n_atoms
    assert np.isclose(s.lattice.a, proto.a, atol=1e-8)
    if proto.c is None:
        assert np.allclose(s.lattice.abc, proto.a) and np.allclose(s.lattice.angles, 90)
    else:
        assert np.isclose(s.lattice.c, proto.c, atol=1e-8) and np.isclose(s.lattice.gamma, 120)
    validate_structure(s, expected_formula=formula)
    assert not phase.stand_in and f"{proto.a:.5g}" in phase.source and proto.source in phase.source


@pytest.mark.parametrize("formula", sorted(EXPECTED))
def test_each_prototype_names_its_source_and_the_built_cell_is_the_stated_one(formula):
    proto = PROTOTYPES[formula]
    # a source read somewhere (found_in says where), or an explicit UNVERIFIED flag whose note says why
    if proto.verified:
        assert proto.found_in.strip() and not proto.source.upper().startswith("UNVERIFIED")
        assert re.search(r"\b(18|19|20)\d\d\)", proto.source) or "secondary source" in proto.source
    else:
        assert proto.source.startswith("UNVERIFIED") and "unverified" in proto.note.lower()
    assert proto.temperature_K is None or 0.0 < proto.temperature_K < 400.0  # kelvin, a solid-state measurement
    # spglib's standard conventional cell of what was built: the stated space group at the stated lattice
    sga = SpacegroupAnalyzer(prototype(formula).structure, symprec=1e-3)
    assert sga.get_space_group_symbol() == proto.space_group
    conventional = sga.get_conventional_standard_structure()
    assert np.isclose(conventional.lattice.a, proto.a, rtol=1e-9)
    assert proto.c is None or np.isclose(conventional.lattice.c, proto.c, rtol=1e-9)


def test_cubic_na3sbs4_has_the_sbs4_tetrahedron_of_the_stated_sulfur_coordinate():
    proto = PROTOTYPES["Na3SbS4"]
    x = next(xyz[0] for el, xyz, _ in proto.sites if el == "S")
    s = proto.build().structure
    sb = next(i for i, site in enumerate(s) if site.specie.symbol == "Sb")
    d = sorted(s.get_distance(sb, j) for j, site in enumerate(s) if site.specie.symbol == "S")
    # S at (x, x, x) around Sb at the origin (I-43m 2a/8c): four equal bonds of sqrt(3)·x·a
    assert np.allclose(d[:4], np.sqrt(3) * x * proto.a, atol=1e-6) and d[4] > d[3] + 1.0


@pytest.mark.parametrize("formula, shortest", [
    ("NaCl", lambda a: a / 2),  # rock salt: cation–anion along the cube edge
    ("Na2O", lambda a: a * np.sqrt(3) / 4),  # anti-fluorite: Na in the tetrahedral holes of the fcc O
    ("Na3N", lambda a: a / 2),  # anti-ReO3: Na at the edge centres, N at the corners
    ("Na", lambda a: a * np.sqrt(3) / 2),  # bcc nearest neighbours
])
def test_nearest_neighbour_distance_is_that_of_the_structure_type(formula, shortest):
    s = prototype(formula, a=5.0).structure  # the lattice parameter given here, not the experimental one
    d = s.distance_matrix[np.triu_indices(len(s), 1)]
    assert np.isclose(d.min(), shortest(5.0), atol=1e-6)


def test_every_prototype_and_its_number_is_in_provenance():
    text = PROVENANCE.read_text()
    for formula, proto in PROTOTYPES.items():
        row = next((line for line in text.splitlines() if line.startswith(f"| {formula} |")), None)
        assert row is not None, f"{formula} missing from structures/PROVENANCE.md"
        assert f"{proto.a:g}" in row and (proto.c is None or f"{proto.c:g}" in row), row


def test_a_bad_name_or_lattice_is_one_clear_error():
    with pytest.raises(InputError, match="No prototype 'NaCL'"):
        prototype("NaCL")
    with pytest.raises(InputError, match="positive"):
        prototype("NaCl", a=-5.64)


def test_interphase_prototypes_start_with_the_metal_reference():
    phases = interphase_prototypes()
    assert phases[0].structure.composition.reduced_formula == "Na"
    assert len({p.label for p in phases}) == len(phases) == len(EXPECTED)
