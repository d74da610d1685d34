"""Vacancy formation energies: E_f = E_d + n·μ − E_p at every symmetry-distinct site.

>>> from atomflow.vacancy import VacancyFormationMaker
>>> flow = VacancyFormationMaker(calculator="kim", species="Na").make(structure)

Modules: ``sites`` (generate: distinct sites, supercells, Schottky set), ``chempot`` (μ from a
reference or the convex hull), ``analysis`` (pure E_f / Schottky arithmetic), ``document``
(:class:`VacancyDocument`), ``flow`` (:class:`VacancyFormationMaker` and its jobs).
"""

from atomflow.vacancy.analysis import formation_energy, formation_energy_range, schottky_energy
from atomflow.vacancy.chempot import ChempotLimits, host_limits, rich_limit_only
from atomflow.vacancy.document import ChemicalPotential, SchottkyResult, SizeCheck, VacancyDocument, VacancySite
from atomflow.vacancy.flow import VacancyFormationMaker
from atomflow.vacancy.sites import distinct_sites, vacancy_cells
from atomflow.vacancy.property import VACANCY  # registers the property (atomflow.properties)

__all__ = [
    "VACANCY",
    "ChemicalPotential",
    "ChempotLimits",
    "SchottkyResult",
    "SizeCheck",
    "VacancyDocument",
    "VacancyFormationMaker",
    "VacancySite",
    "distinct_sites",
    "formation_energy",
    "formation_energy_range",
    "host_limits",
    "rich_limit_only",
    "schottky_energy",
    "vacancy_cells",
]
