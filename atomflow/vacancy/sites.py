"""Generate step: symmetry-distinct vacancy sites and the supercells that hold them.

Sites come from pymatgen-analysis-defects' :class:`VacancyGenerator` on the relaxed unit cell (one
:class:`Vacancy` per group of symmetry-equivalent sites of the removed species). Each is placed in
the perfect supercell built by the shared rule (:func:`atomflow.structures.supercell.supercell_matrix`):
the defect cell is the perfect supercell with that one atom deleted, so defect and perfect cells
share every other atom position exactly (E_d − E_p has no reference-cell noise).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field
from pymatgen.analysis.defects.generators import VacancyGenerator
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from atomflow.errors import InputError
from atomflow.structures.supercell import min_image_distance, supercell_matrix
from atomflow.vacancy.chempot import ANION_SPECIES


class DistinctSite(BaseModel):
    """One symmetry-distinct site of the removed species in the unit cell."""

    index: int = Field(description="Index of the representative site in the unit cell.")
    species: str = Field(description="Element on the site.")
    wyckoff: str = Field(description="Wyckoff label: multiplicity in the conventional cell + letter (e.g. 4a).")
    multiplicity: int = Field(description="Number of equivalent sites in the unit cell given.")
    frac_coords: list[float] = Field(description="Fractional coordinates of the representative site "
                                                 "(unit cell).")


class VacancyCell(BaseModel):
    """A supercell with atoms removed (one site, or a Schottky set)."""

    removed: list[int] = Field(description="Indices (in the perfect supercell) of the removed atoms.")
    removed_species: dict[str, int] = Field(description="Atoms removed per species.")
    structure: Structure = Field(description="The defect supercell (before relaxation).")
    site: DistinctSite | None = Field(default=None, description="The distinct site (single vacancies).")
    multiplicity: int | None = Field(default=None, description="Equivalent sites in the supercell.")
    separation: float | None = Field(default=None, description="Shortest distance between removed atoms "
                                                                 "(minimum image), Å (Schottky sets).")

    model_config = {"arbitrary_types_allowed": True}


class VacancyCellSet(BaseModel):
    """Perfect supercell and every defect cell made from it."""

    supercell_matrix: list[list[int]] = Field(description="Rows: supercell vectors in unit-cell vectors.")
    min_length: float = Field(description="Requested smallest image distance, Å.")
    min_image_distance: float = Field(description="Actual shortest lattice translation of the supercell, Å.")
    perfect: Structure = Field(description="Perfect supercell.")
    vacancies: list[VacancyCell] = Field(description="One cell per symmetry-distinct site.")
    schottky: VacancyCell | None = Field(default=None, description="Schottky cell (one formula unit removed).")

    model_config = {"arbitrary_types_allowed": True}

    @property
    def n_atoms(self) -> int:
        return len(self.perfect)


def distinct_sites(structure: Structure, species: str, symprec: float = 0.01,
                   angle_tolerance: float = 5.0) -> list[DistinctSite]:
    """Symmetry-distinct sites of ``species`` (pymatgen-analysis-defects' VacancyGenerator)."""
    present = {el.symbol for el in structure.composition.elements}
    if species not in present:
        raise InputError(f"The structure ({structure.composition.reduced_formula}) has no {species} to remove; "
                         f"choose one of {sorted(present)}.")
    generator = VacancyGenerator(symprec=symprec, angle_tolerance=angle_tolerance)
    # oxi_state=0: vacancies here are neutral; it also skips the combinatorial oxidation-state guess.
    vacancies = list(generator.generate(structure, rm_species=[species], oxi_state=0))
    analyzer = SpacegroupAnalyzer(structure, symprec=symprec, angle_tolerance=angle_tolerance)
    symmetrized = analyzer.get_symmetrized_structure()
    # Wyckoff multiplicity in the conventional cell (pymatgen's own symbols count the cell given).
    to_conventional = len(analyzer.get_conventional_standard_structure()) / len(structure)
    wyckoff = {i: f"{round(len(group) * to_conventional)}{symmetrized.wyckoff_letters[group[0]]}"
               for group in symmetrized.equivalent_indices for i in group}
    sites = []
    for vacancy in vacancies:
        index = int(vacancy.defect_site_index)
        sites.append(DistinctSite(index=index, species=species, wyckoff=wyckoff[index],
                                  multiplicity=int(vacancy.multiplicity),
                                  frac_coords=[float(x) for x in structure[index].frac_coords]))
    return sorted(sites, key=lambda s: s.index)


def site_in_supercell(supercell: Structure, unit_frac: Sequence[float], matrix: np.ndarray,
                      tol: float = 1e-3) -> int:
    """Index of the supercell site on top of a unit-cell site (its image in the supercell), Å tolerance."""
    frac = np.asarray(unit_frac, dtype=float) @ np.linalg.inv(np.asarray(matrix, dtype=float))
    dists = supercell.lattice.get_all_distances(frac, supercell.frac_coords)[0]
    index = int(np.argmin(dists))
    if dists[index] > tol:
        raise InputError(f"No supercell site within {tol} Å of the unit-cell site {list(unit_frac)}; "
                         "the supercell was not built from this unit cell.")
    return index


def remove_sites(structure: Structure, indices: Sequence[int]) -> Structure:
    defect = structure.copy()
    defect.remove_sites(sorted(set(int(i) for i in indices)))
    return defect


def schottky_indices(supercell: Structure, first: int) -> list[int]:
    """Atoms of one formula unit to remove, starting with ``first``, each further atom as far as possible.

    Greedy: each next atom (of the species the formula unit still needs) maximises its shortest
    minimum-image distance to the atoms already chosen, so the vacancies interact as little as the
    supercell allows (for NaCl: the Cl at maximum separation from the Na vacancy).
    """
    reduced = supercell.composition.reduced_composition
    needed = {el.symbol: int(round(n)) for el, n in reduced.items()}
    first_species = supercell[first].specie.symbol
    needed[first_species] -= 1
    chosen = [first]
    dmat = supercell.distance_matrix
    species = np.array([site.specie.symbol for site in supercell])
    for symbol in sorted(needed):
        for _ in range(needed[symbol]):
            candidates = [i for i in np.flatnonzero(species == symbol) if i not in chosen]
            best = max(candidates, key=lambda i: (dmat[i, chosen].min(), -i))
            chosen.append(int(best))
    return chosen


def is_ionic_binary(structure: Structure, species: str) -> bool:
    """The automatic Schottky rule: a binary compound of ``species`` with an anion (N, P, O, S, Se, Te,
    F, Cl, Br, I) and ``species`` itself not that anion."""
    elements = {el.symbol for el in structure.composition.elements}
    anions = elements & ANION_SPECIES
    return len(elements) == 2 and len(anions) == 1 and species not in anions


def vacancy_cells(structure: Structure, species: str, *, min_length: float = 10.0, max_atoms: int = 300,
                  schottky: bool = False, symprec: float = 0.01, angle_tolerance: float = 5.0,
                  sites: Sequence[DistinctSite] | None = None) -> VacancyCellSet:
    """Perfect supercell (shared rule) and one vacancy cell per distinct site (+ a Schottky cell)."""
    sites = list(sites) if sites is not None else distinct_sites(structure, species, symprec, angle_tolerance)
    matrix = supercell_matrix(structure, min_length=min_length, max_atoms=max_atoms)
    perfect = structure.make_supercell(matrix, in_place=False)
    det = round(abs(np.linalg.det(matrix)))
    cells = []
    for site in sites:
        index = site_in_supercell(perfect, site.frac_coords, matrix)
        cells.append(VacancyCell(removed=[index], removed_species={species: 1},
                                 structure=remove_sites(perfect, [index]), site=site,
                                 multiplicity=site.multiplicity * det))
    schottky_cell = None
    if schottky:
        if len(perfect.composition.elements) < 2:
            raise InputError("A Schottky defect needs a compound; the host is an element. Set schottky=False.")
        removed = schottky_indices(perfect, cells[0].removed[0])
        counts: dict[str, int] = {}
        for i in removed:
            counts[perfect[i].specie.symbol] = counts.get(perfect[i].specie.symbol, 0) + 1
        dmat = perfect.distance_matrix[np.ix_(removed, removed)]
        separation = float(dmat[np.triu_indices(len(removed), 1)].min())
        schottky_cell = VacancyCell(removed=removed, removed_species=counts,
                                    structure=remove_sites(perfect, removed), separation=separation)
    return VacancyCellSet(supercell_matrix=np.asarray(matrix, dtype=int).tolist(), min_length=min_length,
                          min_image_distance=min_image_distance(perfect), perfect=perfect, vacancies=cells,
                          schottky=schottky_cell)
