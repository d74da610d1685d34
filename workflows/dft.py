"""atomflow's own DFT column: GPAW PW-PBE numbers beside SevenNet-0 and the paper (`atomflow run dft`).

Loaded by `atomflow run dft` / `make dft` (and benchmarks/bench_seeding.py, which uses the same cell, settings
and Makers); `make_flow(calculator)` returns the jobflow Flow. With no calculator it holds, for the report's
three-column table (atomflow/report/dft_column.py: ML potential vs atomflow's DFT vs the paper):

- on the **small cell** (the supercell rule at :data:`SMALL_CELL_MIN_LENGTH` = 8.5 Å, ≤ 30 atoms, on the
  primitive fcc cell: 30 sites, 15 NaCl units, 29 atoms with one vacancy; the paper's cells are larger, so
  these DFT numbers carry a finite-size error the report states), GPAW :data:`SMALL_CELL_GPAW` and, for
  comparison, SevenNet-0 on the same cell and settings:
  the Na-vacancy nearest-neighbour CI-NEB barrier (:func:`migration_maker`, seeded by SevenNet-0 by
  default), the neutral Na vacancy (μ_Na from bcc Na with the same calculator) and the Schottky pair
  (:func:`vacancy_maker`);
- NaCl and bcc Na elastic constants, primitive cells: workflows/dft_elastic.py (550 eV, its own k-meshes).

Why not the 2×2×2 supercell of the primitive cell (16 sites, 15 atoms): each of its 12 nearest-neighbour
Na–Na vectors is exactly half a lattice translation (8.05 Å), so the hop and its periodic twin are equally
short and MigrationMaker refuses it (atomflow.neb.hops.build_endpoints); the smallest cell the supercell rule
gives above 8.05 Å (at 8.1 Å as at 8.5 Å, ≤ 40 atoms) is this 30-site one (shortest lattice translation
9.2 Å at the GPAW lattice: half of it, 4.6 Å, exceeds the 4.0 Å hop). This cell is not cubic: its 12
nearest-neighbour hops are not equivalent, and which one is computed follows the orientation the supercell
rule picks for the relaxed lattice (two runs whose lattices differed by 1e-4 Å got 0.500 and 0.582 eV with
GPAW: benchmarks/README.md) — part of the finite-size error.

Settings, chosen to fit about an hour on 2 cores (one SCF of the 29-atom cell on one core, 2026-12-01,
load 2: 18 s cold, 8 s warm; the 15-atom cell with 2×2×2 MP k instead of Γ: 26 s / 13 s): PW 300 eV (the
paper 550 eV), k-point density 1.0 Å (Γ-centred: Γ only in the 30-site cell, 2×2×2 in the primitive cell
whose bulk relaxation sets the lattice, 3×3×3 for bcc Na's μ: coarse for a metal), GPAW's default
Fermi–Dirac 0.1 eV smearing, point-group symmetry off (an NEB image or a relaxing defect breaks it; GPAW
raises SymmetryBrokenError otherwise), fmax 0.02 eV/Å for end points, band and defect cells (the paper
0.01), 3 NEB images (the paper 5).
"""

from __future__ import annotations

from ase.build import bulk
from jobflow import Flow
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.calculators import CalculatorSpec
from atomflow.jobs import RelaxMaker
from atomflow.neb import MigrationMaker
from atomflow.run_settings import RelaxSettings
from atomflow.vacancy import VacancyFormationMaker

#: GPAW settings of every small-cell calculation (see the module docstring for why each).
SMALL_CELL_GPAW = {"ecut": 300, "kpts": {"density": 1.0, "gamma": True}, "symmetry": "off"}
#: eV/Å, force criterion of the small-cell end points, NEB images and defect cells.
NEB_FMAX = 0.02
#: Intermediate NEB images on the small cell.
NEB_IMAGES = 3
#: Å, supercell rule of the small cell (on the primitive cell: 30 sites).
SMALL_CELL_MIN_LENGTH = 8.5
#: the supercell rule's atom limit: without it the rule prefers a more cubic 64-site cell
SMALL_CELL_MAX_ATOMS = 30
#: Structure label of every small-cell document: the report's DFT column matches on it.
SMALL_CELL_LABEL = "NaCl small cell (30 sites)"
#: Å, lattice constant the small cell is built with (relaxed by each calculator before any defect).
A_START = 5.69


def small_cell() -> Structure:
    """The primitive fcc NaCl cell the small-cell flows start from (relaxed, then the 30-site supercell)."""
    return AseAtomsAdaptor.get_structure(bulk("NaCl", "rocksalt", a=A_START))


def small_cell_spec(calculator: str | CalculatorSpec | None = None) -> CalculatorSpec:
    return CalculatorSpec.parse(calculator) if calculator is not None else CalculatorSpec(
        name="gpaw", parameters=dict(SMALL_CELL_GPAW))


def migration_maker(calculator: str | CalculatorSpec | None = None, *, seed="auto") -> MigrationMaker:
    """The small cell's CI-NEB: primitive bulk relaxed (cell + ions), then the 30-site supercell."""
    return MigrationMaker(
        name="migration NaCl small cell", calculator=small_cell_spec(calculator), seed=seed,
        supercell_min_length=SMALL_CELL_MIN_LENGTH,
        supercell_max_atoms=SMALL_CELL_MAX_ATOMS, n_images=NEB_IMAGES, fmax=NEB_FMAX, label=SMALL_CELL_LABEL,
        endpoint_relax_maker=RelaxMaker.from_settings(RelaxSettings(relax_cell=False, fmax=NEB_FMAX),
                                                      name="relax end point"))


def vacancy_maker(calculator: str | CalculatorSpec | None = None, *, seed="auto") -> VacancyFormationMaker:
    """Neutral Na vacancy (μ_Na: bcc Na) and the Schottky pair in the small cell."""
    return VacancyFormationMaker(name="vacancy NaCl small cell", calculator=small_cell_spec(calculator),
                                 seed=seed, min_length=SMALL_CELL_MIN_LENGTH,
                                 max_atoms=SMALL_CELL_MAX_ATOMS, schottky=True, chempot="bcc_Na",
                                 fmax=NEB_FMAX,
                                 label=SMALL_CELL_LABEL)


def small_cell_flows(calculator: str | CalculatorSpec | None = None) -> list[Flow]:
    cell = small_cell()
    return [migration_maker(calculator).make(cell), vacancy_maker(calculator).make(cell)]


def make_flow(calculator: str | None = None) -> Flow:
    """GPAW (DFT) and SevenNet-0 (ML, seconds) on the small cell, and the DFT elastic constants; with a
    calculator: the small-cell flows with that calculator only."""
    if calculator is not None:
        return Flow(small_cell_flows(calculator), name=f"small-cell NaCl ({calculator})")
    from atomflow.workflows import load_workflow

    elastic = load_workflow("dft_elastic")
    ml_elastic = [elastic.elastic_flow(name, "sevennet") for name in elastic.SYSTEMS]  # same cells, seconds
    for flow, name in zip(ml_elastic, elastic.SYSTEMS):
        flow.name = f"elastic {name} (sevennet)"
    return Flow([*small_cell_flows("sevennet"), *ml_elastic, *small_cell_flows(None),
                 elastic.make_flow(None)],
                name="atomflow DFT column: NaCl barrier, vacancy, Schottky (small cell); NaCl, Na elastic")
