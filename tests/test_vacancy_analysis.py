"""Vacancy analysis from numbers: formation/Schottky energies, hull μ ranges, flags. No calculator."""

from __future__ import annotations

import math

import pytest
from ase.build import bulk
from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition, Element
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.documents import Provenance, RelaxDocument
from atomflow.errors import InputError
from atomflow.structures import rocksalt_nacl
from atomflow.vacancy.analysis import (
    formation_energy,
    formation_energy_range,
    relax_flags,
    schottky_energy,
    size_difference,
)
from atomflow.vacancy.chempot import build_phase_diagram, host_limits, rich_limit_only
from atomflow.vacancy.document import ChemicalPotential, VacancyDocument
from atomflow.vacancy.sites import vacancy_cells

# Made-up energies (eV/atom) for a Na–Sn hull; only their relations matter.
E_NA, E_SN = -1.30, -3.80
HF = {"NaSn": -0.30, "NaSn2": -0.25, "Na15Sn4": -0.20}  # formation energies, eV/atom


def total(formula: str, hf: float = 0.0) -> float:
    comp = Composition(formula)
    return comp["Na"] * E_NA + comp["Sn"] * E_SN + hf * comp.num_atoms


# --- formation energies ------------------------------------------------------------------------

def test_formation_energy_is_zero_when_removal_costs_exactly_the_reservoir_energy():
    e_perfect, mu = -100.0, -3.0
    assert formation_energy(e_perfect - mu, e_perfect, 1, mu) == pytest.approx(0.0, abs=1e-12)
    # Removing an atom and breaking bonds worth 1.2 eV more than the reservoir gives E_f = 1.2 eV.
    assert formation_energy(e_perfect - mu + 1.2, e_perfect, 1, mu) == pytest.approx(1.2)


def test_formation_energy_counts_every_removed_atom_and_species():
    e_p, e_d = -200.0, -190.0
    assert formation_energy(e_d, e_p, 2, -3.0) == pytest.approx(e_d + 2 * -3.0 - e_p)
    both = formation_energy(e_d, e_p, {"Na": 2, "Cl": 1}, {"Na": -1.3, "Cl": -1.8})
    assert both == pytest.approx(e_d + 2 * -1.3 + -1.8 - e_p)
    # n·μ of two removed atoms = twice one: E_f(n=2) − E_f(n=1) at the same E_d is μ
    assert formation_energy(e_d, e_p, 2, -3.0) - formation_energy(e_d, e_p, 1, -3.0) == pytest.approx(-3.0)


@pytest.mark.parametrize("removed, mu", [
    (0, -1.0), (-1, -1.0), (1.5, -1.0),            # not a positive whole number of atoms
    ({"Na": 1}, -1.0),                              # mixed forms
    ({"Na": 1, "Cl": 1}, {"Na": -1.0}),             # μ_Cl missing
    ({}, {}),                                       # nothing removed
    (1, float("nan")),
])
def test_formation_energy_rejects_bad_input(removed, mu):
    with pytest.raises(InputError):
        formation_energy(-10.0, -12.0, removed, mu)


def test_formation_energy_range_rises_with_mu():
    e_p, e_d = -100.0, -97.5
    poor, rich = formation_energy_range(e_d, e_p, 1, (-1.75, -1.30))
    assert rich - poor == pytest.approx(-1.30 - -1.75)  # dE_f/dμ = n = 1
    assert formation_energy_range(e_d, e_p, 1, (None, -1.3)) == (None, pytest.approx(e_d - 1.3 - e_p))


def test_schottky_energy_does_not_depend_on_how_the_formula_unit_is_split():
    e_p, e_d, e_fu = -257.6, -247.6, -8.05
    e_s = schottky_energy(e_d, e_p, e_fu)
    assert e_s == pytest.approx(e_d - e_p + e_fu)
    # any μ_Na + μ_Cl = E_fu gives the same sum of the two vacancy formation energies
    for mu_na in (-3.0, -1.3, 0.5):
        split = formation_energy(e_d, e_p, {"Na": 1, "Cl": 1}, {"Na": mu_na, "Cl": e_fu - mu_na})
        assert split == pytest.approx(e_s)


def test_size_difference_and_flags():
    assert size_difference([1.20, 0.90], [1.18, 0.95]) == pytest.approx([-0.02, 0.05])
    with pytest.raises(InputError):
        size_difference([1.0], [1.0, 2.0])
    assert relax_flags("V_Na", True, 0.005, 0.01) == []
    (flag,) = relax_flags("V_Na", False, 0.2, 0.01)
    assert "V_Na" in flag and "not converged" in flag


# --- chemical potentials from the hull ----------------------------------------------------------

def test_na_rich_limit_is_bcc_na_when_the_host_touches_na_and_na_poor_is_set_by_the_neighbour():
    entries = [("Na2", total("Na2")), ("Sn2", total("Sn2")), ("NaSn2", total("NaSn2", HF["NaSn2"]))]
    limits = host_limits(entries, ("Na8Sn8", total("Na8Sn8", HF["NaSn"])), "Na")
    assert limits.host_e_above_hull == pytest.approx(0.0, abs=1e-9)
    assert limits.mu_rich == pytest.approx(E_NA)  # NaSn–Na tie line: μ_Na = E(Na) per atom
    # NaSn–NaSn2 tie line by hand: μ_Sn = E(NaSn2) − E(NaSn) per formula unit, μ_Na = E(NaSn) − μ_Sn
    mu_sn = total("NaSn2", HF["NaSn2"]) - total("NaSn", HF["NaSn"])
    assert limits.mu_poor == pytest.approx(total("NaSn", HF["NaSn"]) - mu_sn)
    assert limits.mu_poor < limits.mu_rich
    assert limits.mu_at_rich["Na"] + limits.mu_at_rich["Sn"] == pytest.approx(total("NaSn", HF["NaSn"]))


def test_na_rich_limit_is_set_by_a_more_na_rich_phase_and_matches_pymatgen():
    entries = [("Na2", total("Na2")), ("Sn2", total("Sn2")), ("NaSn2", total("NaSn2", HF["NaSn2"])),
               ("Na15Sn4", total("Na15Sn4", HF["Na15Sn4"]))]
    host = ("NaSn", total("NaSn", HF["NaSn"]))
    limits = host_limits(entries, host, "Na")
    mu_sn = (total("Na15Sn4", HF["Na15Sn4"]) - 15 * total("NaSn", HF["NaSn"])) / (4 - 15)
    assert limits.mu_rich == pytest.approx(total("NaSn", HF["NaSn"]) - mu_sn)
    assert limits.mu_rich < E_NA  # Na15Sn4 forms before Na metal does
    pd = PhaseDiagram([PDEntry(Composition(c), e) for c, e in [*entries, host]])
    lo, hi = pd.get_chempot_range_stability_phase(Composition("NaSn"), Element("Na"))[Element("Na")]
    assert (limits.mu_poor, limits.mu_rich) == (pytest.approx(lo), pytest.approx(hi))


def test_host_above_the_hull_has_one_mu_and_says_so():
    entries = [("Na", E_NA), ("Sn", E_SN), ("NaSn", total("NaSn", HF["NaSn"]))]
    limits = host_limits(entries, ("NaSn2", total("NaSn2", -0.05)), "Na")  # NaSn2 above NaSn + Sn
    assert limits.host_e_above_hull > 0.05
    assert limits.mu_poor == pytest.approx(limits.mu_rich)
    assert any("above" in note for note in limits.notes)


def test_hull_needs_elemental_references():
    with pytest.raises(InputError, match="Cl"):
        build_phase_diagram([("Na", E_NA), ("NaCl", -8.0)])


def test_nacl_na_rich_limit_from_the_stability_condition():
    e_na, e_nacl = -1.30, -6.90  # eV/atom, eV per formula unit (made up)
    limits = rich_limit_only(("Na4Cl4", 4 * e_nacl), "Na", e_na)
    assert limits.mu_rich == pytest.approx(e_na)
    assert limits.mu_poor is None
    assert limits.mu_at_rich["Cl"] == pytest.approx(e_nacl - e_na)
    assert "Cl2" in limits.notes[0]


# --- the document: unconverged relaxations are flagged, never hidden ----------------------------

def _host_doc(structure, converged=True):
    return RelaxDocument(formula=structure.composition.reduced_formula, structure=structure,
                         input_structure=structure, n_atoms=len(structure), energy=-4.0 * len(structure),
                         energy_per_atom=-4.0, max_force=0.0, stress_gpa=[0.0] * 6, relax_cell=True, fmax=0.01,
                         n_steps=3, n_calls=4, converged=converged, provenance=Provenance.from_spec("emt"))


def _run(energy, converged=True, max_force=0.001):
    return {"energy": energy, "converged": converged, "max_force": max_force, "n_steps": 5}


def test_unconverged_defect_relax_keeps_e_f_but_is_flagged():
    cu = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.6, cubic=True))
    cells = vacancy_cells(cu, "Cu", min_length=7.0)
    e_p, mu = -4.0 * 32, -4.0
    runs = [{"perfect": _run(e_p), "vacancies": [_run(e_p - mu + 1.25, converged=False, max_force=0.3)],
             "schottky": None}]
    chem = ChemicalPotential(species="Cu", mu=mu, mu_source="given")
    doc = VacancyDocument.from_runs(_host_doc(cu), [cells], runs, chem, spec="emt", settings={}, fmax=0.01)
    (site,) = doc.sites
    assert site.e_f == pytest.approx(1.25)
    assert site.converged is False and doc.converged is False
    assert any("not converged" in f and "V_Cu" in f for f in doc.flags)


@pytest.mark.parametrize("large_gain, size_flag", [(0.08, False), (0.30, True)])
def test_document_schottky_and_size_check_from_numbers(large_gain, size_flag):
    nacl = rocksalt_nacl()
    small = vacancy_cells(nacl, "Na", min_length=10.0, schottky=True)
    large = vacancy_cells(nacl, "Na", min_length=14.0, schottky=True)
    eps = -8.0  # eV per formula unit; energies below are made-up but consistent
    runs = []
    for cells, relax_gain in ((small, 0.10), (large, large_gain)):
        n_fu = cells.n_atoms // 2
        runs.append({"perfect": _run(eps * n_fu),
                     "vacancies": [_run(eps * n_fu + 1.3 + 4.0 - relax_gain)],
                     "schottky": _run(eps * (n_fu - 1) + 2.0 - relax_gain)})
    chem = ChemicalPotential(species="Na", mu=-1.3, mu_source="given")
    doc = VacancyDocument.from_runs(_host_doc(nacl), [small, large], runs, chem, spec="fumi_tosi",
                                    settings={}, fmax=0.01, formal_charges={"Na": 1.0, "Cl": -1.0})
    assert doc.schottky.e_schottky == pytest.approx(2.0 - 0.10)
    assert doc.schottky.removed_species == {"Na": 1, "Cl": 1}
    assert doc.sites[0].e_f == pytest.approx(4.0 - 0.10)
    check = doc.size_check
    assert check.n_atoms == (small.n_atoms, large.n_atoms) and large.n_atoms > small.n_atoms
    assert check.difference == [pytest.approx(0.10 - large_gain)]
    assert check.e_schottky == (pytest.approx(1.90), pytest.approx(2.0 - large_gain))
    # a change above 0.1 eV between the two cells means the main cell is too small: flagged
    assert any(f.startswith("size check: E_f changes") for f in doc.flags) is size_flag
    assert any("charged cell" in f for f in doc.flags)
    assert any("Schottky" in n and "neutral" in n for n in doc.notes)
    assert doc.converged and math.isfinite(doc.e_f_min)
